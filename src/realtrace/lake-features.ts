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
 * Durations, sizes and rates are heavy-tailed and enter as log2(1 + x) (so a linear model sees them on a
 * multiplicative scale); counts enter as they are. Windows are fixed in time or in events, chosen on the
 * scale of an SSD's service times (100 us - a few ms), not fitted to any trace.
 */
import type { CausalFeatureExtractor } from './event-stream.js';

/**
 * log2(1 + x) for x >= 0, piecewise linear between powers of two (Mitchell's approximation: the exponent
 * from Math.clz32, the mantissa taken as its own logarithm): continuous, monotone, within 0.09 of the true
 * value, and about 3 ns where Math.log costs 10-20 ns (a read's vector needs 26). Training and serving use
 * the same function, so only monotonicity and smoothness matter. Saturates at 2^31.
 */
export function log2p1(x: number): number {
  const y = x < 2147483646 ? 1 + x : 2147483647;
  const e = 31 - Math.clz32(y);
  return e + y / (1 << e) - 1;
}

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
  // By I/O id: submit time, queue length at issue, submit rank, completed.
  #submitAt = new Float64Array(1024);
  #queueAtIssue = new Float64Array(1024);
  #rank = new Float64Array(1024);
  #done = new Uint8Array(1024);
  /** In-flight I/O ids in submit order, completed ones removed lazily: [head, tail). */
  #fifo = new Int32Array(1024);
  #head = 0;
  #tail = 0;
  // Completions (a ring of the last RING).
  readonly #lat = new Float64Array(RING);
  readonly #thpt = new Float64Array(RING);
  readonly #completeAt = new Float64Array(RING);
  #completed = 0;
  #sum32 = 0; // latencies of the last 32 completions
  #within1ms = 0; // first completion (count) still inside the 1 ms / 4 ms windows
  #within4ms = 0;
  #lastReadLatency = 0;
  #lastQueue = 1;
  #ewmaFast = 0;
  #ewmaSlow = 0;
  #ewmaRead = 0;
  #ewmaGap = 0;
  // Submits (a ring of the last RING).
  readonly #submits = new Float64Array(RING);
  readonly #submitIo = new Int32Array(RING);
  readonly #submitWrite = new Uint8Array(RING);
  #submitted = 0;
  #writes8 = 0;
  #writes32 = 0;
  #done16 = 0; // of the last 16 / 32 / 64 submitted, how many have completed
  #done32 = 0;
  #done64 = 0;
  #busySince = 0;
  #busySubmits = 0;

  featuresAt(timeUs: number, size: number, _read: boolean, out: Float64Array, offset: number): boolean {
    const c = this.#completed;
    if (c < LAKE_WARMUP_COMPLETIONS) return false;
    const done = this.#done;
    const fifo = this.#fifo;
    while (this.#head < this.#tail && done[fifo[this.#head]!] === 1) this.#head++;
    const n = this.#inFlight;
    const oldest = n > 0 ? timeUs - this.#submitAt[fifo[this.#head]!]! : 0;
    const meanAge = n > 0 ? timeUs - this.#submitSum / n : 0;
    const lat = this.#lat;
    const thpt = this.#thpt;
    let max8 = 0;
    let thpt8 = 0;
    for (let k = 1; k <= 8; k++) {
      const slot = (c - k) & MASK;
      if (lat[slot]! > max8) max8 = lat[slot]!;
      thpt8 += thpt[slot]!;
    }
    // Completions in the last 1 and 4 ms: times only grow, so the window starts only move forward.
    const completeAt = this.#completeAt;
    let w1 = this.#within1ms;
    while (w1 < c && (c - w1 > RING || completeAt[w1 & MASK]! <= timeUs - 1000)) w1++;
    this.#within1ms = w1;
    let w4 = this.#within4ms;
    while (w4 < c && (c - w4 > RING || completeAt[w4 & MASK]! <= timeUs - 4000)) w4++;
    this.#within4ms = w4;
    const c1 = c - w1;
    const c4 = c - w4;
    const s = this.#submitted;
    const submits = this.#submits;
    // Little's law: what is queued ahead, drained at the recent completion rate.
    const rate = c4 > 0 ? c4 / 4000 : 1 / Math.max(this.#ewmaGap, 1);
    let o = offset;
    out[o++] = Math.log2(Math.max(size, 1));
    out[o++] = n;
    out[o++] = this.#inFlightReads;
    out[o++] = log2p1(this.#inFlightBytes);
    out[o++] = log2p1(oldest);
    out[o++] = log2p1(meanAge);
    out[o++] = log2p1(lat[(c - 1) & MASK]!);
    out[o++] = log2p1(lat[(c - 2) & MASK]!);
    out[o++] = log2p1(lat[(c - 3) & MASK]!);
    out[o++] = log2p1(lat[(c - 4) & MASK]!);
    out[o++] = log2p1(this.#lastReadLatency);
    out[o++] = log2p1(this.#ewmaFast);
    out[o++] = log2p1(this.#ewmaSlow);
    out[o++] = log2p1(this.#ewmaRead);
    out[o++] = log2p1(max8);
    out[o++] = log2p1(this.#sum32 / Math.min(c, 32));
    out[o++] = log2p1(thpt[(c - 1) & MASK]!);
    out[o++] = log2p1(thpt8 / 8);
    out[o++] = log2p1(lat[(c - 1) & MASK]! / this.#lastQueue);
    out[o++] = log2p1(timeUs - completeAt[(c - 1) & MASK]!);
    out[o++] = c1;
    out[o++] = c4;
    out[o++] = log2p1(this.#ewmaGap);
    out[o++] = log2p1(n / rate);
    out[o++] = log2p1(s >= 1 ? timeUs - submits[(s - 1) & MASK]! : 0);
    out[o++] = log2p1(s >= 8 ? timeUs - submits[(s - 8) & MASK]! : 0);
    out[o++] = log2p1(s >= RING ? timeUs - submits[(s - RING) & MASK]! : 0);
    out[o++] = log2p1(n > 0 ? timeUs - this.#busySince : 0);
    out[o++] = log2p1(n > 0 ? this.#busySubmits : 0);
    out[o++] = this.#writes8;
    out[o++] = this.#writes32;
    out[o++] = this.#done16;
    out[o++] = this.#done32;
    out[o++] = this.#done64;
    return true;
  }

  #ensure(io: number): void {
    if (io < this.#submitAt.length) return;
    const capacity = Math.max(io + 1, this.#submitAt.length * 2);
    const grow = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(capacity);
      b.set(a);
      return b;
    };
    this.#submitAt = grow(this.#submitAt);
    this.#queueAtIssue = grow(this.#queueAtIssue);
    this.#rank = grow(this.#rank);
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
    // The windows of the last 8/32 (writes) and 16/32/64 (completed) submits slide by one.
    const s = this.#submitted;
    const ios = this.#submitIo;
    if (s >= 8) this.#writes8 -= this.#submitWrite[(s - 8) & MASK]!;
    if (s >= 32) this.#writes32 -= this.#submitWrite[(s - 32) & MASK]!;
    if (s >= 16) this.#done16 -= this.#done[ios[(s - 16) & MASK]!]!;
    if (s >= 32) this.#done32 -= this.#done[ios[(s - 32) & MASK]!]!;
    if (s >= RING) this.#done64 -= this.#done[ios[(s - RING) & MASK]!]!;
    const slot = s & MASK;
    const write = read ? 0 : 1;
    this.#submits[slot] = timeUs;
    this.#submitIo[slot] = io;
    this.#submitWrite[slot] = write;
    this.#writes8 += write;
    this.#writes32 += write;
    this.#rank[io] = s;
    this.#submitted = s + 1;
  }

  onComplete(io: number, timeUs: number, latencyUs: number, size: number, read: boolean): void {
    this.#inFlight--;
    if (read) this.#inFlightReads--;
    this.#inFlightBytes -= size;
    this.#submitSum -= this.#submitAt[io]!;
    this.#done[io] = 1;
    const behind = this.#submitted - this.#rank[io]!; // 1 = the latest submit
    if (behind <= 16) this.#done16++;
    if (behind <= 32) this.#done32++;
    if (behind <= RING) this.#done64++;
    const c = this.#completed;
    if (c > 0) this.#ewmaGap += (timeUs - this.#completeAt[(c - 1) & MASK]! - this.#ewmaGap) / 16;
    if (c >= 32) this.#sum32 -= this.#lat[(c - 32) & MASK]!;
    this.#sum32 += latencyUs;
    const slot = c & MASK;
    this.#lat[slot] = latencyUs;
    this.#thpt[slot] = size / Math.max(latencyUs, 1);
    this.#completeAt[slot] = timeUs;
    this.#completed = c + 1;
    this.#lastQueue = this.#queueAtIssue[io]!;
    this.#ewmaFast += (latencyUs - this.#ewmaFast) / 4;
    this.#ewmaSlow += (latencyUs - this.#ewmaSlow) / 32;
    if (read) {
      this.#lastReadLatency = latencyUs;
      this.#ewmaRead += (latencyUs - this.#ewmaRead) / 4;
    }
  }
}
