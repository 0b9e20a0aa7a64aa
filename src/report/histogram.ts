import { build, JsHistogram } from 'hdr-histogram-js';
import { LakeError, usageError } from '../errors.js';
import type { CdfPoint, LatencySummary } from './types.js';

/**
 * Latencies are recorded as integer nanoseconds: HdrHistogram needs integers, and simulated latencies
 * (and inference costs) are fractions of a microsecond, so 1 ns keeps sub-microsecond resolution. With 3
 * significant digits every bucket is at most 1/1024 of its value wide (values below 2,048 ns are exact),
 * so a reported percentile is within 0.1% (+0.5 ns rounding) of the true one.
 */
const NS_PER_US = 1000;
/** 10 s in ns: the range allocated up front (~24 K int32 counters, ~100 KB); larger values resize it. */
const INITIAL_HIGHEST_NS = 10_000_000_000;
const SIGNIFICANT_DIGITS = 3;
const DEFAULT_CDF_POINTS = 400;

/**
 * Latency distribution of one population of I/Os: HdrHistogram (plain JS, int32 counts) for percentiles,
 * plus an exact count, running sum and min/max kept beside it (the histogram's own mean and max are
 * bucket approximations).
 */
export class LatencyRecorder {
  readonly #histogram: JsHistogram;
  // The histogram's index layout, copied out for the inlined index computation in record().
  readonly #subBucketHalfCountMagnitude: number;
  readonly #unitMagnitude: number;
  #countsArrayLength: number;
  #count = 0;
  #sumUs = 0;
  #minUs = Number.POSITIVE_INFINITY;
  #maxUs = 0;

  constructor() {
    const histogram = build({
      bitBucketSize: 32,
      autoResize: true,
      lowestDiscernibleValue: 1,
      highestTrackableValue: INITIAL_HIGHEST_NS,
      numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
      useWebAssembly: false,
    });
    // build() is typed as the Histogram interface; without WebAssembly it returns a JsHistogram, whose
    // counts array the CDF walks.
    if (!(histogram instanceof JsHistogram)) {
      throw new LakeError('LAKE_E_INTERNAL', 'hdr-histogram-js build() did not return a JS histogram');
    }
    this.#histogram = histogram;
    this.#subBucketHalfCountMagnitude = histogram.subBucketHalfCountMagnitude;
    this.#unitMagnitude = histogram.unitMagnitude;
    this.#countsArrayLength = histogram.countsArrayLength;
  }

