import { Random } from '../../src/random.js';

/**
 * Seeded read latencies in us shaped like flash: a lognormal body around `medianUs`, and with probability
 * `tailProbability` a Pareto (alpha 1.5) multiple of it: the heavy tail of GC and queueing stalls.
 */
export function flashLatencies(
  seed: number,
  count: number,
  medianUs = 100,
  tailProbability = 0.02,
): number[] {
  const random = new Random(seed);
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    let latency = random.lognormal(Math.log(medianUs), 0.5);
    if (random.next() < tailProbability) latency *= Math.exp(random.exponential(1) / 1.5) * 10;
    latencies.push(latency);
  }
  return latencies;
}

/** The exact percentile HdrHistogram approximates: the value at rank ceil(p/100 * n) (1-based) in sorted order. */
export function exactPercentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil(Number(((p / 100) * sorted.length).toPrecision(12))));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** Number of values <= x in an ascending array (binary search). */
export function countAtOrBelow(sorted: number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
