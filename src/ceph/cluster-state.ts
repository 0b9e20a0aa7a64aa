/**
 * A test cluster's record, `D/lake-cluster.json`: lake's mark on the folder it created (the folder's device
 * and inode, as src/files/image-mark.ts marks images) and everything `status`, `slow` and `down` need: the
 * processes it started by PID and start time, the OSDs, the pools and where each is pinned, the slow causes
 * in force. Written atomically at every change, first before anything else is created in the folder, so an
 * interrupted `up` leaves a record that `down` can act on.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LakeError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import type { ClusterNetwork } from './netns.js';
import type { OwnedProcess } from './processes.js';

export const CLUSTER_STATE_FILE = 'lake-cluster.json';
export const CLUSTER_STATE_FORMAT = 'lake-cluster';
export const CLUSTER_STATE_VERSION = 1;
/** A record is a few kilobytes; anything much larger at its path is not one. */
const MAX_STATE_BYTES = 1 << 20;

/** A pool and the one OSD its CRUSH rule places it on. */
export interface PinnedPool {
  name: string;
  osd: number;
  /** The CRUSH rule (`pinN`: take host bucket hN, choose one OSD). */
  rule: string;
  /** `replica`: one of r0..rN-1; `noisy`: the pool a noisy neighbour writes to. */
  role: 'replica' | 'noisy';
}

export type SlowCause = 'noisy' | 'inject' | 'cpu';
export const SLOW_CAUSES: readonly SlowCause[] = ['noisy', 'inject', 'cpu'];

/** A slow cause in force on one OSD, with what `--off` and `down` must undo. */
export interface SlowRecord {
  osd: number;
  cause: SlowCause;
  /** The settings, for the user (`delay 2 ms on 50% of messages`, `10% of one CPU`, ...). */
  detail: string;
  /** cpu: the cgroup lake made and the one the OSD came from (to move it back). */
  cgroup?: string;
  previousCgroup?: string;
  /** noisy: the writer's process name in `processes`. */
  process?: string;
}

export interface ClusterState {
  format: typeof CLUSTER_STATE_FORMAT;
  version: typeof CLUSTER_STATE_VERSION;
  /** The folder (absolute) and its st_dev/st_ino when lake created it. */
  dir: string;
  dev: string;
  ino: string;
  createdAt: string;
  /** `starting` until every pinned pool answered; `up` after; `down` when kept after `down --keep`. */
  phase: 'starting' | 'up' | 'down';
  fsid: string;
  conf: string;
  monPorts: { v2: number; v1: number };
  osds: number;
  processes: OwnedProcess[];
  pools: PinnedPool[];
  slow: SlowRecord[];
  /** With `up --netns`: the bridge and the OSDs' namespaces, recorded before they are made. */
  network?: ClusterNetwork;
}

export function statePath(dir: string): string {
  return join(dir, CLUSTER_STATE_FILE);
}

export async function writeClusterState(state: ClusterState): Promise<void> {
  await writeFileAtomic(statePath(state.dir), `${JSON.stringify(state, null, 2)}\n`);
}

/** What a folder holds: nothing of lake's, or a cluster record that matches the folder. */
export type ClusterDirKind =
  | { kind: 'missing' }
  | { kind: 'foreign'; reason: string }
  | { kind: 'cluster'; state: ClusterState };

