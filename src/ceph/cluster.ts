/**
 * A real Ceph test cluster in one call: one monitor and N OSDs (memstore) on 127.0.0.1, each OSD in its own
 * CRUSH host bucket hN, and pools r0..rN-1 each pinned to one OSD by a rule `pinN` that takes hN and
 * chooses one OSD (size 1). A Ceph client cannot choose which replica of a pool serves a read, so lake
 * models a replica as a pool pinned to one OSD and chooses among pools (docs/ceph.md).
 *
 * Every process `clusterUp` starts is recorded (PID and start time) in D/lake-cluster.json before it can
 * matter, and `clusterDown` stops exactly those: SIGTERM, then SIGKILL after a grace. A failed or
 * interrupted `up` stops what it started and removes the folder before it returns or exits.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { LakeError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import { ceph, cephJson, radosRaw } from './ceph-cli.js';
import {
  CLUSTER_STATE_FORMAT,
  CLUSTER_STATE_VERSION,
  type ClusterState,
  inspectClusterDir,
  type PinnedPool,
  readClusterState,
  writeClusterState,
} from './cluster-state.js';
import { cephConfText, monitorAddress, monitorPorts } from './conf.js';
import {
  createNetwork,
  destroyNetworkSync,
  monitorHost,
  netnsMissingReason,
  osdHost,
  planNetwork,
} from './netns.js';
import { pinPool } from './pools.js';
import { isRunning, type OwnedProcess, startOwned, stopOwned, stopOwnedSync } from './processes.js';
import { undoSlowAfterStop } from './slow.js';
import { killRunningTools, requireCeph, runToolChecked, tailLines } from './tools.js';

export const DEFAULT_OSDS = 3;
export const MAX_OSDS = 16;
export const DEFAULT_UP_TIMEOUT_MS = 90_000;
export const DEFAULT_STOP_GRACE_MS = 10_000;
/** A unix socket path holds at most 107 bytes; the longest admin socket is D/run/osd.NN.asok. */
const MAX_SOCKET_PATH = 107;
const POLL_MS = 200;

export interface ClusterUpOptions {
  osds?: number;
  /** The folder to create (it must not exist); default a new folder under the OS temp dir. */
  dir?: string;
  /** Bound on the whole start-up, waits included. */
  timeoutMs?: number;
  memstoreBytes?: number;
  /** Each OSD in a network namespace of its own, as a separate host (root only; src/ceph/netns.ts). */
  netns?: boolean;
  /** Progress lines (`starting osd.1`), for a terminal. */
  onProgress?(message: string): void;
}

/** The folder `up` will use: created now, empty but for lake's record. */
function claimDir(requested: string | undefined): string {
  if (requested === undefined) return realpathSync(mkdtempSync(join(tmpdir(), 'lake-cluster-')));
  const dir = resolve(requested);
  const found = inspectClusterDir(dir);
  if (found.kind === 'cluster')
    throw new LakeError(
      'LAKE_E_USAGE',
      `${dir} already holds a lake cluster (${found.state.phase}); run "lake cluster down --dir ${dir}" first`,
    );
  if (found.kind === 'foreign')
    throw new LakeError(
      'LAKE_E_USAGE',
      `--dir ${dir}: refusing a folder lake did not create: ${found.reason}`,
    );
  try {
    mkdirSync(dir);
  } catch (error) {
    throw new LakeError('LAKE_E_IO', `--dir ${dir}: cannot create: ${(error as Error).message}`);
  }
  return dir;
}

/** The record written before anything else goes into the folder. */
function initialState(dir: string, osds: number, monPorts: { v2: number; v1: number }): ClusterState {
  const stats = statSync(dir, { bigint: true });
  return {
    format: CLUSTER_STATE_FORMAT,
    version: CLUSTER_STATE_VERSION,
    dir,
    dev: String(stats.dev),
    ino: String(stats.ino),
    createdAt: new Date().toISOString(),
    phase: 'starting',
    fsid: randomUUID(),
    conf: join(dir, 'ceph.conf'),
    monPorts,
    osds,
    processes: [],
    pools: [],
    slow: [],
  };
}

