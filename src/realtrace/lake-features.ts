/**
 * The lake pipeline's causal features, maintained from submit and completion events in O(1) per event
 * (amortised) and read out in O(1) per prediction. Why these (docs/lake-pipeline.md): on a busy device a
 * read's latency is mostly the time it waits behind the work already queued, so the strongest signals are
 * the queue now (how much, how old), how fast the device has been draining it lately, and how slow the
 * last completions were; the read's own size and the arrival pattern add a little.
 *
 * All times in us. Windows are fixed in time or in events (not fitted to any trace).
 */
import type { CausalFeatureExtractor } from './event-stream.js';

/** Completions remembered for window statistics. */
const RING = 64;
/** Submits remembered for inter-arrival statistics. */
const SUBMIT_RING = 64;
const SUBMIT_MASK = SUBMIT_RING - 1;

export const LAKE_FEATURES: readonly string[] = [
  'log2_size',
  'in_flight',
  'in_flight_reads',
  'log2_in_flight_bytes',
  'oldest_age_us',
  'mean_age_us',
  'last_latency_us',
  'last_read_latency_us',
  'ewma_latency_fast_us',
  'ewma_latency_slow_us',
  'ewma_read_latency_fast_us',
  'max_latency_last8_us',
  'mean_latency_last32_us',
  'p75_latency_last32_us',
  'since_completion_us',
  'completions_1ms',
  'completions_4ms',
  'since_submit_us',
  'submit_span8_us',
  'submit_span64_us',
  'busy_for_us',
  'busy_submits',
  'expected_wait_us',
  'last_latency_per_queued_us',
  'prev1_log2_size',
  'prev1_read',
  'prev1_done',
  'prev1_age_us',
  'prev2_log2_size',
  'prev2_read',
  'prev2_done',
  'prev3_log2_size',
  'prev3_read',
  'prev3_done',
  'writes_last8',
  'writes_last32',
  'done_last16',
  'done_last32',
  'done_last64',
  'in_flight_older_half_ewma',
  'in_flight_older_ewma',
  'in_flight_older_2ewma',
  'min_thpt_last8',
  'mean_thpt_last8',
  'ewma_completion_gap_us',
  'since_completion_per_gap',
  'lat_c2',
  'lat_c3',
  'lat_c4',
  'last_thpt',
  'last_latency_trend',
];

export class LakeExtractor implements CausalFeatureExtractor {
  readonly names = LAKE_FEATURES;
  // In flight.
  #inFlight = 0;
  #inFlightReads = 0;
  #inFlightBytes = 0;
  #ageSum = 0; // sum of submit times of I/Os in flight
  #submitAt = new Float64Array(1024); // by I/O index
  #queueAtIssue = new Float64Array(1024);
  #done = new Uint8Array(1024);
  /** In-flight I/O indices in submit order with lazy removal: [head, tail). */
  #fifo = new Int32Array(1024);
  #head = 0;
  #tail = 0;
  // Completions.
  readonly #lat = new Float64Array(RING);
  readonly #completeAt = new Float64Array(RING);
  #completed = 0;
  #lastLatency = 0;
  #lastReadLatency = 0;
  #lastQueue = 1;
  #ewmaFast = 0;
  #ewmaSlow = 0;
  #ewmaReadFast = 0;
  #lastCompleteAt = Number.NaN;
  // Submits.
  readonly #submits = new Float64Array(SUBMIT_RING);
  readonly #submitIo = new Int32Array(SUBMIT_RING);
  readonly #submitSize = new Float64Array(SUBMIT_RING);
  readonly #submitRead = new Uint8Array(SUBMIT_RING);
  readonly #thpt = new Float64Array(RING);
  #ewmaGap = 0;
  #submitted = 0;
  #busySince = 0;
  #busySubmits = 0;
  readonly #sorted = new Float64Array(32);

