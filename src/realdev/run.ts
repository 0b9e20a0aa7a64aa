/**
 * Policies on real devices: `runPolicies` (src/array/run.ts) for the real-clock engine. The devices are
 * opened once and every policy replays the same workload on them in turn (baseline first when another
 * policy depends on it), so `lake replay` hands `emitRunReport` the same PolicyRuns as `lake simulate`.
 * Unlike simulated SSDs, real devices are not fresh for each policy: each run finds the state the previous
 * one left (as LinnOS's baseline and failover runs did). What lake can equalise it does (see
 * RunPreparation): the devices are flushed before each run, and an optional warm-up replays the workload's
 * first stretch before the first measured run, so every measured run follows a replay of the same writes.
 */
import { fdatasyncSync } from 'node:fs';
import type { PolicySpec } from '../array/policies.js';
import type { AdmissionPolicy } from '../array/policy.js';
import { builtinPolicy, type PolicyRun, type PriorRuns } from '../array/run.js';
import type { IoRecord } from '../array/types.js';
import { usageError } from '../errors.js';
import type { Device } from '../flash/types.js';
import { LatencyRecorder } from '../report/histogram.js';
import type { ArrivalColumns } from './arrivals.js';
import { type BackendChoice, type BackendOptions, createBackend, type IoBackend } from './backend.js';
import { type BackingDevice, RealDevice } from './device.js';
import { type DiskCounters, type DiskDelta, diskDelta, readDiskstats } from './diskstats.js';
import { DEFAULT_QUEUE_DEPTH, type RealReplayResult, type ReplayDevice, replayReal } from './engine.js';

/**
 * A device the policies replay on: a RealDevice (a file or block device, its backend built here), or one a
 * backend given as `makeBackend` serves (a Ceph replica pool: src/ceph/backend.ts).
 */
export interface PolicyDevice extends ReplayDevice, Device {
  readonly name: string;
  /** 'file', 'block', or 'rados-pool'. */
  readonly kind: string;
  /** lake created it (an image file of the size asked for). */
  readonly created: boolean;
  /** No cache between lake and the device (O_DIRECT for files). */
  readonly direct: boolean;
  readonly backing: BackingDevice | undefined;
  place(offset: number, size: number): { offset: number; size: number };
  close(): void;
}

export interface RealPolicyRun extends PolicyRun {
  result: RealReplayResult;
  /** The kernel's counters (/proc/diskstats) over the run, per block device under the devices. */
  kernel: DiskDelta[];
}

export interface RunRealPoliciesOptions {
  arrivals: ArrivalColumns;
  devices: PolicyDevice[];
  /** Builds each run's backend instead of opening the devices' files (devices that are not RealDevices). */
  makeBackend?: (options: BackendOptions) => IoBackend;
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
  /** A run starts: the warm-up (named `warm-up`) or a policy's, replaying `ios` I/Os. */
  onRunStart?: (spec: PolicySpec, ios: number) => void;
  onProgress?: (spec: PolicySpec, arrived: number) => void;
  onWarning?: (message: string) => void;
  /**
   * Replay the workload's first this many ms under the baseline, unmeasured, before the first measured run
   * (default 0: none), so that no measured run is the first to touch the engine, backend and devices.
   */
  warmUpMs?: number;
}

/** What a measured run found before it started, so the report can say how comparable the runs are. */
export interface RunPreparation {
  /** I/Os of the warm-up replay before the first measured run (0: none). */
  warmUpIos: number;
  /** Devices flushed (fdatasync) before each run. */
  synced: number;
  /** Devices read through the page cache (no O_DIRECT): later runs may read what earlier ones cached. */
  buffered: string[];
}

/** The workload's first `ms` milliseconds (a view: nothing is copied). */
export function arrivalsHead(arrivals: ArrivalColumns, ms: number): ArrivalColumns {
  if (arrivals.count === 0) return arrivals;
  const until = arrivals.arrivalUs[0]! + ms * 1000;
  let count = 0;
  while (count < arrivals.count && arrivals.arrivalUs[count]! < until) count++;
  return { ...arrivals, count };
}

/**
 * Every run starts from the same state as far as lake can make it: the devices' dirty pages and write
 * caches are flushed (an image just created through the page cache would otherwise be written back during
 * the first run, which then pays for it), and with a warm-up the engine's code, the backend and the devices
 * have served the workload's first stretch before the first measured run, as every later run has.
 */
function syncDevices(devices: readonly PolicyDevice[]): number {
  let synced = 0;
  for (const d of devices) {
    if (!(d instanceof RealDevice)) continue;
    try {
      fdatasyncSync(d.fd);
      synced++;
    } catch {
      // A device that cannot be flushed (EINVAL on some special files) has nothing lake wrote pending.
    }
  }
  return synced;
}

/**
 * Replays the workload under each policy on the same real devices; the greedy oracle cannot run on them. The
 * baseline runs first when another policy depends on it (hedging percentiles); the others run in the
 * order given. `preparation`, when passed, is filled in with what was done to make the runs comparable.
 */
