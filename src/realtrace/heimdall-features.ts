/**
 * Heimdall's 11 read features: size, queue length, and for each of the last 3 I/Os its queue length,
 * latency and throughput (feat_v6.py; queue length as in the kernel-level extractor: the I/Os still in
 * flight at the read's submit, the read included).
 *
 * Two readings of "the last 3 I/Os":
 * - causal (HeimdallCausalExtractor): the last 3 I/Os to COMPLETE before the read's submit, from the event
 *   stream — what an online predictor can know;
 * - as published (heimdallPublishedFeatures): the 3 I/Os SUBMITTED just before the read, whose latencies
 *   on a bursty, saturated device are mostly still in the future at the read's submit. It computes from the
 *   whole table at once, over the noise-filtered sequence, exactly as the offline scripts do; it leaks.
 */
import type { CausalFeatureExtractor, FeatureSet } from './event-stream.js';
import { OUTLIER_NONE, type PeriodLabels, throughputOf } from './heimdall-labels.js';
import type { IoTable } from './io-table.js';

export const HEIMDALL_HISTORY = 3;
export const HEIMDALL_FEATURES: readonly string[] = [
  'size',
  'queue_len',
  'prev_queue_len_1',
  'prev_queue_len_2',
  'prev_queue_len_3',
  'prev_latency_1',
  'prev_latency_2',
  'prev_latency_3',
  'prev_throughput_1',
  'prev_throughput_2',
  'prev_throughput_3',
];

/** Heimdall's features from completed I/Os only (prev_*_1 is the most recent completion). */
export class HeimdallCausalExtractor implements CausalFeatureExtractor {
  readonly names = HEIMDALL_FEATURES;
  #inFlight = 0;
  #queueAtIssue = new Float64Array(1024);
  readonly #queue = new Float64Array(HEIMDALL_HISTORY);
  readonly #latency = new Float64Array(HEIMDALL_HISTORY);
  readonly #throughput = new Float64Array(HEIMDALL_HISTORY);
  #completed = 0;

