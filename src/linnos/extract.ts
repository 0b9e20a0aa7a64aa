/**
 * Offline LinnOS feature extraction: rebuild each device's live state (src/array/device-state.ts) from
 * recorded submissions and completions, and take the vector each read would have had at its submission.
 * Online admission and offline extraction share DeviceState and linnosFeatures, so given the same event
 * order they produce the same vectors.
 *
 * Event order contract (the same as the array engine's event queue, src/array/event-queue.ts):
 * - events run in virtual-time order: a submission at `submitUs`, a completion at `completeUs`;
 * - submissions are ranked by (submitUs, submitSeq) — records without `submitSeq` use their position in the
 *   input instead;
 * - at equal times a completion runs before a submission, unless that submission is the completing I/O's own
 *   or was ranked before it (so a zero-latency I/O completes right after its own submission, as in the
 *   engine, where its completion runs before anything submitted later at that instant);
 * - completions at equal times run in the rank order of their submissions (the engine schedules a
 *   completion when it submits, and equal-time events of one class run in scheduling order).
 *
 * Only the serving try of each I/O touches its device: a revoked try never reaches the device, so records
 * describe device occupancy exactly — except hedged I/Os, whose losing duplicate occupied another device
 * but is not recorded. Extract from replays without hedging (training traces are collected under the
 * baseline policy anyway).
 */
import { DeviceState } from '../array/device-state.js';
import type { IoRecord } from '../array/types.js';
import { LakeError } from '../errors.js';
import type { TraceRecord } from '../trace/types.js';
import { DatasetBuilder, type DeviceDataset } from './dataset.js';
import { LINNOS_HISTORY, linnosFeatures } from './features.js';

/** What extraction needs of a replayed I/O; an IoRecord has all of it. */
export type ReplayedIo = Pick<IoRecord, 'servedBy' | 'read' | 'size' | 'submitUs' | 'completeUs'> & {
  /** Global submission order of the serving try (breaks ties of equal submitUs); input order when absent. */
  submitSeq?: number;
  /**
   * Latency on the device, us, when known exactly (a trace's measured latency); otherwise
   * completeUs - submitUs, as the array engine computes it.
   */
  deviceLatencyUs?: number;
};

/** Columns of the I/Os to replay (struct of arrays, so a million records cost no objects). */
class IoColumns {
  count = 0;
  device = new Int32Array(1024);
  read = new Uint8Array(1024);
  size = new Float64Array(1024);
  submitUs = new Float64Array(1024);
  completeUs = new Float64Array(1024);
  latencyUs = new Float64Array(1024);
  seq = new Float64Array(1024);

  add(r: ReplayedIo): void {
    const n = this.count;
    if (n === this.device.length) this.#grow();
    if (!(r.completeUs >= r.submitUs)) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `record ${n}: completeUs (${r.completeUs}) must not be before submitUs (${r.submitUs})`,
      );
    }
    this.device[n] = r.servedBy;
    this.read[n] = r.read ? 1 : 0;
    this.size[n] = r.size;
    this.submitUs[n] = r.submitUs;
    this.completeUs[n] = r.completeUs;
    this.latencyUs[n] = r.deviceLatencyUs ?? r.completeUs - r.submitUs;
    this.seq[n] = r.submitSeq ?? n;
    this.count = n + 1;
  }

  #grow(): void {
    const capacity = this.device.length * 2;
    this.device = grow(this.device, new Int32Array(capacity));
    this.read = grow(this.read, new Uint8Array(capacity));
    this.size = grow(this.size, new Float64Array(capacity));
    this.submitUs = grow(this.submitUs, new Float64Array(capacity));
    this.completeUs = grow(this.completeUs, new Float64Array(capacity));
    this.latencyUs = grow(this.latencyUs, new Float64Array(capacity));
    this.seq = grow(this.seq, new Float64Array(capacity));
  }
}

function grow<T extends Int32Array | Uint8Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** Record indices sorted by `key`, ties by `tie`; skips the sort when already in order (the usual case). */
function sortedBy(n: number, key: Float64Array, tie: Float64Array): Int32Array {
  const order = new Int32Array(n);
  let sorted = true;
  for (let i = 0; i < n; i++) {
    order[i] = i;
    if (i > 0 && (key[i]! < key[i - 1]! || (key[i] === key[i - 1] && tie[i]! < tie[i - 1]!))) sorted = false;
  }
  if (!sorted) order.sort((a, b) => key[a]! - key[b]! || tie[a]! - tie[b]!);
  return order;
}

