/**
 * The kernel's own account of a block device's I/O (/proc/diskstats), as an independent measure beside
 * lake's: reads and writes completed and the milliseconds spent on them, from which the mean time the
 * block layer held each request follows. It counts every I/O on the device, the machine's other work too.
 */
import { readFileSync } from 'node:fs';
import type { BackingDevice } from './device.js';

export interface DiskCounters {
  name: string;
  reads: number;
  readMs: number;
  writes: number;
  writeMs: number;
}

export interface DiskDelta {
  name: string;
  reads: number;
  writes: number;
  /** Mean time per read in the block layer (ms spent reading / reads completed), us. */
  readMeanUs: number;
  writeMeanUs: number;
}

/** Counters of every device in /proc/diskstats by "major:minor"; empty where there is no procfs. */
export function readDiskstats(): Map<string, DiskCounters> {
  const out = new Map<string, DiskCounters>();
  let text: string;
  try {
    text = readFileSync('/proc/diskstats', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 11) continue;
    // major minor name reads merged sectors ms-reading writes merged sectors ms-writing ...
    out.set(`${f[0]}:${f[1]}`, {
      name: f[2]!,
      reads: Number(f[3]),
      readMs: Number(f[6]),
      writes: Number(f[7]),
      writeMs: Number(f[10]),
    });
  }
  return out;
}

/** What the kernel counted on `device` between two snapshots. */
export function diskDelta(
  before: Map<string, DiskCounters>,
  after: Map<string, DiskCounters>,
  device: BackingDevice,
): DiskDelta | undefined {
  const key = `${device.major}:${device.minor}`;
  const a = before.get(key);
  const b = after.get(key);
  if (a === undefined || b === undefined) return undefined;
  const reads = b.reads - a.reads;
  const writes = b.writes - a.writes;
  return {
    name: b.name,
    reads,
    writes,
    readMeanUs: reads > 0 ? ((b.readMs - a.readMs) * 1000) / reads : 0,
    writeMeanUs: writes > 0 ? ((b.writeMs - a.writeMs) * 1000) / writes : 0,
  };
}
