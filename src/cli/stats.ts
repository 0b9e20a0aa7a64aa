/**
 * `lake stats FILE [--format F] [--skip-bad] [--json]`: a trace's op counts, sizes, duration, IOPS and,
 * where the format records it, read/write latency percentiles. One streaming pass; memory stays flat.
 */
import type { Command } from 'commander';
import { markdownTable } from '../report/table.js';
import type { Distribution } from '../trace/quantiles.js';
import { type TraceStats, traceStats } from '../trace/stats.js';
import { traceFormats } from '../trace/types.js';
import { parseFormatOption } from './options.js';

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
      const format = parseFormatOption(flags.format);
      const stats = await traceStats(file, {
        ...(format ? { format } : {}),
        skipBad: flags.skipBad === true,
      });
      output.write(flags.json === true ? `${JSON.stringify(stats, null, 2)}\n` : formatStats(stats));
    });
}

/** Markdown tables (readable as plain text). */
export function formatStats(s: TraceStats): string {
  const lines: string[] = [];
  lines.push(`# ${s.file}`, '');
  lines.push(
    markdownTable(
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
    markdownTable(
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
      markdownTable(
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
