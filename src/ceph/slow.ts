/**
 * Slow replicas from real causes, one OSD at a time:
 * - `noisy`: a neighbour's write storm on the same OSD: `rados load-gen` (a process lake starts, records
 *   and stops) writing to pool nN, pinned to osd.N by the same rule as rN, so rN's reads queue behind it in
 *   the OSD's shards and messenger.
 * - `inject`: Ceph's own `osd_debug_inject_dispatch_delay_probability`/`_duration` (present in 16.2.15),
 *   set at run time with `ceph tell osd.N config set`: a message is held in the OSD's dispatcher for the
 *   duration with the probability.
 * - `cpu`: the OSD process moved into a cgroup with a CPU quota (cpu.max, or cfs_quota_us on cgroup v1).
 */
import { join } from 'node:path';
import { LakeError } from '../errors.js';
import { ceph } from './ceph-cli.js';
import {
  type ClusterState,
  readClusterState,
  type SlowCause,
  type SlowRecord,
  writeClusterState,
} from './cluster-state.js';
import { throttleCpu, unthrottleCpu } from './cpu-cgroup.js';
import { pinPool } from './pools.js';
import { isRunning, startOwned, stopOwned } from './processes.js';

export interface SlowOptions {
  osd: number;
  cause: SlowCause;
  /** inject: how long a delayed message waits (ms) and the share of messages delayed. */
  delayMs?: number;
  probability?: number;
  /** cpu: the OSD's quota, in percent of one CPU. */
  cpuPercent?: number;
  /** noisy: concurrent writes and their size. */
  noisyOps?: number;
  noisyBytes?: number;
}

/**
 * The noisy neighbour floods the OSD with many small writes: the OSD's queues share out work by operation,
 * so 128 writes in flight leave the pool's 4 reads a small share. Measured on the project VM (docs/ceph.md,
 * medians of interleaved probes): 128 x 16 KiB slowed the pinned pool's reads 3-5x, 32 x 1 MiB and
 * 16 x 64 KiB from not at all to 3x.
 */
export const SLOW_DEFAULTS = {
  delayMs: 2,
  probability: 0.5,
  cpuPercent: 10,
  noisyOps: 128,
  noisyBytes: 16_384,
};
/** The noisy neighbour overwrites this many objects, so its storm never fills the OSD's memstore. */
const NOISY_OBJECTS = 64;

function osdProcess(state: ClusterState, osd: number) {
  if (!Number.isSafeInteger(osd) || osd < 0 || osd >= state.osds)
    throw new LakeError(
      'LAKE_E_USAGE',
      `--osd must be an OSD of this cluster (0..${state.osds - 1}), got ${osd}`,
    );
  const owned = state.processes.find((p) => p.name === `osd.${osd}`);
  if (owned === undefined || !isRunning(owned))
    throw new LakeError('LAKE_E_IO', `osd.${osd} is not running (lake cluster status --dir ${state.dir})`);
  return owned;
}

/** Turns `cause` on for one OSD and records it; refuses a cause already on. */
export async function slowOsd(dir: string, options: SlowOptions): Promise<SlowRecord> {
  const state = readClusterState(dir);
  if (state.phase !== 'up')
    throw new LakeError('LAKE_E_USAGE', `${state.dir}: the cluster is ${state.phase}, not up`);
  const owned = osdProcess(state, options.osd);
  const { osd, cause } = options;
  if (state.slow.some((s) => s.osd === osd && s.cause === cause))
    throw new LakeError('LAKE_E_USAGE', `osd.${osd} is already slowed by ${cause}; turn it --off first`);
  let record: SlowRecord;
  if (cause === 'inject') {
    const delayMs = options.delayMs ?? SLOW_DEFAULTS.delayMs;
    const probability = options.probability ?? SLOW_DEFAULTS.probability;
    await setInjection(state.conf, osd, delayMs / 1000, probability);
    record = { osd, cause, detail: `dispatch delay ${delayMs} ms on ${probability * 100}% of messages` };
  } else if (cause === 'cpu') {
    const percent = options.cpuPercent ?? SLOW_DEFAULTS.cpuPercent;
    let moved: ReturnType<typeof throttleCpu>;
    try {
      moved = throttleCpu(owned.pid, `lake-${state.fsid.slice(0, 8)}-osd.${osd}`, percent);
    } catch (error) {
      throw new LakeError('LAKE_E_IO', `cannot throttle osd.${osd}'s CPU: ${(error as Error).message}`);
    }
    const detail = `${percent}% of one CPU (cgroup ${moved.hierarchy.kind} ${moved.cgroup})`;
    record = { osd, cause, detail, cgroup: moved.cgroup, previousCgroup: moved.previous };
  } else {
    record = await startNoisy(state, osd, options);
  }
  state.slow.push(record);
  await writeClusterState(state);
  return record;
}