/**
 * While `up` runs, SIGINT/SIGTERM stop the daemons started so far and remove the folder, then exit
 * 130/143. The handler is synchronous: the process exits right after it.
 */
function guardInterrupts(state: ClusterState): () => void {
  const handler = (signal: 'SIGINT' | 'SIGTERM'): void => {
    killRunningTools();
    stopOwnedSync(state.processes, 2000);
    if (state.network !== undefined) destroyNetworkSync(state.network);
    rmSync(state.dir, { recursive: true, force: true });
    process.stderr.write(
      `lake: interrupted by ${signal}: stopped ${state.processes.length} Ceph processes, removed ${state.dir}\n`,
    );
    process.exit(128 + constants.signals[signal]);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** Starts a cluster; resolves once every pinned pool has answered a write and a read. */
export async function clusterUp(options: ClusterUpOptions = {}): Promise<ClusterState> {
  requireCeph();
  const osds = options.osds ?? DEFAULT_OSDS;
  if (!Number.isSafeInteger(osds) || osds < 1 || osds > MAX_OSDS)
    throw new LakeError('LAKE_E_USAGE', `options.osds must be an integer in 1..${MAX_OSDS}, got ${osds}`);
  if (options.dir !== undefined) {
    const socket = join(resolve(options.dir), 'run', `osd.${MAX_OSDS}.asok`);
    if (Buffer.byteLength(socket) > MAX_SOCKET_PATH)
      throw new LakeError(
        'LAKE_E_USAGE',
        `--dir ${options.dir}: too long for Ceph's admin sockets (${socket} is over ${MAX_SOCKET_PATH} bytes)`,
      );
  }
  if (options.netns === true) {
    const reason = netnsMissingReason();
    if (reason !== undefined) throw new LakeError('LAKE_E_USAGE', `--netns: ${reason}`);
  }
  const ports = await monitorPorts();
  const dir = claimDir(options.dir);
  const state = initialState(dir, osds, ports);
  if (options.netns === true) state.network = planNetwork(state.fsid.replaceAll('-', ''), osds);
  const release = guardInterrupts(state);
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_UP_TIMEOUT_MS);
  try {
    await writeClusterState(state);
    await buildCluster(state, deadline, options);
    state.phase = 'up';
    await writeClusterState(state);
    return state;
  } catch (error) {
    await stopOwned(state.processes, 2000);
    if (state.network !== undefined) destroyNetworkSync(state.network);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  } finally {
    release();
  }
}

async function buildCluster(state: ClusterState, deadline: number, options: ClusterUpOptions): Promise<void> {
  const progress = options.onProgress ?? (() => undefined);
  const { dir, conf } = state;
  for (const sub of ['mon', 'osd', 'run', 'log']) mkdirSync(join(dir, sub));
  const monHost = monitorHost(state.network);
  if (state.network !== undefined) {
    progress(`creating bridge ${state.network.bridge} and ${state.osds} network namespaces`);
    await createNetwork(state.network);
  }
  await writeFileAtomic(conf, cephConfText({ ...state, monHost, memstoreBytes: options.memstoreBytes }));
  const monmap = join(dir, 'monmap');
  const toolMs = 30_000;
  await runToolChecked(
    'monmaptool',
    ['--create', '--fsid', state.fsid, '--addv', 'a', monitorAddress(state.monPorts, monHost), monmap],
    { timeoutMs: toolMs },
  );
  await runToolChecked('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', monmap], {
    timeoutMs: toolMs,
  });
  progress(`starting mon.a on ${monHost}:${state.monPorts.v2}`);
  const mon = await startOwned(
    'mon.a',
    'ceph-mon',
    ['-c', conf, '-i', 'a', '-f'],
    join(dir, 'log', 'mon.a.out'),
  );
  state.processes.push(mon);
  await writeClusterState(state);
  await waitUntil('the monitor to answer', deadline, [mon], async () => {
    await ceph(conf, ['mon', 'stat'], 5000);
    return true;
  });
  progress('monitor answers');
  const uuids: string[] = [];
  for (let i = 0; i < state.osds; i++) {
    const uuid = randomUUID();
    const id = (await ceph(conf, ['osd', 'new', uuid])).trim();
    if (id !== String(i))
      throw new LakeError('LAKE_E_INTERNAL', `the monitor gave OSD id ${id}, expected ${i}`);
    uuids.push(uuid);
  }
  progress(`starting ${state.osds} OSDs (memstore)`);
  await Promise.all(uuids.map((uuid, i) => mkfsOsd(conf, dir, i, uuid, toolMs)));
  for (let i = 0; i < state.osds; i++) {
    const [program, args] = osdCommand(state, i);
    state.processes.push(await startOwned(`osd.${i}`, program, args, join(dir, 'log', `osd.${i}.out`)));
    await writeClusterState(state);
  }
  for (let i = 0; i < state.osds; i++) state.pools.push(await pinPool(conf, `r${i}`, i, 'replica'));
  await writeClusterState(state);
  const osdProcesses = state.processes.filter((p) => p.name.startsWith('osd.'));
  await waitUntil('every OSD to be up', deadline, [mon, ...osdProcesses], async () =>
    osdsUp(conf, state.osds),
  );
  progress(`waiting for pools ${state.pools.map((p) => p.name).join(', ')} to answer`);
  for (const pool of state.pools) {
    const owner = osdProcesses[pool.osd]!;
    await waitUntil(
      `pool ${pool.name} (osd.${pool.osd}) to answer a write and a read`,
      deadline,
      [mon, owner],
      () => poolAnswers(conf, pool.name),
    );
  }
}

