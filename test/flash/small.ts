/** Small device geometries and workload drivers shared by the flash tests. */
import { createFlashDevice, type FlashOptions, type SimulatedSsd } from '../../src/flash/index.js';
import { Random } from '../../src/random.js';

/**
 * 4 LUNs x 32 blocks x 16 pages x 4 KiB = 8 MiB raw; 25% over-provisioning leaves 8 spare blocks per
 * LUN: background GC below 4 free blocks, foreground below 2.
 */
export const smallGeometry: FlashOptions = {
  channels: 2,
  lunsPerChannel: 2,
  blocksPerLun: 32,
  pagesPerBlock: 16,
  overProvisioning: 0.25,
  gcThreshold: 0.1,
  gcForegroundThreshold: 0.02,
  bufferBytes: 16 * 4096,
  precondition: false,
};

export function smallDevice(options: FlashOptions = {}): SimulatedSsd {
  return createFlashDevice({ ...smallGeometry, ...options });
}

export interface Op {
  read: boolean;
  offset: number;
  size: number;
  atUs: number;
}

/** Random 4 KiB-aligned I/Os of 1-4 pages over the device, `gapUs` apart on average. */
export function randomOps(
  device: SimulatedSsd,
  count: number,
  seed: number,
  readShare = 0.3,
  gapUs = 100,
): Op[] {
  const random = new Random(seed);
  const pages = device.capacityBytes / 4096;
  const ops: Op[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    at += random.exponential(gapUs);
    ops.push({
      read: random.next() < readShare,
      offset: random.int(pages) * 4096,
      size: (1 + random.int(4)) * 4096,
      atUs: at,
    });
  }
  return ops;
}

/** Submit every op; returns the results flattened as [completeUs, cause, ...] for comparison. */
export function run(device: SimulatedSsd, ops: readonly Op[]): Array<number | string> {
  const out: Array<number | string> = [];
  for (const op of ops) {
    const r = device.submit(op.read, op.offset, op.size, op.atUs);
    out.push(r.completeUs, r.cause);
  }
  return out;
}