/**
 * One dataset per serving device (ascending device number): the vector of every read submitted when its
 * device had completed >= 4 reads, the read's latency on that device (`deviceLatencyUs`, else
 * completeUs - submitUs), and the record's position in the input as `index`. Rows are in submission order.
 * `devices` restricts the output (and the work) to those devices.
 */
export function extractLinnosDataset(
  records: Iterable<ReplayedIo>,
  devices?: readonly number[],
): DeviceDataset[] {
  const io = new IoColumns();
  for (const r of records) io.add(r);
  return extractFromColumns(io, devices);
}

function extractFromColumns(io: IoColumns, devices: readonly number[] | undefined): DeviceDataset[] {
  const n = io.count;
  const wanted = devices === undefined ? undefined : new Set(devices);

  const submitOrder = sortedBy(n, io.submitUs, io.seq);
  const rank = new Float64Array(n);
  for (let k = 0; k < n; k++) rank[submitOrder[k]!] = k;
  const completeOrder = sortedBy(n, io.completeUs, rank);

  const states = new Map<number, DeviceState>();
  const builders = new Map<number, DatasetBuilder>();
  const pendingAtIssue = new Float64Array(n);

  let s = 0;
  let c = 0;
  while (c < n) {
    const ci = completeOrder[c]!;
    let doSubmit = false;
    if (s < n) {
      const si = submitOrder[s]!;
      const st = io.submitUs[si]!;
      const ct = io.completeUs[ci]!;
      doSubmit = st < ct || (st === ct && rank[si]! <= rank[ci]!);
    }
    if (doSubmit) {
      const i = submitOrder[s++]!;
      const device = io.device[i]!;
      if (wanted !== undefined && !wanted.has(device)) continue;
      let state = states.get(device);
      if (state === undefined) {
        state = new DeviceState(device);
        states.set(device, state);
        builders.set(device, new DatasetBuilder());
      }
      if (io.read[i] === 1 && state.completedReads >= LINNOS_HISTORY) {
        const builder = builders.get(device)!;
        const at = builder.append(io.latencyUs[i]!, i);
        linnosFeatures(state, io.size[i]!, builder.vectors, at);
      }
      pendingAtIssue[i] = state.submit(io.size[i]!);
    } else {
      c++;
      const state = states.get(io.device[ci]!);
      if (state === undefined) continue; // a device not wanted
      state.complete(
        io.read[ci] === 1,
        io.size[ci]!,
        pendingAtIssue[ci]!,
        io.latencyUs[ci]!,
        io.completeUs[ci]!,
      );
    }
  }

  return [...builders.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([device, builder]) => ({ device, ...builder.build() }));
}

/**
 * A trace record with a measured latency (LinnOS replayer output, Heimdall replayer output) as a replayed
 * I/O: served by the trace's device, submitted at `submitMs` (the arrival time when the format has none) and
 * completed `latencyUs` later; `k`, its position in the trace, orders equal submission times.
 */
export function traceRecordAsReplayed(r: TraceRecord, k: number): ReplayedIo {
  if (r.latencyUs === undefined) {
    throw new LakeError(
      'LAKE_E_TRACE_FORMAT',
      `trace record ${k} has no latency: LinnOS features need a trace with per-I/O latency (replay it first)`,
    );
  }
  const submitUs = (r.submitMs ?? r.arrivalMs) * 1000;
  return {
    servedBy: r.device,
    read: r.read,
    size: r.size,
    submitUs,
    completeUs: submitUs + r.latencyUs,
    submitSeq: k,
    deviceLatencyUs: r.latencyUs,
  };
}

/** Offline LinnOS vectors from a trace with per-I/O latency, one dataset per trace device. */
export function extractLinnosFromTrace(
  records: Iterable<TraceRecord>,
  devices?: readonly number[],
): DeviceDataset[] {
  const io = new IoColumns();
  let k = 0;
  for (const r of records) io.add(traceRecordAsReplayed(r, k++));
  return extractFromColumns(io, devices);
}

/** The same from batches of trace records (a streaming reader such as src/trace's openTrace). */
export async function extractLinnosFromTraceBatches(
  batches: AsyncIterable<readonly TraceRecord[]>,
  devices?: readonly number[],
): Promise<DeviceDataset[]> {
  const io = new IoColumns();
  let k = 0;
  for await (const batch of batches) for (const r of batch) io.add(traceRecordAsReplayed(r, k++));
  return extractFromColumns(io, devices);
}
