/**
 * NVML's utilisation samples as a time series. The driver stamps each sample with the CPU time (us since the
 * epoch) at which it took it, and its value is the share of the time since the driver's previous sample
 * that the GPU (or one process) was busy; so a sample covers the interval that ends at its stamp. A window's
 * utilisation is the time-weighted mean of the samples over it.
 */

/** NVML's documented sample period is 1/6 s to 1 s by product (nvml.h, nvmlUtilization_t): the shortest. */
export const DEFAULT_SAMPLE_INTERVAL_US = 1_000_000 / 6;

/**
 * The newest samples of one series (the device's, or one process's), in timestamp order, in a fixed ring:
 * adding and windowing allocate nothing.
 */
export class SampleRing {
  readonly #atUs: Float64Array;
  readonly #percent: Float64Array;
  #start = 0;
  #size = 0;
  /** Microseconds of the last window that samples covered (set by busyPercentUs). */
  coveredUs = 0;

  constructor(capacity = 64) {
    this.#atUs = new Float64Array(capacity);
    this.#percent = new Float64Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Stamp of the newest sample held, -Infinity when none. */
  get newestUs(): number {
    return this.#size === 0 ? Number.NEGATIVE_INFINITY : this.#atUs[this.#slot(this.#size - 1)]!;
  }

  get newestPercent(): number {
    return this.#size === 0 ? 0 : this.#percent[this.#slot(this.#size - 1)]!;
  }

  /** Stamp of the sample before the newest, -Infinity when fewer than two. */
  get previousUs(): number {
    return this.#size < 2 ? Number.NEGATIVE_INFINITY : this.#atUs[this.#slot(this.#size - 2)]!;
  }

  #slot(i: number): number {
    return (this.#start + i) % this.#atUs.length;
  }

  /**
   * Adds a sample in timestamp order (NVML does not promise its buffer's order); a stamp already held is
   * ignored, and when the ring is full the oldest sample falls out (or the new one, if it is the oldest).
   */
  add(atUs: number, percent: number): void {
    let at = this.#size; // insertion index: after every sample older than atUs
    while (at > 0 && this.#atUs[this.#slot(at - 1)]! >= atUs) {
      if (this.#atUs[this.#slot(at - 1)] === atUs) return;
      at--;
    }
    if (this.#size === this.#atUs.length) {
      if (at === 0) return;
      this.#start = this.#slot(1);
      this.#size--;
      at--;
    }
    for (let i = this.#size; i > at; i--) {
      this.#atUs[this.#slot(i)] = this.#atUs[this.#slot(i - 1)]!;
      this.#percent[this.#slot(i)] = this.#percent[this.#slot(i - 1)]!;
    }
    this.#atUs[this.#slot(at)] = atUs;
    this.#percent[this.#slot(at)] = percent;
    this.#size++;
  }

  /**
   * Busy percent x microseconds that the samples put inside (fromUs, toUs]. Sample i covers the time since
   * sample i-1, but at most `maxSpanUs` (the driver's sample period: a process that was idle in between has
   * no samples, and its next one speaks of one period only). Sets `coveredUs` to the time covered.
   */
  busyPercentUs(fromUs: number, toUs: number, maxSpanUs: number): number {
    let busy = 0;
    let covered = 0;
    for (let i = this.#size - 1; i >= 0; i--) {
      const end = this.#atUs[this.#slot(i)]!;
      if (end <= fromUs) break;
      const previous = i > 0 ? this.#atUs[this.#slot(i - 1)]! : Number.NEGATIVE_INFINITY;
      const begin = Math.max(previous, end - maxSpanUs);
      const overlap = Math.min(end, toUs) - Math.max(begin, fromUs);
      if (overlap <= 0) continue;
      busy += overlap * this.#percent[this.#slot(i)]!;
      covered += overlap;
    }
    this.coveredUs = covered;
    return busy;
  }
}

/**
 * The driver's sample period as the samples show it: the smallest gap between consecutive samples of one
 * series (a process idle for a period skips a sample, so gaps are multiples of the period), never below
 * 1 ms (two stamps that close are the same round). Starts from NVML's shortest documented period.
 */
export class SampleIntervalEstimate {
  #us = Number.POSITIVE_INFINITY;

  get us(): number {
    return Number.isFinite(this.#us) ? this.#us : DEFAULT_SAMPLE_INTERVAL_US;
  }

  /** Whether a gap was seen (otherwise `us` is the documented default). */
  get observed(): boolean {
    return Number.isFinite(this.#us);
  }

  /** Told each series' newest gap after samples are added. */
  observe(previousUs: number, newestUs: number): void {
    const gap = newestUs - previousUs;
    if (Number.isFinite(gap) && gap >= 1000 && gap < this.#us) this.#us = gap;
  }
}
