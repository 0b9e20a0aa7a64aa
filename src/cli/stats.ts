/**
 * `lake stats FILE [--format F] [--skip-bad] [--json]`: a trace's op counts, sizes, duration, IOPS and,
 * where the format records it, read/write latency percentiles. One streaming pass; memory stays flat.
 */
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import type { Distribution } from '../trace/quantiles.js';
import { type TraceStats, traceStats } from '../trace/stats.js';
import { type TraceFormat, traceFormats } from '../trace/types.js';

interface StatsFlags {
  format?: string;
  skipBad?: boolean;
  json?: boolean;
}

/** Where the command prints (stdout unless a test passes its own). */
const stdout = { write: (text: string): void => void process.stdout.write(text) };

export function registerStats(program: Command, output: { write(text: string): void } = stdout): void {
  program
    .command('stats')
    .description('statistics of a trace file: op counts, sizes, duration, IOPS, latency percentiles')
    .argument(
      '<file>',
      'trace file (linnos-input, linnos-output, heimdall or msr; detected when --format is absent)',
    )
    .option('--format <format>', `trace format: ${traceFormats.join(' | ')}`)
    .option('--skip-bad', 'skip and count malformed lines instead of stopping at the first')
    .option('--json', 'print JSON instead of tables')
    .action(async (file: string, flags: StatsFlags) => {
      const format = parseFormat(flags.format);
      const stats = await traceStats(file, {
        ...(format ? { format } : {}),
        skipBad: flags.skipBad === true,
      });
      output.write(flags.json === true ? `${JSON.stringify(stats, null, 2)}\n` : formatStats(stats));
    });
}

function parseFormat(value: string | undefined): TraceFormat | undefined {
  if (value === undefined) return undefined;
  const format = traceFormats.find((f) => f === value);
  if (format === undefined)
    throw usageError(`--format must be one of ${traceFormats.join(', ')}, got "${value}"`);
  return format;
}

/** Markdown tables (readable as plain text). */
export function formatStats(s: TraceStats): string {
  const lines: string[] = [];
  lines.push(`# ${s.file}`, '');
  lines.push(
    table(
      [
        'format',
        'records',
        'reads',
        'writes',
        'read %',
        'duration s',
        'IOPS',
        'read IOPS',
        'write IOPS',
        'skipped',
      ],
      [
        [
          s.format,
          String(s.records),
          String(s.reads.count),
          String(s.writes.count),
          (s.readFraction * 100).toFixed(1),
          (s.durationMs / 1000).toFixed(3),
          rate(s.iops),
          rate(s.readIops),
          rate(s.writeIops),
          String(s.skipped),
        ],
      ],
    ),
  );
  lines.push('', '## Size (bytes)', '');
  lines.push(
    table(
      ['op', 'count', 'mean', 'p50', 'p90', 'p99', 'max', 'total MiB'],
      [
        sizeRow('read', s.reads.sizeBytes, s.reads.bytes),
        sizeRow('write', s.writes.sizeBytes, s.writes.bytes),
      ],
    ),
  );
  const readLatency = s.reads.latencyUs;
  const writeLatency = s.writes.latencyUs;
  if (readLatency !== null || writeLatency !== null) {
    lines.push('', '## Latency (us)', '');
    lines.push(
      table(
        ['op', 'count', 'mean', 'p50', 'p90', 'p95', 'p99', 'p99.9', 'max'],
        [latencyRow('read', readLatency), latencyRow('write', writeLatency)],
      ),
    );
    if (readLatency?.exact === false || writeLatency?.exact === false) {
      lines.push(
        '',
        'Latency percentiles are HdrHistogram estimates (within 0.1%): too many distinct values to count.',
      );
    }
  } else {
    lines.push('', `No latency: format ${s.format} does not record it.`);
  }
  if (s.skipped > 0) {
    lines.push('', `## Skipped lines: ${s.skipped}`, '');
    for (const message of s.errors) lines.push(`- ${message}`);
    if (s.errors.length < s.skipped) lines.push(`- ... ${s.skipped - s.errors.length} more`);
  }
  return `${lines.join('\n')}\n`;
}

function sizeRow(op: string, d: Distribution | null, bytes: number): string[] {
  if (d === null) return [op, '0', '-', '-', '-', '-', '-', '0'];
  return [
    op,
    String(d.count),
    d.mean.toFixed(0),
    String(d.p50),
    String(d.p90),
    String(d.p99),
    String(d.max),
    (bytes / 2 ** 20).toFixed(1),
  ];
}

function latencyRow(op: string, d: Distribution | null): string[] {
  if (d === null) return [op, '0', '-', '-', '-', '-', '-', '-', '-'];
  return [op, String(d.count), ...[d.mean, d.p50, d.p90, d.p95, d.p99, d.p999, d.max].map(micros)];
}

function micros(us: number): string {
  return Number.isInteger(us) ? String(us) : us.toFixed(1);
}

function rate(value: number | null): string {
  return value === null ? '-' : value.toFixed(2);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  // First column left-aligned (names), the others right-aligned (numbers).
  const pad = (c: string, i: number): string => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!));
  const line = (cells: string[]): string => `| ${cells.map(pad).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}
