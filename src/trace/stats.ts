/**
 * Trace statistics in one streaming pass: op counts, size and (where the format records it) latency
 * percentiles per op, duration and IOPS. Memory stays flat: values are counted, not kept.
 */
import { type Distribution, ValueCounter } from './quantiles.js';
import { openTrace, type ReadTraceOptions } from './read.js';
import type { TraceFormat, TraceRecord } from './types.js';

export interface OpStats {
  count: number;
  bytes: number;
  /** Size percentiles in bytes; null when there was no I/O of this kind. */
  sizeBytes: Distribution | null;
  /** Latency percentiles in us; null when the records carry no latency. */
  latencyUs: Distribution | null;
}

export interface RecordStats {
  records: number;
  reads: OpStats;
  writes: OpStats;
  /** Reads / records (0 when empty). */
  readFraction: number;
  /** Earliest and latest arrival, ms (null when empty). Arrivals need not be sorted. */
  firstArrivalMs: number | null;
  lastArrivalMs: number | null;
  /** lastArrivalMs - firstArrivalMs (0 when empty). */
  durationMs: number;
  /** Records per second of duration; null when the duration is 0. */
  iops: number | null;
  readIops: number | null;
  writeIops: number | null;
}

export interface TraceStats extends RecordStats {
  file: string;
  format: TraceFormat;
  /** Bad lines skipped (with skipBad) and the first few messages. */
  skipped: number;
  errors: string[];
  lines: number;
}

class OpAccumulator {
  count = 0;
  bytes = 0;
  readonly sizes = new ValueCounter();
  readonly latencies = new ValueCounter({ unitsPerValue: 1000 });

  add(record: TraceRecord): void {
    this.count++;
    this.bytes += record.size;
    this.sizes.add(record.size);
    if (record.latencyUs !== undefined) this.latencies.add(record.latencyUs);
  }

  result(): OpStats {
    return {
      count: this.count,
      bytes: this.bytes,
      sizeBytes: this.sizes.summary(),
      latencyUs: this.latencies.summary(),
    };
  }
}

/** Accumulates RecordStats over records fed one at a time or in batches. */
export class TraceStatsAccumulator {
  readonly #reads = new OpAccumulator();
  readonly #writes = new OpAccumulator();
  #first = Number.POSITIVE_INFINITY;
  #last = Number.NEGATIVE_INFINITY;

  add(record: TraceRecord): void {
    (record.read ? this.#reads : this.#writes).add(record);
    const t = record.arrivalMs;
    if (t < this.#first) this.#first = t;
    if (t > this.#last) this.#last = t;
  }

  addAll(records: Iterable<TraceRecord>): void {
    for (const record of records) this.add(record);
  }

  result(): RecordStats {
    const reads = this.#reads.count;
    const writes = this.#writes.count;
    const records = reads + writes;
    const durationMs = records === 0 ? 0 : this.#last - this.#first;
    const perSecond = (n: number): number | null => (durationMs > 0 ? n / (durationMs / 1000) : null);
    return {
      records,
      reads: this.#reads.result(),
      writes: this.#writes.result(),
      readFraction: records === 0 ? 0 : reads / records,
      firstArrivalMs: records === 0 ? null : this.#first,
      lastArrivalMs: records === 0 ? null : this.#last,
      durationMs,
      iops: perSecond(records),
      readIops: perSecond(reads),
      writeIops: perSecond(writes),
    };
  }
}

/** Statistics of records already in hand (a generator's output, a test's array). */
export function recordStats(records: Iterable<TraceRecord>): RecordStats {
  const accumulator = new TraceStatsAccumulator();
  accumulator.addAll(records);
  return accumulator.result();
}

/** Statistics of a trace file in one streaming pass. */
export async function traceStats(path: string, options: ReadTraceOptions = {}): Promise<TraceStats> {
  const reader = openTrace(path, options);
  const accumulator = new TraceStatsAccumulator();
  for await (const batch of reader) accumulator.addAll(batch);
  const { skipped, errors, lines } = reader.summary;
  // Iteration has run, so the format was given or detected.
  return { file: path, format: reader.format!, skipped, errors, lines, ...accumulator.result() };
}