/** ceph-osd for osd.N: in its namespace (`ip netns exec` execs it, so the PID is the OSD's) with --netns. */
function osdCommand(state: ClusterState, osd: number): [string, string[]] {
  const args = ['-c', state.conf, '-i', String(osd), '-f'];
  args.push('--osd-crush-update-on-start=false', '--osd-class-update-on-start=false');
  const network = state.network;
  if (network === undefined) return ['ceph-osd', args];
  const host = osdHost(network, osd);
  args.push(`--public-addr=${host}`, `--cluster-addr=${host}`);
  return ['ip', ['netns', 'exec', network.namespaces[osd]!, 'ceph-osd', ...args]];
}

async function mkfsOsd(
  conf: string,
  dir: string,
  id: number,
  uuid: string,
  timeoutMs: number,
): Promise<void> {
  mkdirSync(join(dir, 'osd', String(id)));
  const args = ['-c', conf, '-i', String(id), '--mkfs', '--osd-uuid', uuid];
  await runToolChecked('ceph-osd', args, { timeoutMs });
}

async function osdsUp(conf: string, count: number): Promise<boolean> {
  const dump = (await cephJson(conf, ['osd', 'dump'], 5000)) as { osds?: { osd: number; up: number }[] };
  const up = (dump.osds ?? []).filter((o) => o.up === 1).length;
  return up === count;
}

/** Writes a small object, reads it back and compares; false (not an error) while the pool is not ready. */
async function poolAnswers(conf: string, pool: string): Promise<boolean> {
  const payload = `lake cluster probe ${randomUUID()}\n`;
  const options = { timeoutMs: 5000 };
  const put = await radosRaw(conf, ['-p', pool, 'put', 'lake-ready', '-'], { ...options, input: payload });
  if (put.status !== 0) return false;
  const get = await radosRaw(conf, ['-p', pool, 'get', 'lake-ready', '-'], options);
  if (get.status !== 0 || get.stdout !== payload) return false;
  await radosRaw(conf, ['-p', pool, 'rm', 'lake-ready'], options);
  return true;
}

