/**
 * The lake pipeline's causal features, maintained from submit and completion events and read out at a
 * read's submit in a few dozen operations, without allocating. Why these (docs/lake-pipeline.md): on a busy
 * device a read's latency is mostly the time it waits behind work already queued, so the signals are
 * - the queue now: how many I/Os, reads and bytes are in flight, and how long they have been waiting;
 * - how slow the device has been lately: the latest completed latencies and throughputs, moving averages
 *   on two time scales, the worst and the mean of a recent window;
 * - how fast it drains: completions in the last 1 and 4 ms, the time since the last one, a Little's-law
 *   estimate of the wait ahead;
 * - what the recent submissions tell before they complete: how many of the last 16/32/64 submitted I/Os
 *   have already completed (a censored view of their latencies), how many were writes;
 * - the arrival pattern: gaps between submits, how long the device has been busy;
 * - the read's own size.
 * Durations, sizes and rates are heavy-tailed and enter as log1p (so a linear model sees them on a
 * multiplicative scale); counts enter as they are. Windows are fixed in time or in events, chosen on the
 * scale of an SSD's service times (100 us - a few ms), not fitted to any trace.
 */
import type { CausalFeatureExtractor } from './event-stream.js';

/** Completions remembered (a power of two). */
const RING = 64;
const MASK = RING - 1;

export const LAKE_FEATURES: readonly string[] = [
  'log2_size',
  'in_flight',
  'in_flight_reads',
  'log_in_flight_bytes',
  'log_oldest_age_us',
  'log_mean_age_us',
  'log_latency_c1_us',
  'log_latency_c2_us',
  'log_latency_c3_us',
  'log_latency_c4_us',
  'log_last_read_latency_us',
  'log_ewma_latency_fast_us',
  'log_ewma_latency_slow_us',
  'log_ewma_read_latency_us',
  'log_max_latency_last8_us',
  'log_mean_latency_last32_us',
  'log_last_throughput',
  'log_mean_throughput_last8',
  'log_last_latency_per_queued_us',
  'log_since_completion_us',
  'completions_1ms',
  'completions_4ms',
  'log_ewma_completion_gap_us',
  'log_expected_wait_us',
  'log_since_submit_us',
  'log_submit_span8_us',
  'log_submit_span64_us',
  'log_busy_for_us',
  'log_busy_submits',
  'writes_last8',
  'writes_last32',
  'done_last16',
  'done_last32',
  'done_last64',
];

/** Completions needed before the first vector (the windows need some history). */
export const LAKE_WARMUP_COMPLETIONS = 8;

export class LakeExtractor implements CausalFeatureExtractor {
  readonly names = LAKE_FEATURES;
  // In flight.
  #inFlight = 0;
  #inFlightReads = 0;
  #inFlightBytes = 0;
  #submitSum = 0; // sum of the submit times of the I/Os in flight
  #submitAt = new Float64Array(1024); // by I/O index
  #queueAtIssue = new Float64Array(1024);
  #done = new Uint8Array(1024);
  /** In-flight I/O indices in submit order, completed ones removed lazily: [head, tail). */
  #fifo = new Int32Array(1024);
  #head = 0;
  #tail = 0;
  // Completions.
  readonly #lat = new Float64Array(RING);
  readonly #thpt = new Float64Array(RING);
  readonly #completeAt = new Float64Array(RING);
  #completed = 0;
  #lastReadLatency = 0;
  #lastQueue = 1;
  #ewmaFast = 0;
  #ewmaSlow = 0;
  #ewmaRead = 0;
  #ewmaGap = 0;
  // Submits.
  readonly #submits = new Float64Array(RING);
  readonly #submitIo = new Int32Array(RING);
  readonly #submitWrite = new Uint8Array(RING);
  #submitted = 0;
  #busySince = 0;
  #busySubmits = 0;

