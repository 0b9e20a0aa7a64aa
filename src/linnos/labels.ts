/**
 * Fast/slow labels for reads: a latency threshold at the inflection point of the latency CDF (the tangent
 * method of the LinnOS authors' later code), refined as the LinnOS paper describes by simulating revocation
 * and failover, or a fixed percentile (the LinnOS artifact used p85). A read is slow iff its latency is
 * strictly above the threshold.
 */
import { LakeError } from '../errors.js';
import { Random } from '../random.js';

export type ThresholdMethod = 'tangent' | 'refined' | 'fixed';

export interface LatencyThreshold {
  /** Reads with latency > thresholdUs are slow. */
  thresholdUs: number;
  /** Percentile of the latency distribution the threshold sits at (0-100). */
  percentile: number;
  method: ThresholdMethod;
}

/** Points of the ECDF the tangent method samples (numpy.linspace(0, 1, 10000)). */
export const TANGENT_POINTS = 10000;
/** The tangent method ignores latencies above this percentile (the tail would flatten the curve). */
export const TANGENT_KEEP_PERCENTILE = 97;

/** Finite latencies, sorted ascending. */
function sortedFinite(latencies: ArrayLike<number>, what: string): Float64Array {
  let n = 0;
  for (let i = 0; i < latencies.length; i++) if (Number.isFinite(latencies[i]!)) n++;
  if (n === 0) throw new LakeError('LAKE_E_USAGE', `${what}: no finite latencies`);
  const sorted = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < latencies.length; i++) {
    const v = latencies[i]!;
    if (Number.isFinite(v)) sorted[k++] = v;
  }
  return sorted.sort();
}

