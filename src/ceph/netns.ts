/**
 * OSDs as separate hosts on one machine (`lake cluster up --netns`): each OSD runs in a network namespace of
 * its own, joined by a veth pair to a bridge in the host's namespace, where the monitor and the clients
 * are. Every OSD then has its own network stack and address (10.213.K.10+N), as on separate machines;
 * they still share the machine's CPUs and memory. Needs root (CAP_NET_ADMIN) and iproute2's `ip`.
 *
 * The names lake creates carry the cluster's tag (the first 6 hex digits of its fsid) and are recorded
 * before they are made, so `down`, a failed `up` and an interrupted `up` remove exactly them.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { findProgram, runToolChecked } from './tools.js';

/** The /16 the clusters' /24s come from; lake takes a /24 no interface of the host uses. */
const NETWORK_PREFIX = '10.213';
const IP_CALL_MS = 10_000;

export interface ClusterNetwork {
  /** The bridge in the host's namespace (the monitor's address is on it). */
  bridge: string;
  /** `10.213.K`: the monitor is .1, osd.N is .(10+N). */
  subnet: string;
  /** Namespace of osd.N at index N. */
  namespaces: string[];
}

/** Linux capability bits (include/uapi/linux/capability.h) that `ip netns` and veth/bridge setup need. */
const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;

/** Why OSDs cannot get namespaces here, or undefined when they can. */
export function netnsMissingReason(): string | undefined {
  if (findProgram('ip') === undefined) return '`ip` (iproute2) is not on PATH';
  let effective = 0n;
  try {
    const line = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    effective = BigInt(`0x${line?.[1] ?? '0'}`);
  } catch {
    return 'cannot read /proc/self/status to check for CAP_NET_ADMIN and CAP_SYS_ADMIN';
  }
  const missing = [
    ...((effective >> CAP_NET_ADMIN) & 1n ? [] : ['CAP_NET_ADMIN']),
    ...((effective >> CAP_SYS_ADMIN) & 1n ? [] : ['CAP_SYS_ADMIN']),
  ];
  if (missing.length > 0)
    return `network namespaces need ${missing.join(' and ')} (run as root, outside a restricted container)`;
  return undefined;
}

export function monitorHost(network: ClusterNetwork | undefined): string {
  return network === undefined ? '127.0.0.1' : `${network.subnet}.1`;
}

export function osdHost(network: ClusterNetwork, osd: number): string {
  return `${network.subnet}.${10 + osd}`;
}

function vethName(network: ClusterNetwork, osd: number, side: 'host' | 'osd'): string {
  // Interface names hold at most 15 bytes: lk + 6 hex + h|o + up to 2 digits.
  return `${network.bridge.slice(0, 8)}${side === 'host' ? 'h' : 'o'}${osd}`;
}

/** The names and the first free subnet for a cluster tagged `tag` (hex) with `osds` OSDs. */
export function planNetwork(tag: string, osds: number): ClusterNetwork {
  const used = new Set<string>();
  const listing = spawnSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8', timeout: IP_CALL_MS });
  for (const match of (listing.stdout ?? '').matchAll(/inet (\d+\.\d+\.\d+)\.\d+\//g)) used.add(match[1]!);
  // The search starts at a /24 given by the tag, so that two clusters set up at the same moment (each
  // seeing the other's subnet not yet in use) rarely pick the same one.
  const first = Number.parseInt(tag.slice(0, 2), 16) || 0;
  let subnet: string | undefined;
  for (let i = 0; i < 256 && subnet === undefined; i++) {
    const candidate = `${NETWORK_PREFIX}.${(first + i) % 256}`;
    if (!used.has(candidate)) subnet = candidate;
  }
  if (subnet === undefined) throw new Error(`every ${NETWORK_PREFIX}.K.0/24 is in use on this host`);
  const short = tag.slice(0, 6);
  return {
    bridge: `lk${short}br`,
    subnet,
    namespaces: Array.from({ length: osds }, (_, i) => `lake-${short}-osd${i}`),
  };
}

const ip = (args: string[]): Promise<string> => runToolChecked('ip', args, { timeoutMs: IP_CALL_MS });

/** Creates the bridge and, per OSD, its namespace, veth pair, address and route. */
export async function createNetwork(network: ClusterNetwork): Promise<void> {
  const { bridge, subnet } = network;
  await ip(['link', 'add', bridge, 'type', 'bridge']);
  await ip(['addr', 'add', `${subnet}.1/24`, 'dev', bridge]);
  await ip(['link', 'set', bridge, 'up']);
  for (const [osd, ns] of network.namespaces.entries()) {
    const host = vethName(network, osd, 'host');
    const inside = vethName(network, osd, 'osd');
    await ip(['netns', 'add', ns]);
    await ip(['link', 'add', host, 'type', 'veth', 'peer', 'name', inside]);
    await ip(['link', 'set', host, 'master', bridge]);
    await ip(['link', 'set', host, 'up']);
    await ip(['link', 'set', inside, 'netns', ns]);
    const inNs = (args: string[]): Promise<string> => ip(['-n', ns, ...args]);
    await inNs(['link', 'set', 'lo', 'up']);
    await inNs(['addr', 'add', `${osdHost(network, osd)}/24`, 'dev', inside]);
    await inNs(['link', 'set', inside, 'up']);
    await inNs(['route', 'add', 'default', 'via', `${subnet}.1`]);
  }
}

/**
 * Removes the namespaces (their veth pairs go with them) and the bridge, ignoring those already gone;
 * synchronous, for signal handlers too. Returns what could not be removed.
 */
export function destroyNetworkSync(network: ClusterNetwork): string[] {
  const errors: string[] = [];
  const remove = (args: string[], exists: () => boolean): void => {
    if (!exists()) return;
    const result = spawnSync('ip', args, { encoding: 'utf8', timeout: IP_CALL_MS });
    if (result.status !== 0) errors.push(`ip ${args.join(' ')}: ${(result.stderr ?? '').trim()}`);
  };
  const namespaces = (): string =>
    spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: IP_CALL_MS }).stdout ?? '';
  for (const ns of network.namespaces)
    remove(['netns', 'del', ns], () =>
      namespaces()
        .split('\n')
        .some((line) => line.split(' ')[0] === ns),
    );
  remove(
    ['link', 'del', network.bridge],
    () => spawnSync('ip', ['link', 'show', network.bridge], { timeout: IP_CALL_MS }).status === 0,
  );
  return errors;
}

/** The namespaces and bridge of `network` that still exist (for tests and `status`). */
export function networkLeftovers(network: ClusterNetwork): string[] {
  const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: IP_CALL_MS }).stdout ?? '';
  const names = new Set(listed.split('\n').map((line) => line.split(' ')[0]));
  const left = network.namespaces.filter((ns) => names.has(ns));
  if (spawnSync('ip', ['link', 'show', network.bridge], { timeout: IP_CALL_MS }).status === 0)
    left.push(network.bridge);
  return left;
}
