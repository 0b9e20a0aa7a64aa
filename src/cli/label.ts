/**
 * `lake label (--trace FILE | --vectors FILE) [--percentile P] [--no-refine] [--revoke-cost US] [--replicas N]
 * [--seed N] [--json]`: the fast/slow latency threshold of each device's reads. By default the inflection
 * point of the latency CDF (tangent method) refined by simulated revocation and failover (src/linnos/labels.ts);
 * with --percentile a fixed percentile instead (the LinnOS artifact used 85).
 */
import type { Command } from 'commander';
import { DEFAULT_REVOKE_COST_US } from '../array/engine.js';
import { usageError } from '../errors.js';
import {
  fixedPercentileThreshold,
  inflectionPoint,
  type LatencyThreshold,
  type RefinedThreshold,
  refineThreshold,
} from '../linnos/labels.js';
import { MIN_THRESHOLD_READS } from '../linnos/minimums.js';
import { readLinnosVectors } from '../linnos/vector-file.js';
import { countBatches, createProgress } from '../report/progress.js';
import { formatUs, markdownTable } from '../report/table.js';
import { openTrace } from '../trace/read.js';
import { traceFormats } from '../trace/types.js';
import { parseFormatOption, parseIntOption, parseNumberOption, parseSeedOption } from './options.js';
import { type CommandOutput, emitWarnings, processOutput } from './output.js';

interface LabelFlags {
  trace?: string;
  vectors?: string;
  format?: string;
  skipBad?: boolean;
  percentile?: string;
  refine: boolean;
  revokeCost: string;
  replicas: string;
  seed: string;
  json?: boolean;
}

export function registerLabel(program: Command, output: CommandOutput = processOutput): void {
  program
    .command('label')
    .description(
      'the fast/slow read-latency threshold per device: inflection point (+ refinement) or a percentile',
    )
    .option('--trace <file>', 'trace with per-I/O latency (linnos-output or heimdall)')
    .option('--vectors <file>', 'or a LinnOS vector file (raw 10-column, digits, or lake features output)')
    .option('--format <format>', `trace format: ${traceFormats.join(' | ')} (detected when absent)`)
    .option('--skip-bad', 'skip and count malformed trace lines')
    .option('--percentile <p>', 'a fixed percentile (0-100) instead of the inflection point')
    .option('--no-refine', 'the tangent method alone, without the revocation-simulation refinement')
    .option(
      '--revoke-cost <us>',
      'cost of one revoke and re-issue in the refinement',
      String(DEFAULT_REVOKE_COST_US),
    )
    .option('--replicas <n>', 'replicas assumed when the input holds one device', '3')
    .option('--seed <n>', 'seed of the refinement draws', '1')
    .option('--json', 'print JSON')
    .action(async (flags: LabelFlags) => {
      output.write(await labelCommand(flags, output));
    });
}

export interface DeviceLabel {
  device: number;
  reads: number;
  /** The threshold to label with. */
  threshold: LatencyThreshold;
  tangent?: LatencyThreshold;
  refined?: RefinedThreshold;
}

/** Read latencies per device from a trace or a vector file, devices ascending. */
export async function readLatenciesByDevice(
  source: {
    trace?: string;
    vectors?: string;
    format?: string;
    skipBad?: boolean;
  },
  options: { quiet?: boolean; since?: number } = {},
): Promise<{ devices: number[]; latencies: Float64Array[] }> {
  if ((source.trace === undefined) === (source.vectors === undefined)) {
    throw usageError('give exactly one of --trace FILE and --vectors FILE');
  }
  const byDevice = new Map<number, number[]>();
  const add = (device: number, latency: number): void => {
    let list = byDevice.get(device);
    if (list === undefined) {
      list = [];
      byDevice.set(device, list);
    }
    list.push(latency);
  };
  if (source.trace !== undefined) {
    const format = parseFormatOption(source.format);
    const reader = openTrace(source.trace, {
      ...(format ? { format } : {}),
      skipBad: source.skipBad === true,
    });
    let sawLatency = false;
    const progress = createProgress({
      label: `read ${source.trace}`,
      unit: 'records',
      quiet: options.quiet === true,
      showAfterMs: 1000,
      ...(options.since !== undefined ? { since: options.since } : {}),
    });
    for await (const batch of countBatches(reader, progress)) {
      for (const r of batch) {
        if (r.latencyUs === undefined) continue;
        sawLatency = true;
        if (r.read) add(r.device, r.latencyUs);
      }
    }
    if (!sawLatency) throw usageError(`${source.trace} records no latency: replay it first (lake simulate)`);
  } else {
    const file = readLinnosVectors(source.vectors!);
    for (let r = 0; r < file.dataset.count; r++) add(file.device[r]!, file.dataset.latencyUs[r]!);
  }
  const devices = [...byDevice.keys()].sort((a, b) => a - b);
  if (devices.length === 0) throw usageError('no reads with a latency in the input');
  return { devices, latencies: devices.map((d) => Float64Array.from(byDevice.get(d)!)) };
}