/** numpy.percentile's default (linear interpolation between closest ranks) on a sorted array; p in 0..100. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = ((n - 1) * Math.min(100, Math.max(0, p))) / 100;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo]!;
  return a + (sorted[hi]! - a) * (pos - lo);
}

/** Number of elements <= value in a sorted array. */
function countAtMost(sorted: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The tangent method, exactly as the authors' `tangent_based`: drop non-finite values, keep latencies <= p97,
 * divide by their max, take the ECDF y on x = linspace(0, 1, 10000) and idx = argmax(y - x) (the first
 * point where the CDF's slope falls to 45 degrees); threshold = trunc(x[idx] * max) us,
 * percentile = y[idx] * 0.97 * 100.
 */
export function inflectionPoint(latencies: ArrayLike<number>): LatencyThreshold {
  const sorted = sortedFinite(latencies, 'inflectionPoint');
  const p97 = percentileOfSorted(sorted, TANGENT_KEEP_PERCENTILE);
  const m = countAtMost(sorted, p97);
  const max = sorted[m - 1]!;
  if (!(max > 0)) {
    // Every kept latency is 0 (or below): the CDF is a step at 0.
    return { thresholdUs: 0, percentile: 0.97 * 100, method: 'tangent' };
  }
  const step = 1 / (TANGENT_POINTS - 1);
  let best = Number.NEGATIVE_INFINITY;
  let bestX = 0;
  let bestY = 0;
  let below = 0; // kept values with value / max <= x
  for (let k = 0; k < TANGENT_POINTS; k++) {
    const x = k === TANGENT_POINTS - 1 ? 1 : k * step;
    while (below < m && sorted[below]! / max <= x) below++;
    const y = below / m;
    if (y - x > best) {
      best = y - x;
      bestX = x;
      bestY = y;
    }
  }
  return { thresholdUs: Math.trunc(bestX * max), percentile: bestY * 0.97 * 100, method: 'tangent' };
}

/** The threshold at a fixed percentile p (0-100) of the latencies (linear interpolation, as numpy). */
export function fixedPercentileThreshold(latencies: ArrayLike<number>, p: number): LatencyThreshold {
  if (!(p >= 0 && p <= 100)) throw new LakeError('LAKE_E_USAGE', `percentile must be in 0..100, got ${p}`);
  const sorted = sortedFinite(latencies, 'fixedPercentileThreshold');
  return { thresholdUs: percentileOfSorted(sorted, p), percentile: p, method: 'fixed' };
}

/** 1 = slow (latency > thresholdUs), 0 = fast. */
export function labelByThreshold(latencyUs: ArrayLike<number>, thresholdUs: number): Uint8Array {
  const labels = new Uint8Array(latencyUs.length);
  for (let i = 0; i < labels.length; i++) labels[i] = latencyUs[i]! > thresholdUs ? 1 : 0;
  return labels;
}

export interface RefineOptions {
  /** Read latencies of every replica, by device (the refined device's own included). */
  latenciesByDevice: readonly ArrayLike<number>[];
  /** The device whose threshold is refined (index into latenciesByDevice). */
  device: number;
  /** Where to start, e.g. the tangent method's result. */
  start: Pick<LatencyThreshold, 'thresholdUs' | 'percentile'>;
  /** Time a revoke and re-issue costs, us, added per failover (default 5, the array engine's default). */
  revokeCostUs?: number;
  /** Percentile step (default 0.1). */
  stepPercentile?: number;
  /** Search start.percentile * (1 +/- rangeFraction) (default 0.1, the paper's +/-10%). */
  rangeFraction?: number;
  /** Seed of the failover draws (default 1). */
  seed?: number;
  /**
   * Replicas in the array when latenciesByDevice holds only the refined device (default 3): the other
   * replicas are then taken to be independent copies of its latency distribution (LinnOS's premise: two
   * replicas are rarely busy at once). Ignored when other devices' latencies are given.
   */
  replicas?: number;
}

export interface RefinedThreshold extends LatencyThreshold {
  /** Mean read latency of the device without revocation, us. */
  baselineMeanUs: number;
  /** Simulated mean with the start threshold, us. */
  startMeanUs: number;
  /** Simulated mean with the chosen threshold, us (the smallest found). */
  meanUs: number;
  /** Thresholds tried. */
  candidates: number;
}

/**
 * The LinnOS paper's refinement. For each candidate percentile p (start +/- 0.1 steps within +/-10% of the
 * start percentile; the start itself keeps its given threshold, the others take the device's own latency
 * percentile p), simulate revoking every read of the device above the threshold and failing it over to a
 * random other replica: the read then takes the latency of a random read of that replica plus the revoke
 * cost. Modelling choice: if that latency is above the threshold too, the read fails over again to a random
 * replica not yet tried, paying another revoke cost; the last replica is always accepted (as the array never
 * revokes the last try). With only the device's own latencies given, the other replicas are independent copies
 * of its distribution (`replicas`, default 3). The threshold whose simulated latency CDF has the largest
 * area beneath it wins.
 * Over a common x-range [0, X] covering every latency, the area under an ECDF is X - mean, so the largest
 * area is the smallest mean latency; that is what is compared. Ties keep the candidate nearest the start
 * (the lower percentile first).
 *
 * Every candidate sees the same random failover draws (common random numbers, drawn once from a seeded
 * Random in read order), so candidates differ only by their threshold. Deterministic for a given seed.
 */
export function refineThreshold(options: RefineOptions): RefinedThreshold {
  const { latenciesByDevice, device, start } = options;
  const revokeCostUs = options.revokeCostUs ?? 5;
  const step = options.stepPercentile ?? 0.1;
  const rangeFraction = options.rangeFraction ?? 0.1;
  const own = latenciesByDevice[device];
  if (own === undefined) {
    throw new LakeError('LAKE_E_USAGE', `refineThreshold: no latencies for device ${device}`);
  }
  if (!(step > 0)) throw new LakeError('LAKE_E_USAGE', 'refineThreshold: stepPercentile must be > 0');
  if (!(rangeFraction >= 0))
    throw new LakeError('LAKE_E_USAGE', 'refineThreshold: rangeFraction must be >= 0');
  const sortedOwn = sortedFinite(own, 'refineThreshold');
  const others: Float64Array[] = [];
  for (let d = 0; d < latenciesByDevice.length; d++) {
    if (d === device) continue;
    const l = latenciesByDevice[d]!;
    if (l.length > 0) others.push(sortedFinite(l, `refineThreshold device ${d}`));
  }
  if (others.length === 0) {
    const replicas = options.replicas ?? 3;
    if (!(Number.isInteger(replicas) && replicas >= 1)) {
      throw new LakeError('LAKE_E_USAGE', 'refineThreshold: replicas must be an integer >= 1');
    }
    for (let r = 1; r < replicas; r++) others.push(sortedOwn);
  }

  // Candidates, nearest the start first.
  const candidates: { percentile: number; thresholdUs: number }[] = [
    { percentile: start.percentile, thresholdUs: start.thresholdUs },
  ];
  const steps = Math.floor((rangeFraction * start.percentile) / step + 1e-9);
  for (let k = 1; k <= steps; k++) {
    for (const sign of [-1, 1]) {
      const p = start.percentile + sign * k * step;
      if (p < 0 || p > 100) continue;
      candidates.push({ percentile: p, thresholdUs: percentileOfSorted(sortedOwn, p) });
    }
  }

  let baselineSum = 0;
  for (let i = 0; i < sortedOwn.length; i++) baselineSum += sortedOwn[i]!;
  const n = sortedOwn.length;
  const baselineMeanUs = baselineSum / n;
  if (others.length === 0) {
    // Nowhere to fail over to: revocation cannot help; keep the start.
    return {
      thresholdUs: start.thresholdUs,
      percentile: start.percentile,
      method: 'refined',
      baselineMeanUs,
      startMeanUs: baselineMeanUs,
      meanUs: baselineMeanUs,
      candidates: candidates.length,
    };
  }

  // Draw every failover chain once: reads above the lowest candidate threshold get, per hop, a replica
  // (a random permutation of the others) and a random read latency of it.
  let lowest = Number.POSITIVE_INFINITY;
  for (const c of candidates) lowest = Math.min(lowest, c.thresholdUs);
  const hops = others.length;
  const first = countAtMost(sortedOwn, lowest); // reads sortedOwn[first..] may be revoked
  const revocable = n - first;
  const drawn = new Float64Array(revocable * hops);
  const random = new Random(options.seed ?? 1);
  const order = new Int32Array(hops);
  // The draws are i.i.d., so attaching them to reads in sorted order (not arrival order) changes nothing.
  for (let r = 0; r < revocable; r++) {
    for (let h = 0; h < hops; h++) order[h] = h;
    for (let h = 0; h < hops; h++) {
      const pick = h + random.int(hops - h);
      const replica = order[pick]!;
      order[pick] = order[h]!;
      order[h] = replica;
      const samples = others[replica]!;
      drawn[r * hops + h] = samples[random.int(samples.length)]!;
    }
  }

  let prefix = 0; // sum of sortedOwn[0..first)
  for (let i = 0; i < first; i++) prefix += sortedOwn[i]!;
  const simulate = (thresholdUs: number): number => {
    let sum = prefix;
    for (let r = 0; r < revocable; r++) {
      const l = sortedOwn[first + r]!;
      if (l <= thresholdUs) {
        sum += l;
        continue;
      }
      let cost = 0;
      for (let h = 0; h < hops; h++) {
        cost += revokeCostUs;
        const v = drawn[r * hops + h]!;
        if (v <= thresholdUs || h === hops - 1) {
          sum += cost + v;
          break;
        }
      }
    }
    return sum / n;
  };

  let best = candidates[0]!;
  const startMeanUs = simulate(best.thresholdUs);
  let bestMean = startMeanUs;
  for (let k = 1; k < candidates.length; k++) {
    const c = candidates[k]!;
    const mean = simulate(c.thresholdUs);
    if (mean < bestMean) {
      bestMean = mean;
      best = c;
    }
  }
  return {
    thresholdUs: best.thresholdUs,
    percentile: best.percentile,
    method: 'refined',
    baselineMeanUs,
    startMeanUs,
    meanUs: bestMean,
    candidates: candidates.length,
  };
}