export async function runRealPolicies(
  options: RunRealPoliciesOptions,
  preparation?: RunPreparation,
): Promise<RealPolicyRun[]> {
  for (const s of options.specs) {
    if (s.kind === 'greedy-oracle')
      throw usageError("the greedy oracle needs the devices' future: it runs on simulated devices only");
  }
  const prior: PriorRuns = {};
  const runs: RealPolicyRun[] = [];
  const order = runOrder(options.specs);
  const warmUpMs = options.warmUpMs ?? 0;
  if (!(warmUpMs >= 0 && Number.isFinite(warmUpMs)))
    throw usageError(`the warm-up must be a finite number of seconds >= 0, got ${warmUpMs / 1000}`);
  const buffered = options.devices.filter((d) => !d.direct).map((d) => d.path);
  if (buffered.length > 0 && order.length > 1)
    options.onWarning?.(
      `${buffered.join(', ')}: read through the page cache (no O_DIRECT), so a policy run after another may read what the earlier one cached; the runs are not comparable (use --io direct where the file system allows it)`,
    );
  let warned = false;
  const replayOnce = async (
    spec: PolicySpec,
    policy: AdmissionPolicy,
    arrivals: ArrivalColumns,
    measured: boolean,
  ): Promise<RealPolicyRun> => {
    const queueDepth = options.queueDepth ?? DEFAULT_QUEUE_DEPTH;
    const backendOptions: BackendOptions = {
      ...(options.backend !== undefined ? { backend: options.backend } : {}),
      maxInFlight: queueDepth * options.devices.length,
      maxIoBytes: maxPlacedBytes(options.arrivals, options.devices),
      sqpoll: options.sqpoll === true,
      // Say what the backend falls back to once, not once per policy.
      onWarning: (message) => {
        if (!warned) options.onWarning?.(message);
        warned = true;
      },
    };
    const backend =
      options.makeBackend?.(backendOptions) ?? createBackend(fileDevices(options.devices), backendOptions);
    const read = new LatencyRecorder();
    const write = new LatencyRecorder();
    const readByDevice = options.devices.map(() => new LatencyRecorder());
    const onRecord = measured ? options.onRecord : undefined;
    const onProgress = options.onProgress;
    const synced = syncDevices(options.devices);
    if (preparation !== undefined) preparation.synced = synced;
    const started = performance.now();
    const disksBefore = readDiskstats();
    let result: RealReplayResult;
    try {
      result = await replayReal(arrivals, {
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
    return {
      kernel: kernelDeltas(options.devices, disksBefore, readDiskstats()),
      spec,
      policy,
      result,
      read,
      write,
      readByDevice,
      devices: options.devices,
      wallMs: performance.now() - started,
    };
  };

  const warmUp = arrivalsHead(options.arrivals, warmUpMs);
  if (preparation !== undefined) {
    preparation.warmUpIos = 0;
    preparation.buffered = buffered;
  }
  if (warmUpMs > 0 && warmUp.count > 0) {
    const spec: PolicySpec = { kind: 'baseline', name: 'warm-up' };
    options.onRunStart?.(spec, warmUp.count);
    await replayOnce(
      spec,
      builtinPolicy({ kind: 'baseline', name: 'baseline' }, options.seed, {})!,
      warmUp,
      false,
    );
    if (preparation !== undefined) preparation.warmUpIos = warmUp.count;
  }
  for (const spec of order) {
    const policy = options.makePolicy?.(spec, prior) ?? builtinPolicy(spec, options.seed, prior);
    if (policy === undefined) throw usageError(`no policy can be built for ${spec.name}`);
    options.onRunStart?.(spec, options.arrivals.count);
    const run = await replayOnce(spec, policy, options.arrivals, true);
    if (spec.kind === 'baseline') prior.baseline = run;
    if (options.specs.includes(spec)) runs.push(run);
  }
  return runs;
}

/**
 * The order the policies run in: the baseline first (added, unmeasured in the result, when a hedging
 * policy needs its latency percentile), the others as given.
 */
function runOrder(specs: readonly PolicySpec[]): PolicySpec[] {
  const needsBaseline = specs.some((s) => s.kind === 'hedging' || (s.kind === 'linnos' && s.hedged));
  const order: PolicySpec[] = [...specs];
  const baselineIndex = order.findIndex((s) => s.kind === 'baseline');
  if (baselineIndex > 0) order.unshift(...order.splice(baselineIndex, 1));
  if (needsBaseline && baselineIndex < 0) order.unshift({ kind: 'baseline', name: 'baseline' });
  return order;
}

/** The devices as files, for the backends built here; a device of another kind needs makeBackend. */
function fileDevices(devices: readonly PolicyDevice[]): RealDevice[] {
  return devices.map((d) => {
    if (d instanceof RealDevice) return d;
    throw usageError(`${d.path}: not a file or block device, and no backend was given for it`);
  });
}

/** What the kernel counted over a run on each block device under the devices (each one once). */
function kernelDeltas(
  devices: readonly PolicyDevice[],
  before: Map<string, DiskCounters>,
  after: Map<string, DiskCounters>,
): DiskDelta[] {
  const kernel: DiskDelta[] = [];
  const seen = new Set<string>();
  for (const d of devices) {
    if (d.backing === undefined) continue;
    const key = `${d.backing.major}:${d.backing.minor}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const delta = diskDelta(before, after, d.backing);
    if (delta !== undefined) kernel.push(delta);
  }
  return kernel;
}

/** The largest transfer the workload will make on any of the devices. */
export function maxPlacedBytes(arrivals: ArrivalColumns, devices: readonly PolicyDevice[]): number {
  let most = 4096;
  for (const d of devices) most = Math.max(most, d.place(0, Math.max(arrivals.maxSize, 1)).size);
  return most;
}
