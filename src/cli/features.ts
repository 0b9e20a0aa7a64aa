/**
 * `lake features --trace FILE [--format F] [--skip-bad] [--device N,...] --out vectors.csv [--json]`: the
 * LinnOS 31-digit vector of every read in a trace that records per-I/O latency (LinnOS replayer output,
 * Heimdall replayer output), with the read's latency. Each device's pending I/Os and completed-read history
 * are rebuilt from the trace: an I/O is submitted at its submission time (its arrival time when the format
 * has none) and completes `latency` later (src/learn/extract.ts gives the event order).
 */
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { checkOutputs } from '../files/outputs.js';
import type { DeviceDataset } from '../learn/dataset.js';
import { extractLinnosFromTraceBatches } from '../learn/extract.js';
import { writeLinnosVectors } from '../learn/vector-file.js';
import { markdownTable } from '../report/table.js';
import { openTrace } from '../trace/read.js';
import { traceFormats } from '../trace/types.js';
import { parseFormatOption, parseIntOption, splitList } from './options.js';

interface FeaturesFlags {
  trace?: string;
  format?: string;
  skipBad?: boolean;
  device?: string;
  out?: string;
  json?: boolean;
}

const stdout = { write: (text: string): void => void process.stdout.write(text) };

export function registerFeatures(program: Command, output: { write(text: string): void } = stdout): void {
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
      output.write(await featuresCommand(flags));
    });
}

export interface FeaturesSummary {
  trace: string;
  out: string;
  vectors: number;
  devices: { device: number; vectors: number }[];
  skippedLines: number;
}

async function featuresCommand(flags: FeaturesFlags): Promise<string> {
  if (flags.trace === undefined) throw usageError('lake features needs --trace FILE');
  if (flags.out === undefined) throw usageError('lake features needs --out FILE');
  checkOutputs([{ flag: '--out', path: flags.out }], [{ flag: '--trace', path: flags.trace }]);
  const format = parseFormatOption(flags.format);
  const devices =
    flags.device === undefined
      ? undefined
      : splitList(flags.device).map((d) => parseIntOption('--device', d));
  const reader = openTrace(flags.trace, { ...(format ? { format } : {}), skipBad: flags.skipBad === true });
  const datasets: DeviceDataset[] = await extractLinnosFromTraceBatches(reader, devices);
  const rows = await writeLinnosVectors(flags.out, datasets);
  const summary: FeaturesSummary = {
    trace: flags.trace,
    out: flags.out,
    vectors: rows,
    devices: datasets.map((d) => ({ device: d.device, vectors: d.count })),
    skippedLines: reader.summary.skipped,
  };
  if (flags.json === true) return `${JSON.stringify(summary, null, 2)}\n`;
  return `${markdownTable(
    ['device', 'vectors'],
    summary.devices.map((d) => [String(d.device), String(d.vectors)]),
  )}\n\n${rows} vectors written to ${flags.out}\n`;
}