/**
 * Polls `check` until it is true. Fails at once when one of `watched` dies, and at `deadline` otherwise,
 * either way with the end of the relevant daemon's log.
 */
async function waitUntil(
  what: string,
  deadline: number,
  watched: readonly OwnedProcess[],
  check: () => Promise<boolean>,
): Promise<void> {
  let lastError = '';
  for (;;) {
    const dead = watched.find((p) => !isRunning(p));
    if (dead !== undefined)
      throw new LakeError('LAKE_E_IO', `${dead.name} exited while waiting for ${what}${logTail(dead)}`);
    // The deadline bounds the whole of `up`: a wait that begins past it fails without trying.
    if (Date.now() >= deadline) {
      const suspect = watched[watched.length - 1];
      const last = lastError === '' ? '' : `; last error: ${lastError}`;
      throw new LakeError(
        'LAKE_E_IO',
        `timed out waiting for ${what}${last}${suspect === undefined ? '' : logTail(suspect)}`,
      );
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await new Promise((done) => setTimeout(done, POLL_MS));
  }
}

/** The last lines a daemon wrote (its Ceph log, then its stdout/stderr), for an error message. */
export function logTail(owned: OwnedProcess, lines = 15): string {
  const parts: string[] = [];
  const cephLog = join(dirname(owned.log), `${owned.name}.log`);
  for (const path of [cephLog, owned.log]) {
    try {
      const text = readFileSync(path, 'utf8');
      if (text.trim() !== '') parts.push(`\n--- last lines of ${path} ---\n${tailLines(text, lines)}`);
    } catch {
      // No such log (the daemon never got that far).
    }
  }
  return parts.join('');
}

/** What `status` reports. `up` and `acting` are null when the monitor could not be asked. */
export interface ClusterStatus {
  dir: string;
  conf: string;
  fsid: string;
  phase: ClusterState['phase'];
  processes: { name: string; pid: number; running: boolean }[];
  osds: { id: number; running: boolean; up: boolean | null }[];
  pools: { name: string; role: PinnedPool['role']; pinnedTo: number; acting: number[] | null }[];
  slow: ClusterState['slow'];
  /** With --netns: the bridge, and each OSD's namespace and address. */
  network: {
    bridge: string;
    monitor: string;
    osds: { id: number; namespace: string; address: string }[];
  } | null;
  monitorError: string | null;
}

export async function clusterStatus(dir: string): Promise<ClusterStatus> {
  const state = readClusterState(resolve(dir));
  const processes = state.processes.map((p) => ({ name: p.name, pid: p.pid, running: isRunning(p) }));
  const mon = processes.find((p) => p.name === 'mon.a');
  let monitorError: string | null = mon?.running === true ? null : 'mon.a is not running';
  let up: Map<number, boolean> | undefined;
  const acting = new Map<string, number[]>();
  if (monitorError === null) {
    try {
      const dump = (await cephJson(state.conf, ['osd', 'dump'], 10_000)) as {
        osds?: { osd: number; up: number }[];
      };
      up = new Map((dump.osds ?? []).map((o) => [o.osd, o.up === 1]));
      const maps = await Promise.all(
        state.pools.map((p) => cephJson(state.conf, ['osd', 'map', p.name, 'lake-probe'], 10_000)),
      );
      for (const [i, p] of state.pools.entries())
        acting.set(p.name, (maps[i] as { acting?: number[] }).acting ?? []);
    } catch (error) {
      monitorError = (error as Error).message;
    }
  }
  const running = (name: string): boolean => processes.find((p) => p.name === name)?.running ?? false;
  return {
    dir: state.dir,
    conf: state.conf,
    fsid: state.fsid,
    phase: state.phase,
    processes,
    osds: Array.from({ length: state.osds }, (_, id) => ({
      id,
      running: running(`osd.${id}`),
      up: up === undefined ? null : (up.get(id) ?? false),
    })),
    pools: state.pools.map((p) => ({
      name: p.name,
      role: p.role,
      pinnedTo: p.osd,
      acting: acting.get(p.name) ?? null,
    })),
    slow: state.slow,
    network: networkStatus(state),
    monitorError,
  };
}

function networkStatus(state: ClusterState): ClusterStatus['network'] {
  const network = state.network;
  if (network === undefined) return null;
  return {
    bridge: network.bridge,
    monitor: monitorHost(network),
    osds: network.namespaces.map((namespace, id) => ({ id, namespace, address: osdHost(network, id) })),
  };
}

export interface ClusterDownOptions {
  /** Stop the daemons but keep the folder (conf, logs, record). */
  keep?: boolean;
  graceMs?: number;
}

export interface ClusterDownReport {
  dir: string;
  stopped: string[];
  /** Needed SIGKILL after the grace. */
  killed: string[];
  removed: boolean;
}

/**
 * Stops every process the record names (helpers, then OSDs while the monitor still answers, then the
 * monitor), undoes the slow causes that outlive a process (cgroups) and removes the folder unless `keep`.
 */
export async function clusterDown(dir: string, options: ClusterDownOptions = {}): Promise<ClusterDownReport> {
  const state = readClusterState(resolve(dir));
  const grace = options.graceMs ?? DEFAULT_STOP_GRACE_MS;
  const running = state.processes.filter(isRunning);
  const helpers = running.filter((p) => !p.name.startsWith('osd.') && p.name !== 'mon.a');
  const osds = running.filter((p) => p.name.startsWith('osd.'));
  const monitors = running.filter((p) => p.name === 'mon.a');
  const killed: string[] = [];
  const stuck: string[] = [];
  for (const group of [helpers, osds, monitors]) {
    const outcome = await stopOwned(group, grace);
    killed.push(...outcome.killed);
    stuck.push(...outcome.stuck);
  }
  if (stuck.length > 0)
    throw new LakeError(
      'LAKE_E_IO',
      `${stuck.join(', ')} would not exit after SIGKILL; ${state.dir} is kept`,
    );
  const undoErrors = undoSlowAfterStop(state);
  if (state.network !== undefined) undoErrors.push(...destroyNetworkSync(state.network));
  if (undoErrors.length > 0) throw new LakeError('LAKE_E_IO', undoErrors.join('; '));
  const stopped = running.map((p) => p.name);
  if (options.keep === true) {
    state.phase = 'down';
    state.slow = [];
    await writeClusterState(state);
    return { dir: state.dir, stopped, killed, removed: false };
  }
  rmSync(state.dir, { recursive: true, force: true });
  return { dir: state.dir, stopped, killed, removed: true };
}

/** The lake clusters in the OS temp dir (`up` without --dir makes them there), newest first. */
export function findClusterDirs(parent = tmpdir()): ClusterState[] {
  let names: string[];
  try {
    names = readdirSync(parent).filter((name) => name.startsWith('lake-cluster-'));
  } catch {
    return [];
  }
  const states: ClusterState[] = [];
  for (const name of names) {
    const found = inspectClusterDir(join(parent, name));
    if (found.kind === 'cluster') states.push(found.state);
  }
  return states.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/**
 * The folder a command without --dir means: the one lake cluster in the OS temp dir. None or several is a
 * usage error that lists them.
 */
export function defaultClusterDir(parent = tmpdir()): string {
  const found = findClusterDirs(parent);
  if (found.length === 1) return found[0]!.dir;
  if (found.length === 0)
    throw new LakeError(
      'LAKE_E_USAGE',
      `no lake cluster in ${parent}; start one with "lake cluster up" or give --dir`,
    );
  throw new LakeError(
    'LAKE_E_USAGE',
    `${found.length} lake clusters in ${parent}, give --dir: ${found.map((s) => s.dir).join(', ')}`,
  );
}
