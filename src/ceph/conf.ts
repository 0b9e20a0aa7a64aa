/**
 * The test cluster's ceph.conf: one monitor on 127.0.0.1 at two ports chosen free at run time (msgr2 and
 * msgr1, so two clusters can run at once), no authentication, no mgr, OSDs on memstore (RAM; nothing
 * survives a restart), pools of size 1 allowed. Daemon files (data, admin sockets, logs) live under the
 * cluster folder; clients (the `ceph` and `rados` CLIs, librados) read the same file and write nothing.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';

/** Each OSD's memstore: enough for the test workloads, small enough for several OSDs on a laptop. */
export const MEMSTORE_BYTES = 512 * 1024 * 1024;

/** A port that was free a moment ago on 127.0.0.1 (the kernel's pick for port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port from the kernel'))));
    });
  });
}

/** Two distinct free ports for the monitor (msgr2, msgr1). */
export async function monitorPorts(): Promise<{ v2: number; v1: number }> {
  const v2 = await freePort();
  let v1 = await freePort();
  while (v1 === v2) v1 = await freePort();
  return { v2, v1 };
}

/** The monitor's address vector as ceph.conf and monmaptool write it. */
export function monitorAddress(ports: { v2: number; v1: number }, host = '127.0.0.1'): string {
  return `[v2:${host}:${ports.v2},v1:${host}:${ports.v1}]`;
}

export interface ConfSettings {
  dir: string;
  fsid: string;
  monPorts: { v2: number; v1: number };
  /** The monitor's (and default public) address: 127.0.0.1, or the bridge's with --netns. */
  monHost?: string;
  memstoreBytes?: number;
}

/** The text of D/ceph.conf. `$name`/`$id` are Ceph's own metavariables, expanded per daemon. */
export function cephConfText(settings: ConfSettings): string {
  const { dir, fsid, monPorts } = settings;
  const daemonFiles = [
    `admin socket = ${join(dir, 'run', '$name.asok')}`,
    `log file = ${join(dir, 'log', '$name.log')}`,
    `pid file = ${join(dir, 'run', '$name.pid')}`,
  ];
  return [
    '# Written by `lake cluster up`; removed by `lake cluster down`.',
    '[global]',
    `fsid = ${fsid}`,
    `mon host = ${monitorAddress(monPorts, settings.monHost)}`,
    // OSDs in their own network namespaces override this on their command line.
    `public addr = ${settings.monHost ?? '127.0.0.1'}`,
    'auth cluster required = none',
    'auth service required = none',
    'auth client required = none',
    'ms bind ipv6 = false',
    'osd pool default size = 1',
    'osd pool default min size = 1',
    'osd pool default pg autoscale mode = off',
    '',
    '[mon]',
    `mon data = ${join(dir, 'mon', '$id')}`,
    'mon allow pool size one = true',
    'mon allow pool delete = true',
    'mon warn on pool no redundancy = false',
    'mon warn on insecure global id reclaim allowed = false',
    // Each osdmap change waits this long before the monitor proposes it (default 1 s); the cluster is
    // built with a few dozen changes, so a short interval makes `up` take seconds instead of half a minute.
    'paxos propose interval = 0.05',
    // The cluster and audit logs default to /var/log/ceph: kept in the folder, as every file lake writes.
    `mon cluster log file = default=${join(dir, 'log', 'ceph.$channel.log')} cluster=${join(dir, 'log', 'ceph.log')}`,
    ...daemonFiles,
    '',
    '[osd]',
    `osd data = ${join(dir, 'osd', '$id')}`,
    'osd objectstore = memstore',
    `memstore device bytes = ${settings.memstoreBytes ?? MEMSTORE_BYTES}`,
    'osd crush update on start = false',
    'osd class update on start = false',
    ...daemonFiles,
    '',
  ].join('\n');
}
