/**
 * A recorded trace with measured latencies as columns, in submit order: what the causal event stream,
 * the labelers and the evaluation share. Times are whole microseconds (the Heimdall replayer records
 * submit times to the microsecond and latencies in microseconds), so event order is exact.
 *
 * Submit order is the order of `submitMs` (the arrival time when a format records no submit time), ties
 * kept in file order — as Heimdall's tail_analyzer sorts by ts_submit (its pandas sort is not stable; ours
 * is, so equal submit times keep the order the replayer wrote them in).
 */
import { LakeError } from '../errors.js';
import type { TraceRecord } from '../trace/types.js';

export interface IoTable {
  readonly count: number;
  /** Submit time, whole us, ascending. */
  readonly submitUs: Float64Array;
  /** Measured latency, whole us (>= 0). */
  readonly latencyUs: Float64Array;
  /** submitUs + latencyUs. */
  readonly completeUs: Float64Array;
  /** Bytes. */
  readonly size: Float64Array;
  /** Byte offset. */
  readonly offset: Float64Array;
  /** 1 = read, 0 = write. */
  readonly read: Uint8Array;
  /** Position of the I/O in the input (file order). */
  readonly source: Int32Array;
}

export interface IoTableOptions {
  /** Keep only this trace device; required when the trace holds more than one. */
  device?: number;
  /** Named in error messages. */
  file?: string;
}

/** Columns of the I/Os of one device, sorted by submit time (stable). */
export function ioTableFromRecords(records: readonly TraceRecord[], options: IoTableOptions = {}): IoTable {
  const where = options.file ?? 'trace';
  const devices = new Set<number>();
  for (const r of records) devices.add(r.device);
  let device = options.device;
  if (device === undefined) {
    if (devices.size > 1) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `${where} holds devices ${[...devices].sort((a, b) => a - b).join(', ')}: choose one (--device N)`,
      );
    }
    device = devices.values().next().value ?? 0;
  } else if (!devices.has(device)) {
    throw new LakeError('LAKE_E_USAGE', `${where} holds no I/O of device ${device}`);
  }
  const kept: number[] = [];
  for (let k = 0; k < records.length; k++) {
    const r = records[k]!;
    if (r.device !== device) continue;
    if (r.latencyUs === undefined || !Number.isFinite(r.latencyUs) || r.latencyUs < 0) {
      throw new LakeError(
        'LAKE_E_TRACE_FORMAT',
        `${where}: record ${k + 1} has no measured latency: learning from a trace needs one per I/O ` +
          '(heimdall or linnos-output format); add --simulate to learn from a simulated SSD replaying it',
      );
    }
    kept.push(k);
  }
  const n = kept.length;
  const submitOf = (k: number): number => {
    const r = records[k]!;
    return Math.round((r.submitMs ?? r.arrivalMs) * 1000);
  };
  const submitKey = new Float64Array(n);
  for (let i = 0; i < n; i++) submitKey[i] = submitOf(kept[i]!);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  let sorted = true;
  for (let i = 1; i < n; i++) if (submitKey[i]! < submitKey[i - 1]!) sorted = false;
  // Typed-array sort is not guaranteed stable; break ties by input position.
  if (!sorted) order.sort((a, b) => submitKey[a]! - submitKey[b]! || a - b);

  const table = allocate(n);
  for (let i = 0; i < n; i++) {
    const k = kept[order[i]!]!;
    const r = records[k]!;
    table.submitUs[i] = submitKey[order[i]!]!;
    table.latencyUs[i] = Math.round(r.latencyUs!);
    table.completeUs[i] = table.submitUs[i]! + table.latencyUs[i]!;
    table.size[i] = r.size;
    table.offset[i] = r.offset;
    table.read[i] = r.read ? 1 : 0;
    table.source[i] = k;
  }
  return table;
}

function allocate(n: number): IoTable & { count: number } {
  return {
    count: n,
    submitUs: new Float64Array(n),
    latencyUs: new Float64Array(n),
    completeUs: new Float64Array(n),
    size: new Float64Array(n),
    offset: new Float64Array(n),
    read: new Uint8Array(n),
    source: new Int32Array(n),
  };
}

/** A copy with other latencies (completion times follow); for perturbation audits and tests. */
export function withLatencies(table: IoTable, latencyUs: Float64Array): IoTable {
  if (latencyUs.length !== table.count) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `withLatencies: ${latencyUs.length} latencies for ${table.count} I/Os`,
    );
  }
  const completeUs = new Float64Array(table.count);
  for (let i = 0; i < table.count; i++) completeUs[i] = table.submitUs[i]! + latencyUs[i]!;
  return { ...table, latencyUs: Float64Array.from(latencyUs), completeUs };
}

/** I/Os [from, to) as a table of their own (times unchanged). */
export function sliceTable(table: IoTable, from: number, to: number): IoTable {
  return {
    count: to - from,
    submitUs: table.submitUs.slice(from, to),
    latencyUs: table.latencyUs.slice(from, to),
    completeUs: table.completeUs.slice(from, to),
    size: table.size.slice(from, to),
    offset: table.offset.slice(from, to),
    read: table.read.slice(from, to),
    source: table.source.slice(from, to),
  };
}

/**
 * Tables one after another on one time line: each next table is shifted to start `gapUs` after the
 * previous one's last completion (to build a trace whose behaviour changes part-way).
 */
export function concatTables(tables: readonly IoTable[], gapUs = 1000): IoTable {
  const n = tables.reduce((s, t) => s + t.count, 0);
  const out = allocate(n);
  let at = 0;
  let shift = 0;
  let base = 0;
  for (const t of tables) {
    if (t.count === 0) continue;
    const start = t.submitUs[0]!;
    let lastComplete = 0;
    for (let i = 0; i < t.count; i++) {
      out.submitUs[at] = t.submitUs[i]! - start + shift;
      out.latencyUs[at] = t.latencyUs[i]!;
      out.completeUs[at] = out.submitUs[at]! + t.latencyUs[i]!;
      if (out.completeUs[at]! > lastComplete) lastComplete = out.completeUs[at]!;
      out.size[at] = t.size[i]!;
      out.offset[at] = t.offset[i]!;
      out.read[at] = t.read[i]!;
      out.source[at] = base + t.source[i]!;
      at++;
    }
    base += t.count;
    shift = lastComplete + gapUs;
  }
  return out;
}