  featuresAt(_timeUs: number, size: number, _read: boolean, out: Float64Array, offset: number): boolean {
    if (this.#completed < HEIMDALL_HISTORY) return false;
    out[offset] = size;
    out[offset + 1] = this.#inFlight + 1;
    for (let k = 0; k < HEIMDALL_HISTORY; k++) {
      const slot = (this.#completed - 1 - k) % HEIMDALL_HISTORY;
      out[offset + 2 + k] = this.#queue[slot]!;
      out[offset + 5 + k] = this.#latency[slot]!;
      out[offset + 8 + k] = this.#throughput[slot]!;
    }
    return true;
  }

  onSubmit(io: number, _timeUs: number, _size: number, _read: boolean): void {
    this.#inFlight++;
    if (io >= this.#queueAtIssue.length) {
      const grown = new Float64Array(Math.max(io + 1, this.#queueAtIssue.length * 2));
      grown.set(this.#queueAtIssue);
      this.#queueAtIssue = grown;
    }
    this.#queueAtIssue[io] = this.#inFlight;
  }

  onComplete(io: number, _timeUs: number, latencyUs: number, size: number, _read: boolean): void {
    this.#inFlight--;
    const slot = this.#completed % HEIMDALL_HISTORY;
    this.#queue[slot] = this.#queueAtIssue[io]!;
    this.#latency[slot] = latencyUs;
    this.#throughput[slot] = throughputOf(size, latencyUs);
    this.#completed++;
  }
}

/** A binary min-heap of numbers (the published extractor's queue of completion times). */
class MinHeap {
  #a = new Float64Array(64);
  size = 0;
  push(v: number): void {
    if (this.size === this.#a.length) {
      const grown = new Float64Array(this.size * 2);
      grown.set(this.#a);
      this.#a = grown;
    }
    const a = this.#a;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= v) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = v;
  }
  peek(): number {
    return this.#a[0]!;
  }
  pop(): void {
    const a = this.#a;
    const v = a[--this.size]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= this.size) break;
      if (c + 1 < this.size && a[c + 1]! < a[c]!) c++;
      if (a[c]! >= v) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = v;
  }
}

/**
 * Heimdall's features as its offline pipeline computes them (LEAKS future latencies): over the I/Os of
 * the labelled range that survived the noise filter, in submit order, queue_len counts the earlier kept
 * I/Os whose completion is not before the read's submit (plus the read), and prev_*_k are the values of
 * the k-th kept I/O submitted before it; the first 3 kept I/Os are dropped. Rows are the kept reads.
 */
export function heimdallPublishedFeatures(table: IoTable, labels: PeriodLabels): FeatureSet {
  const seq: number[] = [];
  for (let i = labels.from; i < labels.to; i++) if (labels.outlier[i] === OUTLIER_NONE) seq.push(i);
  const n = seq.length;
  const queue = new Float64Array(n);
  const heap = new MinHeap();
  for (let k = 0; k < n; k++) {
    const io = seq[k]!;
    const t = table.submitUs[io]!;
    while (heap.size > 0 && heap.peek() < t) heap.pop();
    heap.push(table.completeUs[io]!);
    queue[k] = heap.size;
  }
  const width = HEIMDALL_FEATURES.length;
  const rows: number[] = [];
  const values: number[] = [];
  for (let k = HEIMDALL_HISTORY; k < n; k++) {
    const io = seq[k]!;
    if (table.read[io] !== 1) continue;
    rows.push(io);
    values.push(table.size[io]!, queue[k]!);
    for (let h = 1; h <= HEIMDALL_HISTORY; h++) values.push(queue[k - h]!);
    for (let h = 1; h <= HEIMDALL_HISTORY; h++) values.push(table.latencyUs[seq[k - h]!]!);
    for (let h = 1; h <= HEIMDALL_HISTORY; h++) {
      const p = seq[k - h]!;
      values.push(throughputOf(table.size[p]!, table.latencyUs[p]!));
    }
  }
  return {
    names: HEIMDALL_FEATURES,
    width,
    count: rows.length,
    rows: Int32Array.from(rows),
    values: Float64Array.from(values),
  };
}

/** Rows of a joint (batched) data set: P consecutive reads decided together. */
export interface JointSet extends FeatureSet {
  /** Reads per row. */
  readonly p: number;
  /** 1 when at least ceil(P/2) of the row's reads are labelled slow. */
  readonly labels: Uint8Array;
}

/**
 * Heimdall's joint inference data: consecutive, non-overlapping groups of P rows of a Heimdall feature set;
 * a group's vector is the P sizes (newest first) and the newest row's other 10 features; its label is slow
 * when at least ceil(P/2) of its reads are (MIN_REJECTION_COUNT = 0.5). `rows` holds each group's newest
 * read. P = 1 gives the per-I/O set back.
 */
export function jointRows(set: FeatureSet, labels: Uint8Array, p: number): JointSet {
  const groups = Math.floor(set.count / p);
  const width = p + set.width - 1;
  const names = [
    ...Array.from({ length: p }, (_, k) => (p === 1 ? 'size' : `size_${k}`)),
    ...set.names.slice(1),
  ];
  const rows = new Int32Array(groups);
  const values = new Float64Array(groups * width);
  const out = new Uint8Array(groups);
  const need = Math.ceil(p / 2);
  for (let g = 0; g < groups; g++) {
    const newest = g * p + p - 1;
    let slow = 0;
    for (let k = 0; k < p; k++) {
      const r = newest - k;
      values[g * width + k] = set.values[r * set.width]!;
      slow += labels[r]!;
    }
    values.set(set.values.subarray(newest * set.width + 1, (newest + 1) * set.width), g * width + p);
    rows[g] = set.rows[newest]!;
    out[g] = slow >= need ? 1 : 0;
  }
  return { names, width, count: groups, rows, values, p, labels: out };
}
