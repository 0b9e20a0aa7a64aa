/**
 * LinnOS vectors computed the slow, obvious way from the event-order contract of src/linnos/extract.ts, to test
 * the extractor against: the rank of a submission is its position by (submitUs, submitSeq or input order);
 * I/O j has completed before I/O i's submission iff completeUs_j < submitUs_i, or they are equal and
 * rank_j < rank_i; completions are ordered by (completeUs, rank). O(n^2): small inputs only.
 */
import { pagesOf } from '../../src/array/device-state.js';
import type { ReplayedIo } from '../../src/linnos/extract.js';

export interface BruteVectors {
  /** Per read, the 9 capped values, oldest first. */
  vectors: number[][];
  latency: number[];
  index: number[];
}

export function bruteForceVectors(records: readonly ReplayedIo[]): Map<number, BruteVectors> {
  const n = records.length;
  const seq = records.map((r, i) => r.submitSeq ?? i);
  const latency = (j: number): number =>
    records[j]!.deviceLatencyUs ?? records[j]!.completeUs - records[j]!.submitUs;
  const byRank = records
    .map((_, i) => i)
    .sort((a, b) => records[a]!.submitUs - records[b]!.submitUs || seq[a]! - seq[b]!);
  const rank: number[] = [];
  byRank.forEach((i, k) => {
    rank[i] = k;
  });
  const doneBefore = (j: number, i: number): boolean =>
    j !== i &&
    (records[j]!.completeUs < records[i]!.submitUs ||
      (records[j]!.completeUs === records[i]!.submitUs && rank[j]! < rank[i]!));
  const pendingAtSubmit = (i: number): number => {
    let pages = 0;
    for (let j = 0; j < n; j++) {
      if (records[j]!.servedBy === records[i]!.servedBy && rank[j]! < rank[i]! && !doneBefore(j, i)) {
        pages += pagesOf(records[j]!.size);
      }
    }
    return pages;
  };
  const out = new Map<number, BruteVectors>();
  for (const i of byRank) {
    const r = records[i]!;
    if (!r.read) continue;
    const history = records
      .map((_, j) => j)
      .filter((j) => records[j]!.read && records[j]!.servedBy === r.servedBy && doneBefore(j, i))
      .sort((a, b) => records[a]!.completeUs - records[b]!.completeUs || rank[a]! - rank[b]!);
    if (history.length < 4) continue;
    const last = history.slice(-4);
    const cap = (v: number, c: number): number => Math.min(c, Math.floor(v));
    const vector = [
      ...last.map((j) => cap(pendingAtSubmit(j) + pagesOf(records[j]!.size), 999)),
      cap(pendingAtSubmit(i) + pagesOf(r.size), 999),
      ...last.map((j) => cap(latency(j), 9999)),
    ];
    let entry = out.get(r.servedBy);
    if (entry === undefined) {
      entry = { vectors: [], latency: [], index: [] };
      out.set(r.servedBy, entry);
    }
    entry.vectors.push(vector);
    entry.latency.push(latency(i));
    entry.index.push(i);
  }
  return out;
}
