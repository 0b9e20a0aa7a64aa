import type { Device } from '../flash/types.js';
import { LatencyRecorder } from '../report/histogram.js';
import type { PolicyReport } from '../report/types.js';
import type { TraceRecord } from '../trace/types.js';
import { type ReplayOptions, type ReplayResult, replay, replayBatches } from './engine.js';
import {
  baselinePolicy,
  greedyOraclePolicy,
  hedgingPolicy,
  type PolicySpec,
  randomPolicy,
} from './policies.js';
import type { AdmissionPolicy } from './policy.js';
import type { IoRecord } from './types.js';

/** A workload that can be replayed again from the start: each call gives a fresh, identical stream. */
export type Workload =
  | { kind: 'memory'; arrivals: () => Iterable<TraceRecord> }
  | { kind: 'stream'; batches: () => AsyncIterable<readonly TraceRecord[]> };

/** What a finished policy run hands to policies built from earlier runs (hedging needs the baseline). */
export interface PriorRuns {
  baseline?: PolicyRun;
}

export interface PolicyRun {
  spec: PolicySpec;
  policy: AdmissionPolicy;
  result: ReplayResult;
  read: LatencyRecorder;
  write: LatencyRecorder;
  readByDevice: LatencyRecorder[];
  /** The devices after the run (their counters explain the tail). */
  devices: Device[];
  /** Wall-clock milliseconds the replay took (kept out of deterministic JSON). */
  wallMs: number;
}

export interface RunPoliciesOptions {
  workload: Workload;
  /** Fresh, identical devices for each policy run. */
  makeDevices: () => Device[];
  specs: readonly PolicySpec[];
  seed: number;
  revokeCostUs?: number;
  /** Builds policies the array does not know itself (LinnOS); return undefined to refuse. */
  makePolicy?: (spec: PolicySpec, prior: PriorRuns) => AdmissionPolicy | undefined;
  onRecord?: (spec: PolicySpec, record: IoRecord) => void;
  onRunStart?: (spec: PolicySpec) => void;
  onProgress?: (spec: PolicySpec, arrived: number) => void;
}

/**
 * A hedge delay at the baseline's `percentile`th read latency (hedgingNN at pNN, linnos+hl at its own
 * percentile); undefined before the baseline has run.
 */
export function baselineHedgeDelayUs(prior: PriorRuns, percentile: number): number | undefined {
  return prior.baseline?.read.percentileUs(percentile);
}

/** The built-in policies; hedging at a percentile needs the baseline's read latency. */
export function builtinPolicy(spec: PolicySpec, seed: number, prior: PriorRuns): AdmissionPolicy | undefined {
  switch (spec.kind) {
    case 'baseline':
      return baselinePolicy();
    case 'random':
      return randomPolicy(spec.probability, seed ^ 0x2545f491, spec.name);
    case 'greedy-oracle':
      return greedyOraclePolicy();
    case 'hedging': {
      const afterUs = baselineHedgeDelayUs(prior, spec.percentile);
      return afterUs === undefined ? undefined : hedgingPolicy(afterUs, spec.name);
    }
    case 'linnos':
      return undefined;
  }
}

/**
 * Replay one workload under each policy on fresh identical devices. The baseline runs first whenever a
 * policy depends on it (hedging percentiles), and is reported only if it was asked for.
 */
export async function runPolicies(options: RunPoliciesOptions): Promise<PolicyRun[]> {
  const prior: PriorRuns = {};
  const runs: PolicyRun[] = [];
  const needsBaseline = options.specs.some((s) => s.kind === 'hedging' || (s.kind === 'linnos' && s.hedged));
  const order: PolicySpec[] = [...options.specs];
  const baselineIndex = order.findIndex((s) => s.kind === 'baseline');
  if (baselineIndex > 0) order.unshift(...order.splice(baselineIndex, 1));
  if (needsBaseline && baselineIndex < 0) order.unshift({ kind: 'baseline', name: 'baseline' });
  for (const spec of order) {
    const policy = options.makePolicy?.(spec, prior) ?? builtinPolicy(spec, options.seed, prior);
    if (policy === undefined) throw new Error(`no policy can be built for ${spec.name}`);
    options.onRunStart?.(spec);
    const run = await runOne(spec, policy, options);
    if (spec.kind === 'baseline') prior.baseline = run;
    if (options.specs.includes(spec)) runs.push(run);
  }
  return runs;
}

async function runOne(
  spec: PolicySpec,
  policy: AdmissionPolicy,
  options: RunPoliciesOptions,
): Promise<PolicyRun> {
  const devices = options.makeDevices();
  const read = new LatencyRecorder();
  const write = new LatencyRecorder();
  const readByDevice = devices.map(() => new LatencyRecorder());
  const onRecord = options.onRecord;
  const onProgress = options.onProgress;
  const replayOptions: ReplayOptions = {
    devices,
    policy,
    readLatency: read,
    writeLatency: write,
    readLatencyByDevice: readByDevice,
    ...(options.revokeCostUs !== undefined ? { revokeCostUs: options.revokeCostUs } : {}),
    ...(onRecord ? { onRecord: (r: IoRecord) => onRecord(spec, r) } : {}),
    ...(onProgress ? { onProgress: (n: number) => onProgress(spec, n) } : {}),
  };
  const started = performance.now();
  const workload = options.workload;
  const result =
    workload.kind === 'memory'
      ? replay(workload.arrivals(), replayOptions)
      : await replayBatches(workload.batches(), replayOptions);
  return { spec, policy, result, read, write, readByDevice, devices, wallMs: performance.now() - started };
}

/** The report's view of a run. */
export function policyReport(run: PolicyRun): PolicyReport {
  return {
    name: run.spec.name,
    read: run.read.summary(),
    write: run.write.summary(),
    extraIos: run.result.extraIos,
    revokes: run.result.revokes,
    devices: run.readByDevice.map((r) => r.summary()),
    cdf: run.read.cdf(),
  };
}