  featuresAt(timeUs: number, size: number, _read: boolean, out: Float64Array, offset: number): boolean {
    const c = this.#completed;
    if (c < LAKE_WARMUP_COMPLETIONS) return false;
    while (this.#head < this.#tail && this.#done[this.#fifo[this.#head]!] === 1) this.#head++;
    const n = this.#inFlight;
    const oldest = n > 0 ? timeUs - this.#submitAt[this.#fifo[this.#head]!]! : 0;
    const meanAge = n > 0 ? timeUs - this.#submitSum / n : 0;
    const lat = this.#lat;
    let max8 = 0;
    let thpt8 = 0;
    for (let k = 1; k <= 8; k++) {
      const slot = (c - k) & MASK;
      if (lat[slot]! > max8) max8 = lat[slot]!;
      thpt8 += this.#thpt[slot]!;
    }
    const m = c < 32 ? c : 32;
    let sum32 = 0;
    for (let k = 1; k <= m; k++) sum32 += lat[(c - k) & MASK]!;
    let c1 = 0;
    let c4 = 0;
    const kept = c < RING ? c : RING;
    for (let k = 1; k <= kept; k++) {
      const age = timeUs - this.#completeAt[(c - k) & MASK]!;
      if (age > 4000) break;
      c4++;
      if (age <= 1000) c1++;
    }
    const s = this.#submitted;
    let w8 = 0;
    let w32 = 0;
    let d16 = 0;
    let d32 = 0;
    let d64 = 0;
    const back = s < RING ? s : RING;
    for (let k = 1; k <= back; k++) {
      const slot = (s - k) & MASK;
      const done = this.#done[this.#submitIo[slot]!]!;
      const write = this.#submitWrite[slot]!;
      if (k <= 8) w8 += write;
      if (k <= 32) {
        w32 += write;
        d32 += done;
      }
      if (k <= 16) d16 += done;
      d64 += done;
    }
    const span = (k: number): number => (s >= k ? timeUs - this.#submits[(s - k) & MASK]! : 0);
    const sinceCompletion = timeUs - this.#completeAt[(c - 1) & MASK]!;
    // Little's law: what is queued ahead, drained at the recent completion rate.
    const rate = c4 > 0 ? c4 / 4000 : 1 / Math.max(1, this.#ewmaGap);
    let o = offset;
    out[o++] = Math.log2(size > 1 ? size : 1);
    out[o++] = n;
    out[o++] = this.#inFlightReads;
    out[o++] = Math.log1p(this.#inFlightBytes);
    out[o++] = Math.log1p(oldest);
    out[o++] = Math.log1p(meanAge);
    out[o++] = Math.log1p(lat[(c - 1) & MASK]!);
    out[o++] = Math.log1p(lat[(c - 2) & MASK]!);
    out[o++] = Math.log1p(lat[(c - 3) & MASK]!);
    out[o++] = Math.log1p(lat[(c - 4) & MASK]!);
    out[o++] = Math.log1p(this.#lastReadLatency);
    out[o++] = Math.log1p(this.#ewmaFast);
    out[o++] = Math.log1p(this.#ewmaSlow);
    out[o++] = Math.log1p(this.#ewmaRead);
    out[o++] = Math.log1p(max8);
    out[o++] = Math.log1p(sum32 / m);
    out[o++] = Math.log1p(this.#thpt[(c - 1) & MASK]!);
    out[o++] = Math.log1p(thpt8 / 8);
    out[o++] = Math.log1p(lat[(c - 1) & MASK]! / this.#lastQueue);
    out[o++] = Math.log1p(sinceCompletion);
    out[o++] = c1;
    out[o++] = c4;
    out[o++] = Math.log1p(this.#ewmaGap);
    out[o++] = Math.log1p(n / rate);
    out[o++] = Math.log1p(span(1));
    out[o++] = Math.log1p(span(8));
    out[o++] = Math.log1p(span(RING));
    out[o++] = Math.log1p(n > 0 ? timeUs - this.#busySince : 0);
    out[o++] = Math.log1p(n > 0 ? this.#busySubmits : 0);
    out[o++] = w8;
    out[o++] = w32;
    out[o++] = d16;
    out[o++] = d32;
    out[o++] = d64;
    return true;
  }

  #ensure(io: number): void {
    if (io < this.#submitAt.length) return;
    const capacity = Math.max(io + 1, this.#submitAt.length * 2);
    const submitAt = new Float64Array(capacity);
    submitAt.set(this.#submitAt);
    this.#submitAt = submitAt;
    const queue = new Float64Array(capacity);
    queue.set(this.#queueAtIssue);
    this.#queueAtIssue = queue;
    const done = new Uint8Array(capacity);
    done.set(this.#done);
    this.#done = done;
  }

  onSubmit(io: number, timeUs: number, size: number, read: boolean): void {
    this.#ensure(io);
    if (this.#inFlight === 0) {
      this.#busySince = timeUs;
      this.#busySubmits = 0;
    }
    this.#busySubmits++;
    this.#inFlight++;
    if (read) this.#inFlightReads++;
    this.#inFlightBytes += size;
    this.#submitSum += timeUs;
    this.#submitAt[io] = timeUs;
    this.#queueAtIssue[io] = this.#inFlight;
    this.#done[io] = 0;
    if (this.#tail === this.#fifo.length) {
      // Compact the live entries to the front, growing when most are live.
      const live = this.#tail - this.#head;
      const next = live * 2 > this.#fifo.length ? new Int32Array(this.#fifo.length * 2) : this.#fifo;
      next.set(this.#fifo.subarray(this.#head, this.#tail), 0);
      this.#fifo = next;
      this.#head = 0;
      this.#tail = live;
    }
    this.#fifo[this.#tail++] = io;
    const slot = this.#submitted & MASK;
    this.#submits[slot] = timeUs;
    this.#submitIo[slot] = io;
    this.#submitWrite[slot] = read ? 0 : 1;
    this.#submitted++;
  }

  onComplete(io: number, timeUs: number, latencyUs: number, size: number, read: boolean): void {
    this.#inFlight--;
    if (read) this.#inFlightReads--;
    this.#inFlightBytes -= size;
    this.#submitSum -= this.#submitAt[io]!;
    this.#done[io] = 1;
    if (this.#completed > 0) {
      const gap = timeUs - this.#completeAt[(this.#completed - 1) & MASK]!;
      this.#ewmaGap += (gap - this.#ewmaGap) / 16;
    }
    const slot = this.#completed & MASK;
    this.#lat[slot] = latencyUs;
    this.#thpt[slot] = size / (latencyUs > 1 ? latencyUs : 1);
    this.#completeAt[slot] = timeUs;
    this.#completed++;
    this.#lastQueue = this.#queueAtIssue[io]!;
    this.#ewmaFast += (latencyUs - this.#ewmaFast) / 4;
    this.#ewmaSlow += (latencyUs - this.#ewmaSlow) / 32;
    if (read) {
      this.#lastReadLatency = latencyUs;
      this.#ewmaRead += (latencyUs - this.#ewmaRead) / 4;
    }
  }
}
