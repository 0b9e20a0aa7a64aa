/**
 * Tests against a real Ceph cluster: whether one can run here (the reason to skip when not), and a cluster
 * for the length of one callback, always stopped after it, also when it throws. A test process that exits
 * some other way (a failed assertion at top level, process.exit) still stops the daemons on 'exit'.
 */
import { clusterDown, clusterUp } from '../../src/ceph/cluster.js';
import type { ClusterState } from '../../src/ceph/cluster-state.js';
import { readClusterState } from '../../src/ceph/cluster-state.js';
import { isRunning, stopOwnedSync } from '../../src/ceph/processes.js';
import { cephMissingReason } from '../../src/ceph/tools.js';

export type CephAvailability = { available: true } | { available: false; reason: string };

/** Whether the Ceph programs are installed; otherwise the reason, for `t.skip(reason)` / `{ skip }`. */
export function cephAvailable(): CephAvailability {
  const reason = cephMissingReason();
  return reason === undefined ? { available: true } : { available: false, reason };
}

/** `{ skip: reason }` for node:test when Ceph is missing, else `{}`. */
export function skipWithoutCeph(): { skip?: string } {
  const found = cephAvailable();
  return found.available ? {} : { skip: found.reason };
}

const live = new Set<ClusterState>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const state of live) {
      // The record on disk also names processes started after `up` (noisy neighbours).
      let processes = state.processes;
      try {
        processes = readClusterState(state.dir).processes;
      } catch {
        // The folder went away; the processes `up` started are all there is to stop.
      }
      stopOwnedSync(processes.filter(isRunning), 2000);
    }
  });
}

/**
 * Runs `fn(conf, dir, state)` on a fresh cluster of `osds` OSDs and always runs `down` after it (by the
 * recorded PIDs, folder removed). Returns what `fn` returned.
 */
export async function withCluster<T>(
  osds: number,
  fn: (conf: string, dir: string, state: ClusterState) => Promise<T>,
): Promise<T> {
  installExitHook();
  const state = await clusterUp({ osds });
  live.add(state);
  try {
    return await fn(state.conf, state.dir, state);
  } finally {
    try {
      await clusterDown(state.dir, { graceMs: 5000 });
    } finally {
      live.delete(state);
    }
  }
}