  featuresAt(timeUs: number, size: number, _read: boolean, out: Float64Array, offset: number): boolean {
    if (this.#completed < 8) return false;
    while (this.#head < this.#tail && this.#done[this.#fifo[this.#head]!] === 1) this.#head++;
    const n = this.#inFlight;
    const oldest = n > 0 ? timeUs - this.#submitAt[this.#fifo[this.#head]!]! : 0;
    const meanAge = n > 0 ? timeUs - this.#ageSum / n : 0;
    let max8 = 0;
    for (let k = 0; k < 8; k++) {
      const v = this.#lat[(this.#completed - 1 - k) % RING]!;
      if (v > max8) max8 = v;
    }
    const m = Math.min(32, this.#completed);
    let sum = 0;
    for (let k = 0; k < m; k++) {
      const v = this.#lat[(this.#completed - 1 - k) % RING]!;
      this.#sorted[k] = v;
      sum += v;
    }
    const window = this.#sorted.subarray(0, m).sort();
    const p75 = window[Math.floor(0.75 * (m - 1))]!;
    let c1 = 0;
    let c4 = 0;
    const kept = Math.min(RING, this.#completed);
    for (let k = 0; k < kept; k++) {
      const age = timeUs - this.#completeAt[(this.#completed - 1 - k) % RING]!;
      if (age > 4000) break;
      c4++;
      if (age <= 1000) c1++;
    }
    const s = this.#submitted;
    const span = (back: number): number =>
      s >= back ? timeUs - this.#submits[(s - back) % SUBMIT_RING]! : timeUs - (s > 0 ? this.#submits[0]! : timeUs);
    // Little's law: what is queued ahead, drained at the recent completion rate.
    const rate = c4 > 0 ? c4 / 4000 : this.#ewmaSlow > 0 ? n / this.#ewmaSlow : 0;
    const expectedWait = rate > 0 ? n / rate : 0;
    let o = offset;
    out[o++] = Math.log2(Math.max(1, size));
    out[o++] = n;
    out[o++] = this.#inFlightReads;
    out[o++] = Math.log2(1 + this.#inFlightBytes);
    out[o++] = oldest;
    out[o++] = meanAge;
    out[o++] = this.#lastLatency;
    out[o++] = this.#lastReadLatency;
    out[o++] = this.#ewmaFast;
    out[o++] = this.#ewmaSlow;
    out[o++] = this.#ewmaReadFast;
    out[o++] = max8;
    out[o++] = sum / m;
    out[o++] = p75;
    out[o++] = Number.isNaN(this.#lastCompleteAt) ? 0 : timeUs - this.#lastCompleteAt;
    out[o++] = c1;
    out[o++] = c4;
    out[o++] = s > 0 ? timeUs - this.#submits[(s - 1) % SUBMIT_RING]! : 0;
    out[o++] = span(8);
    out[o++] = span(SUBMIT_RING);
    out[o++] = n > 0 ? timeUs - this.#busySince : 0;
    out[o++] = n > 0 ? this.#busySubmits : 0;
    out[o++] = expectedWait;
    out[o++] = this.#lastLatency / Math.max(1, this.#lastQueue);
    for (let k = 1; k <= 3; k++) {
      if (s >= k) {
        const slot = (s - k) & SUBMIT_MASK;
        out[o++] = Math.log2(Math.max(1, this.#submitSize[slot]!));
        out[o++] = this.#submitRead[slot]!;
        out[o++] = this.#done[this.#submitIo[slot]!]!;
        if (k === 1) out[o++] = timeUs - this.#submits[slot]!;
      } else {
        out[o++] = 0;
        out[o++] = 0;
        out[o++] = 0;
        if (k === 1) out[o++] = 0;
      }
    }
    let w8 = 0;
    let w32 = 0;
    let d16 = 0;
    let d32 = 0;
    let d64 = 0;
    for (let k = 1; k <= Math.min(s, 64); k++) {
      const slot = (s - k) & SUBMIT_MASK;
      const write = this.#submitRead[slot] === 0 ? 1 : 0;
      const done = this.#done[this.#submitIo[slot]!]!;
      if (k <= 8) w8 += write;
      if (k <= 32) w32 += write;
      if (k <= 16) d16 += done;
      if (k <= 32) d32 += done;
      d64 += done;
    }
    out[o++] = w8;
    out[o++] = w32;
    out[o++] = d16;
    out[o++] = d32;
    out[o++] = d64;
    let older05 = 0;
    let older1 = 0;
    let older2 = 0;
    const e = this.#ewmaSlow;
    for (let k = this.#head; k < this.#tail; k++) {
      const io = this.#fifo[k]!;
      if (this.#done[io] === 1) continue;
      const age = timeUs - this.#submitAt[io]!;
      if (age > 0.5 * e) older05++;
      if (age > e) older1++;
      if (age > 2 * e) older2++;
    }
    out[o++] = older05;
    out[o++] = older1;
    out[o++] = older2;
    let minT = Number.POSITIVE_INFINITY;
    let sumT = 0;
    for (let k = 0; k < 8; k++) {
      const v = this.#thpt[(this.#completed - 1 - k) % RING]!;
      if (v < minT) minT = v;
      sumT += v;
    }
    out[o++] = minT;
    out[o++] = sumT / 8;
    out[o++] = this.#ewmaGap;
    out[o++] = (Number.isNaN(this.#lastCompleteAt) ? 0 : timeUs - this.#lastCompleteAt) / Math.max(1, this.#ewmaGap);
    const c = this.#completed;
    out[o++] = this.#lat[(c - 2) % RING]!;
    out[o++] = this.#lat[(c - 3) % RING]!;
    out[o++] = this.#lat[(c - 4) % RING]!;
    out[o++] = this.#thpt[(c - 1) % RING]!;
    out[o++] = this.#lat[(c - 1) % RING]! - this.#lat[(c - 2) % RING]!;
    return true;
  }

  #ensure(io: number): void {
    if (io < this.#submitAt.length) return;
    const capacity = Math.max(io + 1, this.#submitAt.length * 2);
    const grow = <T extends Float64Array | Uint8Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.#submitAt = grow(this.#submitAt, new Float64Array(capacity));
    this.#queueAtIssue = grow(this.#queueAtIssue, new Float64Array(capacity));
    this.#done = grow(this.#done, new Uint8Array(capacity));
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
    this.#ageSum += timeUs;
    this.#submitAt[io] = timeUs;
    this.#queueAtIssue[io] = this.#inFlight;
    this.#done[io] = 0;
    if (this.#tail === this.#fifo.length) {
      // Compact, or grow when most entries are live.
      const live = this.#tail - this.#head;
      const next = live * 2 > this.#fifo.length ? new Int32Array(this.#fifo.length * 2) : this.#fifo;
      next.set(this.#fifo.subarray(this.#head, this.#tail), 0);
      this.#fifo = next;
      this.#head = 0;
      this.#tail = live;
    }
    this.#fifo[this.#tail++] = io;
    this.#submits[this.#submitted % SUBMIT_RING] = timeUs;
    this.#submitIo[this.#submitted & SUBMIT_MASK] = io;
    this.#submitSize[this.#submitted & SUBMIT_MASK] = size;
    this.#submitRead[this.#submitted & SUBMIT_MASK] = read ? 1 : 0;
    this.#submitted++;
  }

  onComplete(io: number, timeUs: number, latencyUs: number, size: number, read: boolean): void {
    this.#inFlight--;
    if (read) this.#inFlightReads--;
    this.#inFlightBytes -= size;
    this.#ageSum -= this.#submitAt[io]!;
    this.#done[io] = 1;
    const slot = this.#completed % RING;
    this.#lat[slot] = latencyUs;
    this.#completeAt[slot] = timeUs;
    this.#completed++;
    this.#lastLatency = latencyUs;
    this.#lastQueue = this.#queueAtIssue[io]!;
    if (!Number.isNaN(this.#lastCompleteAt)) this.#ewmaGap += (timeUs - this.#lastCompleteAt - this.#ewmaGap) / 16;
    this.#lastCompleteAt = timeUs;
    this.#thpt[slot] = size / Math.max(1, latencyUs);
    this.#ewmaFast += (latencyUs - this.#ewmaFast) / 4;
    this.#ewmaSlow += (latencyUs - this.#ewmaSlow) / 32;
    if (read) {
      this.#lastReadLatency = latencyUs;
      this.#ewmaReadFast += (latencyUs - this.#ewmaReadFast) / 4;
    }
  }
}
