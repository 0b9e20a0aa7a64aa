/**
 * A workload loaded into columns before a real-clock replay starts (as LinnOS's replayer parses its whole
 * trace first): reading and parsing during the replay would steal time from the I/O path.
 */
import { mergeBatchStreams } from '../array/engine.js';
import type { Workload } from '../array/run.js';
import { LakeError } from '../errors.js';
import { readBlkparseRecords } from '../trace/blkparse.js';
import { readBlktraceRecords } from '../trace/blktrace.js';
import { openTrace, type ReadTraceOptions } from '../trace/read.js';
import type { TraceRecord } from '../trace/types.js';

export interface ArrivalColumns {
  count: number;
  /** Scheduled times in us, non-decreasing (earlier ones are moved up to the previous time). */
  arrivalUs: Float64Array;
  /** Device number as the trace gives it; the engine takes it modulo the number of devices. */
  device: Int32Array;
  offset: Float64Array;
  size: Float64Array;
  /** 1 = read. */
  read: Uint8Array;
  /** Arrivals earlier than the one before them (replayed at the earlier one's time). */
  reordered: number;
  /** The largest size, bytes. */
  maxSize: number;
  writes: number;
}

export interface LoadArrivalsOptions {
  /** Keep arrivals before this time (ms, on the trace's clock). */
  untilMs?: number;
  /** Keep at most this many I/Os. */
  limit?: number;
  /** Divide arrival times by this (2 = twice the rate). */
  rateScale?: number;
}

class Builder {
  count = 0;
  arrivalUs = new Float64Array(1024);
  device = new Int32Array(1024);
  offset = new Float64Array(1024);
  size = new Float64Array(1024);
  read = new Uint8Array(1024);
  reordered = 0;
  maxSize = 0;
  writes = 0;
  #last = Number.NEGATIVE_INFINITY;

  add(r: TraceRecord, rateScale: number): void {
    if (this.count === this.arrivalUs.length) this.#grow();
    let us = (r.arrivalMs * 1000) / rateScale;
    if (us < this.#last) {
      this.reordered++;
      us = this.#last;
    }
    this.#last = us;
    const i = this.count++;
    this.arrivalUs[i] = us;
    this.device[i] = r.device;
    this.offset[i] = r.offset;
    this.size[i] = r.size;
    this.read[i] = r.read ? 1 : 0;
    if (!r.read) this.writes++;
    if (r.size > this.maxSize) this.maxSize = r.size;
  }

  #grow(): void {
    const n = this.arrivalUs.length * 2;
    const grow = <T extends Float64Array | Int32Array | Uint8Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.arrivalUs = grow(this.arrivalUs, new Float64Array(n));
    this.device = grow(this.device, new Int32Array(n));
    this.offset = grow(this.offset, new Float64Array(n));
    this.size = grow(this.size, new Float64Array(n));
    this.read = grow(this.read, new Uint8Array(n));
  }

  build(): ArrivalColumns {
    const n = this.count;
    return {
      count: n,
      arrivalUs: this.arrivalUs.slice(0, n),
      device: this.device.slice(0, n),
      offset: this.offset.slice(0, n),
      size: this.size.slice(0, n),
      read: this.read.slice(0, n),
      reordered: this.reordered,
      maxSize: this.maxSize,
      writes: this.writes,
    };
  }
}

/** Loads a workload (records in memory or streamed trace batches) into columns. */
export async function loadArrivals(
  workload: Workload,
  options: LoadArrivalsOptions = {},
): Promise<ArrivalColumns> {
  const builder = new Builder();
  const untilMs = options.untilMs ?? Number.POSITIVE_INFINITY;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const rateScale = options.rateScale ?? 1;
  const take = (r: TraceRecord): boolean => {
    if (builder.count >= limit || r.arrivalMs >= untilMs) return false;
    builder.add(r, rateScale);
    return true;
  };
  if (workload.kind === 'memory') {
    for (const r of workload.arrivals()) if (!take(r)) break;
  } else {
    // Read to the end even past the limit: stopping early would leave merged streams' files open.
    let taking = true;
    for await (const batch of workload.batches()) {
      if (!taking) continue;
      for (const r of batch) {
        taking = take(r);
        if (!taking) break;
      }
    }
  }
  return builder.build();
}

/** Columns from records in memory (tests, benchmarks). */
export function arrivalsOf(records: Iterable<TraceRecord>): ArrivalColumns {
  const builder = new Builder();
  for (const r of records) builder.add(r, 1);
  return builder.build();
}

/**
 * Trace files as a workload for `deviceCount` devices: one file spreads over the devices by its device
 * numbers (modulo the count); one file per device gives each device its own stream (as LinnOS replays).
 */
export function traceWorkload(
  paths: readonly string[],
  deviceCount: number,
  options: ReadTraceOptions,
): Workload {
  if (paths.length === 1) return { kind: 'stream', batches: () => openTrace(paths[0]!, options) };
  if (paths.length !== deviceCount) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `--trace names ${paths.length} files for ${deviceCount} devices: give one, or one per device`,
    );
  }
  return { kind: 'stream', batches: () => mergeBatchStreams(paths.map((p) => openTrace(p, options))) };
}

/** Capture formats of Linux block tracing (src/trace/blktrace.ts, src/trace/blkparse.ts). */
export type CaptureFormat = 'blktrace' | 'blkparse';

/**
 * A blktrace capture as a workload: binary per-CPU files (all of one capture) or one blkparse text file;
 * each request's issue becomes an arrival on the device of its rank in the capture.
 */
export async function captureWorkload(paths: readonly string[], format: CaptureFormat): Promise<Workload> {
  let records: TraceRecord[];
  if (format === 'blktrace') records = (await readBlktraceRecords(paths)).records;
  else {
    if (paths.length !== 1) throw new LakeError('LAKE_E_USAGE', '--format blkparse reads one text file');
    records = (await readBlkparseRecords(paths[0]!)).records;
  }
  return { kind: 'memory', arrivals: () => records };
}