/** Reads `dir`'s record and checks that it was written for this very folder. */
export function inspectClusterDir(dir: string): ClusterDirKind {
  let dirStats: ReturnType<typeof statSync>;
  try {
    dirStats = statSync(dir, { bigint: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'foreign', reason: `${dir}: ${(error as Error).message}` };
  }
  if (!dirStats.isDirectory()) return { kind: 'foreign', reason: `${dir} is not a directory` };
  const path = statePath(dir);
  let text: string;
  try {
    const s = statSync(path);
    if (!s.isFile() || s.size > MAX_STATE_BYTES)
      return { kind: 'foreign', reason: `${path} is not a lake cluster record` };
    text = readFileSync(path, 'utf8');
  } catch {
    return {
      kind: 'foreign',
      reason: `${dir} exists and has no ${CLUSTER_STATE_FILE}: lake did not create it`,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'foreign', reason: `${path} is not a lake cluster record (not JSON)` };
  }
  const state = asClusterState(value);
  if (state === undefined) return { kind: 'foreign', reason: `${path} is not a lake cluster record` };
  if (state.dev !== String(dirStats.dev) || state.ino !== String(dirStats.ino))
    return {
      kind: 'foreign',
      reason: `${path} was written for another folder (inode ${state.ino}, this one is ${dirStats.ino})`,
    };
  return { kind: 'cluster', state };
}

/** Reads the record of a cluster folder, or throws LAKE_E_USAGE saying why `dir` is not one. */
export function readClusterState(dir: string): ClusterState {
  const found = inspectClusterDir(dir);
  if (found.kind === 'missing') throw new LakeError('LAKE_E_USAGE', `${dir}: no such cluster folder`);
  if (found.kind === 'foreign')
    throw new LakeError('LAKE_E_USAGE', `${dir} is not a lake cluster: ${found.reason}`);
  return found.state;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isOwned(value: unknown): value is OwnedProcess {
  return (
    isRecord(value) &&
    typeof value['name'] === 'string' &&
    Number.isSafeInteger(value['pid']) &&
    (value['pid'] as number) > 0 &&
    typeof value['startTicks'] === 'string' &&
    /^\d{1,20}$/.test(value['startTicks']) &&
    typeof value['log'] === 'string'
  );
}

function isPool(value: unknown): value is PinnedPool {
  return (
    isRecord(value) &&
    typeof value['name'] === 'string' &&
    Number.isSafeInteger(value['osd']) &&
    typeof value['rule'] === 'string' &&
    (value['role'] === 'replica' || value['role'] === 'noisy')
  );
}

function isSlow(value: unknown): value is SlowRecord {
  return (
    isRecord(value) &&
    Number.isSafeInteger(value['osd']) &&
    SLOW_CAUSES.includes(value['cause'] as SlowCause) &&
    typeof value['detail'] === 'string'
  );
}

function isNetwork(value: unknown): value is ClusterNetwork {
  // Only names of the shapes lake gives (src/ceph/netns.ts): `down` deletes what the record names.
  const namespace = (x: unknown): boolean => typeof x === 'string' && /^lake-[0-9a-f]{6}-osd\d{1,2}$/.test(x);
  return (
    isRecord(value) &&
    typeof value['bridge'] === 'string' &&
    /^lk[0-9a-f]{6}br$/.test(value['bridge']) &&
    typeof value['subnet'] === 'string' &&
    /^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(value['subnet']) &&
    Array.isArray(value['namespaces']) &&
    value['namespaces'].every(namespace)
  );
}

function asClusterState(value: unknown): ClusterState | undefined {
  if (!isRecord(value)) return undefined;
  if (value['format'] !== CLUSTER_STATE_FORMAT || value['version'] !== CLUSTER_STATE_VERSION)
    return undefined;
  const strings = ['dir', 'dev', 'ino', 'createdAt', 'fsid', 'conf'];
  if (!strings.every((key) => typeof value[key] === 'string')) return undefined;
  if (!['starting', 'up', 'down'].includes(value['phase'] as string)) return undefined;
  const ports = value['monPorts'];
  if (!isRecord(ports) || !Number.isSafeInteger(ports['v2']) || !Number.isSafeInteger(ports['v1']))
    return undefined;
  if (!Number.isSafeInteger(value['osds'])) return undefined;
  const lists: [string, (x: unknown) => boolean][] = [
    ['processes', isOwned],
    ['pools', isPool],
    ['slow', isSlow],
  ];
  for (const [key, check] of lists) {
    const list = value[key];
    if (!Array.isArray(list) || !list.every(check)) return undefined;
  }
  if (value['network'] !== undefined && !isNetwork(value['network'])) return undefined;
  return value as unknown as ClusterState;
}
