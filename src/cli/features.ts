/**
 * `lake features --trace FILE [--format F] [--skip-bad] [--device N,...] --out vectors.csv [--json]`: the
 * LinnOS 31-digit vector of every read in a trace that records per-I/O latency (LinnOS replayer output,
 * Heimdall replayer output), with the read's latency. Each device's pending I/Os and completed-read history
 * are rebuilt from the trace: an I/O is submitted at its submission time (its arrival time when the format
 * has none) and completes `latency` later (src/linnos/extract.ts gives the event order).
 */
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { checkOutputs } from '../files/outputs.js';
import type { DeviceDataset } from '../linnos/dataset.js';
import { extractLinnosFromTraceBatches } from '../linnos/extract.js';
import { MIN_READS_FOR_VECTOR, MIN_THRESHOLD_READS } from '../linnos/minimums.js';
import { writeLinnosVectors } from '../linnos/vector-file.js';
import { countBatches, createProgress } from '../report/progress.js';
import { markdownTable } from '../report/table.js';
import { openTrace } from '../trace/read.js';
import { type TraceRecord, traceFormats } from '../trace/types.js';
import { parseFormatOption, parseIntOption, splitList } from './options.js';
import { type CommandOutput, emitWarnings, processOutput } from './output.js';

interface FeaturesFlags {
  trace?: string;
  format?: string;
  skipBad?: boolean;
  device?: string;
  out?: string;
  json?: boolean;
}

export function registerFeatures(program: Command, output: CommandOutput = processOutput): void {
  program
    .command('features')
    .description(
      'LinnOS 31-digit feature vectors (and latencies) of the reads of a trace with per-I/O latency',
    )
    .option('--trace <file>', 'trace with per-I/O latency (linnos-output or heimdall)')
    .option('--format <format>', `trace format: ${traceFormats.join(' | ')} (detected when absent)`)
    .option('--skip-bad', 'skip and count malformed trace lines')
    .option('--device <list>', 'only these devices (comma-separated device numbers)')
    .option('--out <file>', 'vector file to write (device,index,d0..d30,latency_us)')
    .option('--json', 'print a JSON summary')
    .action(async (flags: FeaturesFlags) => {
      output.write(await featuresCommand(flags, output));
    });
}

export interface FeaturesSummary {
  trace: string;
  out: string;
  vectors: number;
  devices: { device: number; vectors: number }[];
  skippedLines: number;
  warnings: string[];
}

/** Passes batches through, counting the reads of each device; `onEnd` runs once the batches end. */
async function* countReads(
  batches: AsyncIterable<readonly TraceRecord[]>,
  reads: Map<number, number>,
  onEnd: () => void,
): AsyncGenerator<readonly TraceRecord[]> {
  for await (const batch of batches) {
    for (const r of batch) if (r.read) reads.set(r.device, (reads.get(r.device) ?? 0) + 1);
    yield batch;
  }
  onEnd();
}

async function featuresCommand(flags: FeaturesFlags, output: CommandOutput): Promise<string> {
  if (flags.trace === undefined) throw usageError('lake features needs --trace FILE');
  if (flags.out === undefined) throw usageError('lake features needs --out FILE');
  checkOutputs([{ flag: '--out', path: flags.out }], [{ flag: '--trace', path: flags.trace }]);
  const format = parseFormatOption(flags.format);
  const devices =
    flags.device === undefined
      ? undefined
      : splitList(flags.device).map((d) => parseIntOption('--device', d));
  const quiet = flags.json === true;
  const reader = openTrace(flags.trace, { ...(format ? { format } : {}), skipBad: flags.skipBad === true });
  const started = performance.now();
  const progress = createProgress({
    label: `read ${flags.trace}`,
    unit: 'records',
    quiet,
    showAfterMs: 1000,
    since: started,
  });
  // Extracting and writing take seconds on a large trace too: shown once the command has run a second.
  const stages = createProgress({ label: 'features', quiet, showAfterMs: 1000, since: started });
  try {
    const reads = new Map<number, number>();
    const datasets: DeviceDataset[] = await extractLinnosFromTraceBatches(
      countReads(countBatches(reader, progress), reads, () =>
        stages.setLabel(`features: vectors of ${[...reads.values()].reduce((a, b) => a + b, 0)} reads`),
      ),
      devices,
    );
    const vectors = datasets.reduce((sum, d) => sum + d.count, 0);
    if (vectors === 0) {
      const held = [...reads].filter(([d]) => devices === undefined || devices.includes(d));
      throw usageError(
        `${flags.trace}: no read has a LinnOS vector: a vector holds the latencies of the ${MIN_READS_FOR_VECTOR - 1} reads ` +
          `its device completed before it, so a device needs at least ${MIN_READS_FOR_VECTOR} reads; ` +
          (held.length === 0
            ? `the trace holds no read${devices === undefined ? '' : ` of --device ${flags.device}`}`
            : `the trace holds ${held.map(([d, n]) => `${n} on device ${d}`).join(', ')}`),
      );
    }
    const warnings = datasets
      .filter((d) => d.count < MIN_THRESHOLD_READS)
      .map(
        (d) =>
          `device ${d.device}: only ${d.count} vector(s): lake label and lake train need at least ${MIN_THRESHOLD_READS} ` +
          'reads of a device to set a latency threshold from',
      );
    stages.setLabel(`features: writing ${vectors} vectors to ${flags.out}`);
    const rows = await writeLinnosVectors(flags.out, datasets);
    stages.setLabel(`features: ${rows} vectors written`);
    stages.complete();
    const summary: FeaturesSummary = {
      trace: flags.trace,
      out: flags.out,
      vectors: rows,
      devices: datasets.map((d) => ({ device: d.device, vectors: d.count })),
      skippedLines: reader.summary.skipped,
      warnings,
    };
    emitWarnings(output, warnings);
    if (quiet) return `${JSON.stringify(summary, null, 2)}\n`;
    return `${markdownTable(
      ['device', 'vectors'],
      summary.devices.map((d) => [String(d.device), String(d.vectors)]),
    )}\n\n${rows} vectors written to ${flags.out}\n`;
  } finally {
    stages.stop();
  }
}