  /** Records one latency in microseconds (finite, >= 0). Called once per simulated I/O. */
  record(latencyUs: number): void {
    if (!(latencyUs >= 0 && latencyUs < Number.POSITIVE_INFINITY)) {
      throw usageError(`latency must be a finite number >= 0 us, got ${latencyUs}`);
    }
    this.#count++;
    this.#sumUs += latencyUs;
    if (latencyUs > this.#maxUs) this.#maxUs = latencyUs;
    if (latencyUs < this.#minUs) this.#minUs = latencyUs;
    const ns = Math.round(latencyUs * NS_PER_US);
    const h = this.#histogram;
    // hdr-histogram-js finds a value's counter with Math.log2 and Math.pow (~150 ns per value); below
    // 2^32 ns (4.3 s) the same index comes from clz32 and shifts. Other values, and values beyond the
    // allocated range (which resize it), take the library's own path.
    if (ns < 4294967296) {
      const index = countsIndex(ns, this.#subBucketHalfCountMagnitude, this.#unitMagnitude);
      if (index < this.#countsArrayLength) {
        h.incrementCountAtIndex(index);
        h.updateMinAndMax(ns);
        h.incrementTotalCount();
        return;
      }
    }
    h.recordValue(ns);
    this.#countsArrayLength = h.countsArrayLength;
  }

  /** Number of latencies recorded. */
  get count(): number {
    return this.#count;
  }

  /** Exact smallest latency recorded (0 when empty). */
  get minUs(): number {
    return this.#count === 0 ? 0 : this.#minUs;
  }

  /** Exact largest latency recorded (0 when empty). */
  get maxUs(): number {
    return this.#maxUs;
  }

  /** Exact mean latency (0 when empty). */
  get avgUs(): number {
    return this.#count === 0 ? 0 : this.#sumUs / this.#count;
  }

  /**
   * The latency that `p` percent of recorded I/Os are at or below (p in [0, 100]): HdrHistogram's value
   * at rank ceil(p/100 * count), reported as the top of its bucket but never above the exact max.
   */
  percentileUs(p: number): number {
    if (!(p >= 0 && p <= 100)) throw usageError(`percentile must be in [0, 100], got ${p}`);
    if (this.#count === 0) return 0;
    return Math.min(this.#histogram.getValueAtPercentile(p) / NS_PER_US, this.#maxUs);
  }

  /** Count, exact mean and max, and the percentiles the report prints; all zeros when empty. */
  summary(): LatencySummary {
    return {
      count: this.#count,
      avgUs: this.avgUs,
      p50Us: this.percentileUs(50),
      p90Us: this.percentileUs(90),
      p95Us: this.percentileUs(95),
      p99Us: this.percentileUs(99),
      p999Us: this.percentileUs(99.9),
      p9999Us: this.percentileUs(99.99),
      maxUs: this.#maxUs,
    };
  }

  /**
   * The empirical CDF at histogram-bucket resolution, thinned to at most `maxPoints` points for plotting.
   * A point is kept when it moves far enough along any of the three axes a reader uses: log latency (CDF on
   * a log x axis), the fraction itself (linear y), or log(1 - fraction) (the CCDF that shows the tail), so
   * both the body and the p99.99 tail keep their shape. The first and last steps are always kept; the last
   * point is (max, 1). Empty recorder: no points.
   */
  cdf(maxPoints: number = DEFAULT_CDF_POINTS): CdfPoint[] {
    if (!(Number.isInteger(maxPoints) && maxPoints >= 2)) {
      throw usageError(`cdf maxPoints must be an integer >= 2, got ${maxPoints}`);
    }
    const steps = this.#steps();
    if (steps.length <= maxPoints) return steps;
    const first = steps[0]!;
    const last = steps[steps.length - 1]!;
    // Spans of the three axes, so one relative step size applies to all of them.
    const logSpanX = Math.log10(Math.max(last.latencyUs, 1e-3)) - Math.log10(Math.max(first.latencyUs, 1e-3));
    const secondLast = steps[steps.length - 2]!;
    const logSpanTail = -Math.log10(1 - secondLast.fraction) || 1;
    let step = 1 / maxPoints;
    for (;;) {
      const kept = thin(steps, step * (logSpanX || 1), step, step * logSpanTail);
      if (kept.length <= maxPoints) return kept;
      step *= 1.25;
    }
  }

  /** Adds everything `other` recorded into this recorder (other is unchanged). */
  merge(other: LatencyRecorder): void {
    if (other.#count === 0) return;
    this.#histogram.add(other.#histogram);
    this.#count += other.#count;
    this.#sumUs += other.#sumUs;
    if (other.#maxUs > this.#maxUs) this.#maxUs = other.#maxUs;
    if (other.#minUs < this.#minUs) this.#minUs = other.#minUs;
  }

  /** Forgets everything recorded. */
  reset(): void {
    this.#histogram.reset();
    this.#count = 0;
    this.#sumUs = 0;
    this.#minUs = Number.POSITIVE_INFINITY;
    this.#maxUs = 0;
  }

  /** One point per non-empty bucket: (top of bucket clamped to the exact max, cumulative fraction). */
  #steps(): CdfPoint[] {
    const h = this.#histogram;
    const total = h.totalCount;
    const points: CdfPoint[] = [];
    if (total === 0) return points;
    const lastIndex = Math.min(h.countsArrayIndex(h.maxValue), h.countsArrayLength - 1);
    let cumulative = 0;
    for (let i = 0; i <= lastIndex; i++) {
      const count = h.getCountAtIndex(i);
      if (count === 0) continue;
      cumulative += count;
      const topNs = h.highestEquivalentValue(h.valueFromIndex(i));
      points.push({
        latencyUs: Math.min(topNs / NS_PER_US, this.#maxUs),
        fraction: cumulative === total ? 1 : cumulative / total,
      });
    }
    return points;
  }
}

/**
 * HdrHistogram's counts-array index of integer value v < 2^32 (JsHistogram.countsArrayIndex without floating
 * point): bucket = max(floor(log2 v) - subBucketHalfCountMagnitude - unitMagnitude, 0), sub-bucket =
 * v >> (bucket + unitMagnitude), index = bucket * subBucketHalfCount + sub-bucket.
 */
export function countsIndex(v: number, subBucketHalfCountMagnitude: number, unitMagnitude: number): number {
  const floorLog2 = 31 - Math.clz32(v);
  let bucket = floorLog2 - subBucketHalfCountMagnitude - unitMagnitude;
  if (bucket < 0) bucket = 0;
  return (bucket << subBucketHalfCountMagnitude) + (v >>> (bucket + unitMagnitude));
}

/** Keeps the first and last points and every point that moved >= one of the step sizes since the last kept. */
function thin(steps: CdfPoint[], stepLogX: number, stepFraction: number, stepLogTail: number): CdfPoint[] {
  const kept: CdfPoint[] = [steps[0]!];
  let lastLogX = Math.log10(Math.max(steps[0]!.latencyUs, 1e-3));
  let lastFraction = steps[0]!.fraction;
  let lastLogTail = Math.log10(1 - lastFraction);
  for (let i = 1; i < steps.length - 1; i++) {
    const point = steps[i]!;
    const logX = Math.log10(Math.max(point.latencyUs, 1e-3));
    const logTail = Math.log10(1 - point.fraction);
    if (
      logX - lastLogX >= stepLogX ||
      point.fraction - lastFraction >= stepFraction ||
      lastLogTail - logTail >= stepLogTail
    ) {
      kept.push(point);
      lastLogX = logX;
      lastFraction = point.fraction;
      lastLogTail = logTail;
    }
  }
  kept.push(steps[steps.length - 1]!);
  return kept;
}
