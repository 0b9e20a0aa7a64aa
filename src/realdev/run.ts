/**
 * Policies on real devices: `runPolicies` (src/array/run.ts) for the real-clock engine. The devices are
 * opened once and every policy replays the same workload on them in turn (baseline first when another
 * policy depends on it), so `lake replay` hands `emitRunReport` the same PolicyRuns as `lake simulate`.
 * Unlike simulated SSDs, real devices are not fresh for each policy: each run finds the state the previous
 * one left (as LinnOS's baseline and failover runs did).
 */
import type { PolicySpec } from '../array/policies.js';
import type { AdmissionPolicy } from '../array/policy.js';
import { builtinPolicy, type PolicyRun, type PriorRuns } from '../array/run.js';
import type { IoRecord } from '../array/types.js';
import { usageError } from '../errors.js';
import { LatencyRecorder } from '../report/histogram.js';
import type { ArrivalColumns } from './arrivals.js';
import { type BackendChoice, createBackend } from './backend.js';
import type { RealDevice } from './device.js';
import { type DiskDelta, diskDelta, readDiskstats } from './diskstats.js';
import { DEFAULT_QUEUE_DEPTH, type RealReplayResult, replayReal } from './engine.js';

export interface RealPolicyRun extends PolicyRun {
  result: RealReplayResult;
  /** The kernel's counters (/proc/diskstats) over the run, per block device under the devices. */
  kernel: DiskDelta[];
}

export interface RunRealPoliciesOptions {
  arrivals: ArrivalColumns;
  devices: RealDevice[];
  specs: readonly PolicySpec[];
  seed: number;
  backend?: BackendChoice;
  queueDepth?: number;
  revokeCostUs?: number;
  lateAfterUs?: number;
  spinUs?: number;
  /** io_uring with a kernel submission thread (see BackendOptions.sqpoll). */
  sqpoll?: boolean;
  /** Builds policies the array does not know itself (LinnOS); return undefined to refuse. */
  makePolicy?: (spec: PolicySpec, prior: PriorRuns) => AdmissionPolicy | undefined;
  onRecord?: (spec: PolicySpec, record: IoRecord) => void;
  onRunStart?: (spec: PolicySpec) => void;
  onProgress?: (spec: PolicySpec, arrived: number) => void;
  onWarning?: (message: string) => void;
}

/** Replays the workload under each policy on the same real devices; the oracle cannot run on them. */
export async function runRealPolicies(options: RunRealPoliciesOptions): Promise<RealPolicyRun[]> {
  for (const s of options.specs) {
    if (s.kind === 'oracle')
      throw usageError("the oracle needs the devices' future: it runs on simulated devices only");
  }
  const prior: PriorRuns = {};
  const runs: RealPolicyRun[] = [];
  const needsBaseline = options.specs.some((s) => s.kind === 'hedging' || (s.kind === 'linnos' && s.hedged));
  const order: PolicySpec[] = [...options.specs];
  const baselineIndex = order.findIndex((s) => s.kind === 'baseline');
  if (baselineIndex > 0) order.unshift(...order.splice(baselineIndex, 1));
  if (needsBaseline && baselineIndex < 0) order.unshift({ kind: 'baseline', name: 'baseline' });
  let warned = false;
  for (const spec of order) {
    const policy = options.makePolicy?.(spec, prior) ?? builtinPolicy(spec, options.seed, prior);
    if (policy === undefined) throw usageError(`no policy can be built for ${spec.name}`);
    options.onRunStart?.(spec);
    const queueDepth = options.queueDepth ?? DEFAULT_QUEUE_DEPTH;
    const backend = createBackend(options.devices, {
      ...(options.backend !== undefined ? { backend: options.backend } : {}),
      maxInFlight: queueDepth * options.devices.length,
      maxIoBytes: maxPlacedBytes(options.arrivals, options.devices),
      sqpoll: options.sqpoll === true,
      // Say what the backend falls back to once, not once per policy.
      onWarning: (message) => {
        if (!warned) options.onWarning?.(message);
        warned = true;
      },
    });
    const read = new LatencyRecorder();
    const write = new LatencyRecorder();
    const readByDevice = options.devices.map(() => new LatencyRecorder());
    const onRecord = options.onRecord;
    const onProgress = options.onProgress;
    const started = performance.now();
    const disksBefore = readDiskstats();
    let result: RealReplayResult;
    try {
      result = await replayReal(options.arrivals, {
        devices: options.devices,
        backend,
        policy,
        queueDepth,
        readLatency: read,
        writeLatency: write,
        readLatencyByDevice: readByDevice,
        ...(options.revokeCostUs !== undefined ? { revokeCostUs: options.revokeCostUs } : {}),
        ...(options.lateAfterUs !== undefined ? { lateAfterUs: options.lateAfterUs } : {}),
        ...(options.spinUs !== undefined ? { spinUs: options.spinUs } : {}),
        ...(onRecord ? { onRecord: (r: IoRecord) => onRecord(spec, r) } : {}),
        ...(onProgress ? { onProgress: (k: number) => onProgress(spec, k) } : {}),
      });
    } finally {
      await backend.close();
    }
    const disksAfter = readDiskstats();
    const kernel: DiskDelta[] = [];
    const seen = new Set<string>();
    for (const d of options.devices) {
      if (d.backing === undefined) continue;
      const key = `${d.backing.major}:${d.backing.minor}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const delta = diskDelta(disksBefore, disksAfter, d.backing);
      if (delta !== undefined) kernel.push(delta);
    }
    const run: RealPolicyRun = {
      kernel,
      spec,
      policy,
      result,
      read,
      write,
      readByDevice,
      devices: options.devices,
      wallMs: performance.now() - started,
    };
    if (spec.kind === 'baseline') prior.baseline = run;
    if (options.specs.includes(spec)) runs.push(run);
  }
  return runs;
}

/** The largest transfer the workload will make on any of the devices. */
export function maxPlacedBytes(arrivals: ArrivalColumns, devices: readonly RealDevice[]): number {
  let most = 4096;
  for (const d of devices) most = Math.max(most, d.place(0, Math.max(arrivals.maxSize, 1)).size);
  return most;
}
