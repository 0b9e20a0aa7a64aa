/**
 * `lake stats FILE [--format F] [--skip-bad] [--json]`: a trace's op counts, sizes, duration, IOPS and,
 * where the format records it, read/write latency percentiles. One streaming pass; memory stays flat.
 */
import type { Command } from 'commander';
import { countBatches, createProgress } from '../report/progress.js';
import { markdownTable } from '../report/table.js';
import type { Distribution } from '../trace/quantiles.js';
import { openTrace, type ReadTraceOptions } from '../trace/read.js';
import { type TraceStats, TraceStatsAccumulator } from '../trace/stats.js';
import { traceFormats } from '../trace/types.js';
import { parseFormatOption } from './options.js';
import { type CommandOutput, emitWarnings, processOutput } from './output.js';

interface StatsFlags {
  format?: string;
  skipBad?: boolean;
  json?: boolean;
}

export function registerStats(program: Command, output: CommandOutput = processOutput): void {
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
      const quiet = flags.json === true;
      const stats = await readStats(
        file,
        { ...(format ? { format } : {}), skipBad: flags.skipBad === true },
        quiet,
      );
      const warnings = statsWarnings(stats);
      emitWarnings(output, warnings);
      output.write(quiet ? `${JSON.stringify({ ...stats, warnings }, null, 2)}\n` : formatStats(stats));
    });
}

/** src/trace/stats.ts's traceStats, with a running count of the records read on a terminal. */
async function readStats(file: string, options: ReadTraceOptions, quiet: boolean): Promise<TraceStats> {
  const reader = openTrace(file, options);
  const accumulator = new TraceStatsAccumulator();
  const progress = createProgress({ label: `read ${file}`, unit: 'records', quiet, showAfterMs: 1000 });
  for await (const batch of countBatches(reader, progress)) accumulator.addAll(batch);
  const { skipped, errors, lines } = reader.summary;
  // Iteration has run, so the format was given or detected.
  return { file, format: reader.format!, skipped, errors, lines, ...accumulator.result() };
}

/** The percentiles the tables print, with the reads each needs to have one read above it: 1 / (1 - p). */
const SHOWN_PERCENTILES = [
  { name: 'p90', needs: 10 },
  { name: 'p95', needs: 20 },
  { name: 'p99', needs: 100 },
  { name: 'p99.9', needs: 1000 },
] as const;

/**
 * Warnings for figures that rest on too little: a trace with no records, and percentiles from fewer
 * reads than it takes to have one read above them (p99.9 of 50 reads is just the largest).
 */
export function statsWarnings(s: TraceStats): string[] {
  if (s.records === 0) return [`${s.file} holds no records: every figure is empty`];
  const warnings: string[] = [];
  const check = (what: string, d: Distribution | null, shown: readonly string[]): void => {
    if (d === null) return;
    const thin = SHOWN_PERCENTILES.filter((p) => shown.includes(p.name) && d.count < p.needs);
    if (thin.length === 0) return;
    warnings.push(
      `${what}: ${thin.map((p) => p.name).join(', ')} of ${d.count} value(s) are not tail estimates: ` +
        `a percentile p needs 1/(1-p) values to have one above it (${thin.map((p) => `${p.name}: ${p.needs}`).join(', ')})`,
    );
  };
  check('read size', s.reads.sizeBytes, ['p90', 'p99']);
  check('write size', s.writes.sizeBytes, ['p90', 'p99']);
  check('read latency', s.reads.latencyUs, ['p90', 'p95', 'p99', 'p99.9']);
  check('write latency', s.writes.latencyUs, ['p90', 'p95', 'p99', 'p99.9']);
  return warnings;
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
