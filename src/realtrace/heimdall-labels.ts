/**
 * Heimdall's period labels and three-stage noise filter, as its tail_analyzer.py computes them (REFERENCE.md,
 * Heimdall): over every I/O (reads and writes) in submit order,
 * - throughput = round(size / latency) (bytes per us, numpy's round-half-even);
 * - knees by the tangent method of latency and of throughput, and the medians of both;
 * - a slow period starts at an I/O with NOT (throughput > throughput knee OR latency < latency knee) and
 *   round(prev throughput / (throughput + 0.1), 1) >= 1.7 (prev = the I/O before; 0 for the first);
 *   it goes on until an I/O whose own and next two throughputs are all >= the median (missing ones count
 *   0); that I/O is not in the period and is not examined as a start (the script's loop steps over it);
 * - noise filter: (1) I/Os in a period with latency <= median and throughput >= median, (2) I/Os outside
 *   one with latency > latency knee and throughput < median, then, among the I/Os left, (3) periods of 3
 *   I/Os or fewer (a period still open at the end is kept) — all three are dropped from the data set.
 * Heimdall labels every read in a period slow ("reject"); writes are never rejected.
 *
 * One deviation: a latency of 0 us counts as 1 us in the throughput (the script would divide by zero).
 */
import { LakeError } from '../errors.js';
import { inflectionPoint, percentileOfSorted } from '../linnos/labels.js';
import type { IoTable } from './io-table.js';

/** Heimdall's N_HISTORY / N_FUTURE and THPT_DROP_RATE. */
export const PERIOD_LOOKAHEAD = 3;
export const SHORT_PERIOD = 3;
export const THROUGHPUT_DROP_RATE = 1.7;

export interface HeimdallThresholds {
  /** Tangent-method knee of the latency CDF, us (I/Os at or above it may start a slow period). */
  latencyKneeUs: number;
  latencyKneePercentile: number;
  /** Tangent-method knee of the throughput CDF, bytes/us. */
  throughputKnee: number;
  throughputKneePercentile: number;
  medianLatencyUs: number;
  medianThroughput: number;
}

export const OUTLIER_NONE = 0;
/** A fast I/O inside a slow period. */
export const OUTLIER_FAST_IN_SLOW = 1;
/** A slow I/O outside any slow period. */
export const OUTLIER_SLOW_IN_FAST = 2;
/** An I/O of a slow period of 3 I/Os or fewer. */
export const OUTLIER_SHORT_PERIOD = 3;

export interface PeriodLabels {
  /** Per I/O of the table: 1 = in a slow period (positions outside the labelled range are 0). */
  tail: Uint8Array;
  /** Per I/O: OUTLIER_* (the noise filter drops every I/O with a non-zero code). */
  outlier: Uint8Array;
  thresholds: HeimdallThresholds;
  /** First and one-past-last I/O labelled. */
  from: number;
  to: number;
}

/** numpy's round (half to even). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Heimdall's per-I/O throughput, bytes per us, rounded. */
export function throughputOf(size: number, latencyUs: number): number {
  return roundHalfEven(size / Math.max(1, latencyUs));
}

/** Knees and medians over the I/Os [from, to) (reads and writes, as the script does). */
export function heimdallThresholds(table: IoTable, from = 0, to = table.count): HeimdallThresholds {
  checkRange(table, from, to);
  const lat = table.latencyUs.slice(from, to);
  const thpt = new Float64Array(to - from);
  for (let i = from; i < to; i++) thpt[i - from] = throughputOf(table.size[i]!, table.latencyUs[i]!);
  const latKnee = inflectionPoint(lat);
  const thptKnee = inflectionPoint(thpt);
  return {
    latencyKneeUs: latKnee.thresholdUs,
    latencyKneePercentile: latKnee.percentile,
    throughputKnee: thptKnee.thresholdUs,
    throughputKneePercentile: thptKnee.percentile,
    medianLatencyUs: percentileOfSorted(lat.sort(), 50),
    medianThroughput: percentileOfSorted(thpt.sort(), 50),
  };
}

function checkRange(table: IoTable, from: number, to: number): void {
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to && to <= table.count)) {
    throw new LakeError('LAKE_E_USAGE', `period labels: bad I/O range [${from}, ${to}) of ${table.count}`);
  }
}

/**
 * Period labels and noise-filter codes of the I/Os [from, to), with the thresholds given (e.g. a training
 * part's) or computed over that range.
 */
export function heimdallPeriodLabels(
  table: IoTable,
  from = 0,
  to = table.count,
  thresholds: HeimdallThresholds = heimdallThresholds(table, from, to),
): PeriodLabels {
  checkRange(table, from, to);
  const n = to - from;
  const lat = table.latencyUs.subarray(from, to);
  const thpt = new Float64Array(n);
  for (let i = 0; i < n; i++) thpt[i] = throughputOf(table.size[from + i]!, lat[i]!);
  const { latencyKneeUs, throughputKnee, medianLatencyUs, medianThroughput } = thresholds;

  const start = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const prev = i === 0 ? 0 : thpt[i - 1]!;
    const drop = roundHalfEven((prev / (thpt[i]! + 0.1)) * 10) / 10;
    const clearlyFast = thpt[i]! > throughputKnee || lat[i]! < latencyKneeUs;
    start[i] = !clearlyFast && drop >= THROUGHPUT_DROP_RATE ? 1 : 0;
  }
  const recovered = (i: number): boolean => {
    for (let k = 0; k < PERIOD_LOOKAHEAD; k++) {
      const v = i + k < n ? thpt[i + k]! : 0;
      if (!(v >= medianThroughput)) return false;
    }
    return true;
  };
  const tail = new Uint8Array(n);
  const last = n - 1;
  let idx = 0;
  while (idx <= last) {
    if (start[idx] === 1) {
      tail[idx] = 1;
      while (idx < last) {
        idx++;
        if (recovered(idx)) break;
        tail[idx] = 1;
      }
    }
    idx++;
  }

  // Stages 1 and 2, on the marks.
  const outlier = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (tail[i] === 1) {
      if (lat[i]! <= medianLatencyUs && thpt[i]! >= medianThroughput) outlier[i] = OUTLIER_FAST_IN_SLOW;
    } else if (lat[i]! > latencyKneeUs && thpt[i]! < medianThroughput) {
      outlier[i] = OUTLIER_SLOW_IN_FAST;
    }
  }
  // Stage 3, among the I/Os the first two stages kept.
  const kept: number[] = [];
  for (let i = 0; i < n; i++) if (outlier[i] === OUTLIER_NONE) kept.push(i);
  const keptLast = kept.length - 1;
  idx = 0;
  while (idx <= keptLast) {
    if (tail[kept[idx]!] === 1) {
      let run = 1;
      while (idx < keptLast) {
        idx++;
        if (tail[kept[idx]!] !== 1) {
          if (run <= SHORT_PERIOD) {
            for (let k = 1; k <= run; k++) outlier[kept[idx - k]!] = OUTLIER_SHORT_PERIOD;
          }
          break;
        }
        run++;
      }
    }
    idx++;
  }

  const fullTail = new Uint8Array(table.count);
  const fullOutlier = new Uint8Array(table.count);
  fullTail.set(tail, from);
  fullOutlier.set(outlier, from);
  return { tail: fullTail, outlier: fullOutlier, thresholds, from, to };
}
