/**
 * Percentiles over a stream in bounded memory. Trace values repeat heavily (sizes are a handful of
 * multiples of 4 KiB, latencies whole microseconds), so a count per distinct value gives exact
 * percentiles in little space. Past `maxDistinct` distinct values the counts move into an HdrHistogram
 * (3 significant digits, i.e. within 0.1%) and the result says `exact: false`.
 */
import { build, type Histogram } from 'hdr-histogram-js';

export const DEFAULT_MAX_DISTINCT = 1 << 16;

/** The percentiles trace statistics report (nearest-rank: the smallest value with at least p% at or below it). */
export interface Distribution {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
  /** false once the distinct values outgrew the exact counter and an HdrHistogram took over. */
  exact: boolean;
}

const PERCENTILES = [50, 90, 95, 99, 99.9] as const;

export class ValueCounter {
  readonly #maxDistinct: number;
  /** Values are recorded in the histogram as round(value * unitsPerValue). */
  readonly #unitsPerValue: number;
  #counts: Map<number, number> | undefined = new Map();
  #histogram: Histogram | undefined;
  #count = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;

  /**
   * `unitsPerValue` sets the histogram's resolution should it take over (1000 for microsecond latencies
   * keeps nanoseconds); values must be >= 0.
   */
  constructor(options: { maxDistinct?: number; unitsPerValue?: number } = {}) {
    this.#maxDistinct = options.maxDistinct ?? DEFAULT_MAX_DISTINCT;
    this.#unitsPerValue = options.unitsPerValue ?? 1;
  }

  get count(): number {
    return this.#count;
  }

  add(value: number): void {
    this.#count++;
    this.#sum += value;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
    const counts = this.#counts;
    if (counts !== undefined) {
      counts.set(value, (counts.get(value) ?? 0) + 1);
      if (counts.size > this.#maxDistinct) this.#spill(counts);
    } else {
      this.#histogram!.recordValue(Math.round(value * this.#unitsPerValue));
    }
  }

  #spill(counts: Map<number, number>): void {
    const histogram = build({ numberOfSignificantValueDigits: 3 });
    for (const [value, n] of counts)
      histogram.recordValueWithCount(Math.round(value * this.#unitsPerValue), n);
    this.#histogram = histogram;
    this.#counts = undefined;
  }

  /** The distribution so far, or null when nothing was added. */
  summary(): Distribution | null {
    const n = this.#count;
    if (n === 0) return null;
    const values: number[] = [];
    if (this.#counts !== undefined) {
      const sorted = [...this.#counts.entries()].sort((a, b) => a[0] - b[0]);
      let p = 0;
      let cumulative = 0;
      for (const [value, count] of sorted) {
        cumulative += count;
        while (p < PERCENTILES.length && cumulative >= rank(PERCENTILES[p]!, n)) {
          values.push(value);
          p++;
        }
      }
    } else {
      for (const p of PERCENTILES) {
        const v = this.#histogram!.getValueAtPercentile(p) / this.#unitsPerValue;
        values.push(Math.min(this.#max, Math.max(this.#min, v)));
      }
    }
    return {
      count: n,
      min: this.#min,
      mean: this.#sum / n,
      p50: values[0]!,
      p90: values[1]!,
      p95: values[2]!,
      p99: values[3]!,
      p999: values[4]!,
      max: this.#max,
      exact: this.#counts !== undefined,
    };
  }
}

/** Nearest rank of percentile p (one decimal at most) among n values, 1-based; integer arithmetic keeps it exact. */
function rank(p: number, n: number): number {
  return Math.max(1, Math.ceil((Math.round(p * 10) * n) / 1000));
}
