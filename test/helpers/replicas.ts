/** A small replicated workload on simulated SSDs, for tests that replay it under several policies. */
import type { Device } from '../../src/flash/types.js';
import type { TraceRecord } from '../../src/trace/types.js';
import { randomOps, smallDevice } from '../flash/small.js';

export const REPLICAS = 3;

/** Reads and writes (40% reads, 40 us apart on average) spread over three small SSDs, busy enough for GC tails. */
export function replicatedWorkload(count = 6000, seed = 11): TraceRecord[] {
  return randomOps(smallDevice(), count, seed, 0.4, 40).map((op, i) => ({
    arrivalMs: op.atUs / 1000,
    device: i % REPLICAS,
    offset: op.offset,
    size: op.size,
    read: op.read,
  }));
}

/** Three fresh, identical, aged small SSDs. */
export function agedReplicas(): Device[] {
  return Array.from({ length: REPLICAS }, () =>
    smallDevice({ precondition: { fill: 1, randomOverwrites: 1 } }),
  );
}

/** The value p percent of `values` are at or below (nearest rank), computed without a histogram. */
export function nearestRank(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