async function setInjection(conf: string, osd: number, seconds: number, probability: number): Promise<void> {
  const set = (option: string, value: string) =>
    ceph(conf, ['tell', `osd.${osd}`, 'config', 'set', option, value]);
  await set('osd_debug_inject_dispatch_delay_duration', String(seconds));
  await set('osd_debug_inject_dispatch_delay_probability', String(probability));
}

async function startNoisy(state: ClusterState, osd: number, options: SlowOptions): Promise<SlowRecord> {
  const pool = `n${osd}`;
  if (!state.pools.some((p) => p.name === pool)) {
    state.pools.push(await pinPool(state.conf, pool, osd, 'noisy'));
    await writeClusterState(state);
  }
  const ops = options.noisyOps ?? SLOW_DEFAULTS.noisyOps;
  const bytes = options.noisyBytes ?? SLOW_DEFAULTS.noisyBytes;
  const size = String(bytes);
  const args = ['-c', state.conf, '-p', pool, 'load-gen', '--num-objects', String(NOISY_OBJECTS)];
  args.push('--min-object-size', size, '--max-object-size', size, '--min-op-len', size, '--max-op-len', size);
  // Throughput far above what one OSD takes, so the storm is bounded by the queue depth alone.
  args.push(
    '--max-ops',
    String(ops),
    '--max-backlog',
    String(ops * bytes),
    '--target-throughput',
    String(2 ** 40),
  );
  args.push('--read-percent', '0', '--run-length', String(7 * 24 * 3600));
  const name = `noisy.${osd}`;
  // load-gen prints two lines per operation on stdout (megabytes a minute); only its stderr is kept.
  const owned = await startOwned(name, 'rados', args, join(state.dir, 'log', `${name}.out`), true);
  state.processes = state.processes.filter((p) => p.name !== name);
  state.processes.push(owned);
  return {
    osd,
    cause: 'noisy',
    detail: `${ops} concurrent ${bytes / 1024} KiB writes to pool ${pool} (${NOISY_OBJECTS} objects)`,
    process: name,
  };
}

/** Turns off `cause` (or every cause) on one OSD; returns what was turned off. */
export async function unslowOsd(dir: string, osd: number, cause?: SlowCause): Promise<SlowRecord[]> {
  const state = readClusterState(dir);
  const chosen = state.slow.filter((s) => s.osd === osd && (cause === undefined || s.cause === cause));
  const errors: string[] = [];
  for (const record of chosen) {
    try {
      await undoOne(state, record);
    } catch (error) {
      errors.push((error as Error).message);
    }
  }
  state.slow = state.slow.filter((s) => !chosen.includes(s));
  await writeClusterState(state);
  if (errors.length > 0) throw new LakeError('LAKE_E_IO', errors.join('; '));
  return chosen;
}

async function undoOne(state: ClusterState, record: SlowRecord): Promise<void> {
  const osd = state.processes.find((p) => p.name === `osd.${record.osd}`);
  const alive = osd !== undefined && isRunning(osd);
  if (record.cause === 'inject') {
    if (alive)
      await ceph(state.conf, [
        'tell',
        `osd.${record.osd}`,
        'config',
        'set',
        'osd_debug_inject_dispatch_delay_probability',
        '0',
      ]);
  } else if (record.cause === 'cpu') {
    const errors = unthrottleCpu(
      alive ? osd.pid : undefined,
      record.cgroup ?? '',
      record.previousCgroup ?? '',
    );
    if (errors.length > 0) throw new Error(errors.join('; '));
  } else {
    const writer = state.processes.find((p) => p.name === record.process);
    if (writer !== undefined) await stopOwned([writer], 5000);
  }
}

/** After `down` stopped every process: what outlives them (cgroups) is removed; errors as text. */
export function undoSlowAfterStop(state: ClusterState): string[] {
  const errors: string[] = [];
  for (const record of state.slow) {
    if (record.cause === 'cpu' && record.cgroup !== undefined)
      errors.push(...unthrottleCpu(undefined, record.cgroup, record.previousCgroup ?? ''));
  }
  return errors;
}