/** The threshold of each device as `lake label` chooses it. */
export function labelDevices(
  input: { devices: number[]; latencies: Float64Array[] },
  options: { percentile?: number; refine: boolean; revokeCostUs: number; replicas: number; seed: number },
  only: readonly number[] = input.devices,
  onStep: (device: number, step: string) => void = () => undefined,
): DeviceLabel[] {
  return input.devices.flatMap((device, k): DeviceLabel[] => {
    if (!only.includes(device)) return [];
    const latencies = input.latencies[k]!;
    onStep(
      device,
      options.percentile !== undefined
        ? `p${options.percentile} of ${latencies.length} reads`
        : `inflection point of ${latencies.length} reads${options.refine ? ', then refinement by simulated revocation' : ''}`,
    );
    if (options.percentile !== undefined) {
      return [
        {
          device,
          reads: latencies.length,
          threshold: fixedPercentileThreshold(latencies, options.percentile),
        },
      ];
    }
    const tangent = inflectionPoint(latencies);
    if (!options.refine) return [{ device, reads: latencies.length, threshold: tangent, tangent }];
    const refined = refineThreshold({
      latenciesByDevice: input.latencies,
      device: k,
      start: tangent,
      revokeCostUs: options.revokeCostUs,
      replicas: options.replicas,
      seed: options.seed,
    });
    return [{ device, reads: latencies.length, threshold: refined, tangent, refined }];
  });
}

/**
 * Devices with too few reads for a threshold (MIN_THRESHOLD_READS) are left out with a warning; when none
 * has enough, a usage error says how many it takes and why.
 */
function devicesWithEnoughReads(
  input: { devices: number[]; latencies: Float64Array[] },
  source: string,
  warnings: string[],
): number[] {
  const short = input.devices.filter((_, k) => input.latencies[k]!.length < MIN_THRESHOLD_READS);
  const counts = (devices: number[]): string =>
    devices.map((d) => `device ${d}: ${input.latencies[input.devices.indexOf(d)]!.length}`).join(', ');
  const why =
    `a latency threshold needs at least ${MIN_THRESHOLD_READS} reads per device ` +
    '(below that the tail is a handful of single reads and the threshold is noise)';
  if (short.length === input.devices.length) {
    throw usageError(`${source}: too few reads with a latency (${counts(short)}): ${why}`);
  }
  if (short.length > 0) warnings.push(`left out ${counts(short)} read(s): ${why}`);
  return input.devices.filter((d) => !short.includes(d));
}

/** What makes a device's threshold hard to use, said rather than printed as if it were fine. */
function labelWarnings(label: DeviceLabel, latencies: Float64Array): string[] {
  const warnings: string[] = [];
  let slow = 0;
  for (const l of latencies) if (l > label.threshold.thresholdUs) slow++;
  if (slow === 0) {
    warnings.push(
      `device ${label.device}: no read is above the threshold (${formatUs(label.threshold.thresholdUs)} us): nothing would be labelled slow`,
    );
  } else if (slow === latencies.length) {
    warnings.push(
      `device ${label.device}: every read is above the threshold (${formatUs(label.threshold.thresholdUs)} us): nothing would be labelled fast`,
    );
  }
  const r = label.refined;
  if (r !== undefined && r.meanUs > r.baselineMeanUs) {
    warnings.push(
      `device ${label.device}: revoking reads above ${formatUs(r.thresholdUs)} us makes the simulated mean worse ` +
        `(${formatUs(r.baselineMeanUs)} -> ${formatUs(r.meanUs)} us): its latencies show no tail that failing over helps`,
    );
  }
  return warnings;
}

async function labelCommand(flags: LabelFlags, output: CommandOutput): Promise<string> {
  const percentile =
    flags.percentile === undefined
      ? undefined
      : parseNumberOption('--percentile', flags.percentile, { min: 0, max: 100 });
  const options = {
    ...(percentile !== undefined ? { percentile } : {}),
    refine: flags.refine,
    revokeCostUs: parseNumberOption('--revoke-cost', flags.revokeCost, 0),
    replicas: parseIntOption('--replicas', flags.replicas, 1),
    seed: parseSeedOption('--seed', flags.seed),
  };
  const quiet = flags.json === true;
  const started = performance.now();
  const input = await readLatenciesByDevice(flags, { quiet, since: started });
  const warnings: string[] = [];
  const kept = devicesWithEnoughReads(input, flags.trace ?? flags.vectors!, warnings);
  // Shown when the command has run a second already (a large trace): the thresholds take seconds too.
  const stages = createProgress({ label: 'label', quiet, showAfterMs: 1000, since: started });
  let labels: DeviceLabel[];
  try {
    labels = labelDevices(input, options, kept, (device, step) =>
      stages.setLabel(`label device ${device}: ${step}`),
    );
    stages.setLabel(`label: ${labels.length} device(s) labelled`);
    stages.complete();
  } finally {
    stages.stop();
  }
  for (const l of labels) {
    warnings.push(...labelWarnings(l, input.latencies[input.devices.indexOf(l.device)]!));
  }
  emitWarnings(output, warnings);
  if (quiet)
    return `${JSON.stringify({ source: flags.trace ?? flags.vectors, devices: labels, warnings }, null, 2)}\n`;
  const rows = labels.map((l) => [
    String(l.device),
    String(l.reads),
    l.threshold.method,
    formatUs(l.threshold.thresholdUs),
    l.threshold.percentile.toFixed(2),
    l.tangent === undefined ? '' : `${formatUs(l.tangent.thresholdUs)} @ p${l.tangent.percentile.toFixed(2)}`,
    l.refined === undefined ? '' : `${formatUs(l.refined.baselineMeanUs)} -> ${formatUs(l.refined.meanUs)}`,
  ]);
  return `${markdownTable(
    ['device', 'reads', 'method', 'threshold (us)', 'percentile', 'tangent', 'simulated mean (us)'],
    rows,
  )}\n`;
}
