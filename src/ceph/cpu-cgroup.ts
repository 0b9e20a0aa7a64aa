/**
 * CPU throttling of one process through a cgroup lake creates for it: cgroup v2's `cpu.max` where the
 * unified hierarchy offers the cpu controller, else cgroup v1's `cpu.cfs_quota_us` (a hybrid host such as
 * this project's VM mounts cpu under v1). The process is moved in by writing its PID to `cgroup.procs` (all
 * its threads follow) and moved back to the cgroup it came from when the throttle is lifted.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const V2_ROOT = '/sys/fs/cgroup';
const V1_CPU_ROOT = '/sys/fs/cgroup/cpu';
/** The CFS period: quota is a share of it. */
export const CPU_PERIOD_US = 100_000;

export interface CpuHierarchy {
  kind: 'v1' | 'v2';
  root: string;
}

/** Where cpu throttling can be done here, or why not. */
export function cpuHierarchy(): CpuHierarchy | { reason: string } {
  try {
    const controllers = readFileSync(join(V2_ROOT, 'cgroup.controllers'), 'utf8').split(/\s+/);
    if (controllers.includes('cpu')) return { kind: 'v2', root: V2_ROOT };
  } catch {
    // Not a pure cgroup v2 mount; try v1.
  }
  if (existsSync(join(V1_CPU_ROOT, 'cpu.cfs_quota_us'))) return { kind: 'v1', root: V1_CPU_ROOT };
  return {
    reason: `no cgroup cpu controller here (neither ${V2_ROOT}/cgroup.controllers listing cpu nor ${V1_CPU_ROOT}/cpu.cfs_quota_us)`,
  };
}

/** The cgroup `pid` is in for the cpu controller, as a path under the hierarchy's root. */
export function cgroupOf(pid: number, hierarchy: CpuHierarchy): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  for (const line of lines) {
    const [, controllers, path] = line.split(':', 3) as [string, string, string];
    const matches = hierarchy.kind === 'v2' ? line.startsWith('0::') : controllers.split(',').includes('cpu');
    if (matches) return join(hierarchy.root, path);
  }
  throw new Error(`/proc/${pid}/cgroup names no ${hierarchy.kind} cpu cgroup`);
}

function write(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw new Error(`cannot write "${text.trim()}" to ${path}: ${(error as Error).message}`);
  }
}

/**
 * Moves `pid` into a new cgroup `name` limited to `percent` of one CPU; returns the new cgroup's path and
 * the one the process came from. Throws an Error saying which file could not be written.
 */
export function throttleCpu(
  pid: number,
  name: string,
  percent: number,
): { cgroup: string; previous: string; hierarchy: CpuHierarchy } {
  const hierarchy = cpuHierarchy();
  if ('reason' in hierarchy) throw new Error(hierarchy.reason);
  const previous = cgroupOf(pid, hierarchy);
  const cgroup = join(hierarchy.root, name);
  const quota = Math.max(1000, Math.round((percent / 100) * CPU_PERIOD_US));
  if (hierarchy.kind === 'v2') {
    const enabled = readFileSync(join(hierarchy.root, 'cgroup.subtree_control'), 'utf8').split(/\s+/);
    if (!enabled.includes('cpu')) write(join(hierarchy.root, 'cgroup.subtree_control'), '+cpu');
  }
  mkdirSync(cgroup);
  try {
    if (hierarchy.kind === 'v2') write(join(cgroup, 'cpu.max'), `${quota} ${CPU_PERIOD_US}\n`);
    else {
      write(join(cgroup, 'cpu.cfs_period_us'), `${CPU_PERIOD_US}\n`);
      write(join(cgroup, 'cpu.cfs_quota_us'), `${quota}\n`);
    }
    write(join(cgroup, 'cgroup.procs'), `${pid}\n`);
  } catch (error) {
    removeCgroup(cgroup);
    throw error;
  }
  return { cgroup, previous, hierarchy };
}

/** Moves `pid` back to `previous` (when it still runs) and removes `cgroup`; returns errors as text. */
export function unthrottleCpu(pid: number | undefined, cgroup: string, previous: string): string[] {
  const errors: string[] = [];
  if (pid !== undefined) {
    try {
      write(join(previous, 'cgroup.procs'), `${pid}\n`);
    } catch (error) {
      errors.push((error as Error).message);
    }
  }
  const left = removeCgroup(cgroup);
  if (left !== undefined) errors.push(left);
  return errors;
}

/** rmdir of a cgroup; the kernel may take a moment to let go of an exited task, so it retries briefly. */
function removeCgroup(cgroup: string): string | undefined {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  let last = '';
  for (let attempt = 0; attempt < 40; attempt++) {
    try {
      rmdirSync(cgroup);
      return undefined;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      last = (error as Error).message;
      Atomics.wait(cell, 0, 0, 50);
    }
  }
  return `cannot remove cgroup ${cgroup}: ${last}`;
}
