/**
 * The causal event stream: a recorded trace replayed as the online path lives it, one submit at each
 * I/O's submit time and one completion at submit + latency, in time order. Feature code sees the trace
 * only through this stream (a CausalFeatureExtractor is handed events, never the table), and a read's
 * features are asked for at its submit, before the stream has delivered anything that happens later — so
 * no feature can read a latency that has not completed yet. src/realtrace/causality-audit.ts checks it.
 *
 * Event order (the same contract as src/linnos/extract.ts and the array engine):
 * - events run in time order; submits in submit order (IoTable's order);
 * - at equal times a completion runs before a submit, unless the completing I/O was submitted at or after
 *   that submit (a zero-latency I/O completes right after its own submit);
 * - completions at equal times run in submit order.
 * A read's features are taken just before its own submit event, so the read itself is not yet in flight.
 */
import type { IoTable } from './io-table.js';

/** What the stream delivers to feature code: sizes and times, and a latency only once it has completed. */
export interface CausalFeatureExtractor {
  /** One name per feature; the vector width. */
  readonly names: readonly string[];
  /**
   * The features of an I/O about to be submitted at `timeUs` into out[offset..offset+width); false (and
   * nothing written) while the extractor lacks the history it needs.
   */
  featuresAt(timeUs: number, size: number, read: boolean, out: Float64Array, offset: number): boolean;
  /** I/O `io` (its submit rank) was submitted. */
  onSubmit(io: number, timeUs: number, size: number, read: boolean): void;
  /** I/O `io` completed at `timeUs` after `latencyUs`. */
  onComplete(io: number, timeUs: number, latencyUs: number, size: number, read: boolean): void;
}

/** Who walks the stream: told each submit and completion by I/O index (trusted pipeline code). */
export interface EventVisitor {
  onSubmit(io: number): void;
  onComplete(io: number): void;
}

/** Indices sorted by completion time, ties in submit order. */
export function completionOrder(table: IoTable): Int32Array {
  const n = table.count;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const c = table.completeUs;
  return order.sort((a, b) => c[a]! - c[b]! || a - b);
}

/** Walk submits and completions of I/Os in time order (see the module comment for ties). */
export function forEachEvent(table: IoTable, visitor: EventVisitor, order = completionOrder(table)): void {
  const n = table.count;
  const submitUs = table.submitUs;
  const completeUs = table.completeUs;
  let s = 0;
  let c = 0;
  while (s < n || c < n) {
    if (s < n) {
      if (c >= n) {
        visitor.onSubmit(s++);
        continue;
      }
      const j = order[c]!;
      const ct = completeUs[j]!;
      const st = submitUs[s]!;
      // j < s: j was submitted before s, so at equal times it completes first.
      if (ct < st || (ct === st && j < s)) {
        visitor.onComplete(j);
        c++;
      } else {
        visitor.onSubmit(s++);
      }
    } else {
      visitor.onComplete(order[c++]!);
    }
  }
}

/** Feature vectors of a set of I/Os: row r is I/O rows[r], values[r * width ..]. */
export interface FeatureSet {
  readonly names: readonly string[];
  readonly width: number;
  readonly count: number;
  /** I/O index (submit rank in the table) of each row. */
  readonly rows: Int32Array;
  readonly values: Float64Array;
}

/**
 * Drive `extractor` through the trace's events and collect the vector of every read at its submit (the
 * reads the extractor is ready for). Writes are submitted and completed but not predicted.
 */
export function extractCausal(
  table: IoTable,
  extractor: CausalFeatureExtractor,
  order: Int32Array = completionOrder(table),
): FeatureSet {
  const width = extractor.names.length;
  let reads = 0;
  for (let i = 0; i < table.count; i++) reads += table.read[i]!;
  const rows = new Int32Array(reads);
  const values = new Float64Array(reads * width);
  let count = 0;
  forEachEvent(
    table,
    {
      onSubmit(io) {
        const t = table.submitUs[io]!;
        const size = table.size[io]!;
        const read = table.read[io] === 1;
        if (read && extractor.featuresAt(t, size, true, values, count * width)) rows[count++] = io;
        extractor.onSubmit(io, t, size, read);
      },
      onComplete(io) {
        extractor.onComplete(
          io,
          table.completeUs[io]!,
          table.latencyUs[io]!,
          table.size[io]!,
          table.read[io] === 1,
        );
      },
    },
    order,
  );
  return {
    names: extractor.names,
    width,
    count,
    rows: rows.slice(0, count),
    values: values.slice(0, count * width),
  };
}

/** The rows of a feature set whose I/O index satisfies `keep`, in order. */
export function selectFeatureRows(set: FeatureSet, keep: (io: number) => boolean): FeatureSet {
  const picked: number[] = [];
  for (let r = 0; r < set.count; r++) if (keep(set.rows[r]!)) picked.push(r);
  const rows = new Int32Array(picked.length);
  const values = new Float64Array(picked.length * set.width);
  picked.forEach((r, k) => {
    rows[k] = set.rows[r]!;
    values.set(set.values.subarray(r * set.width, (r + 1) * set.width), k * set.width);
  });
  return { names: set.names, width: set.width, count: picked.length, rows, values };
}
