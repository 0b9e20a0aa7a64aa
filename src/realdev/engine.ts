/**
 * The real-clock replay engine: the counterpart of the virtual-clock engine (src/array/engine.ts) for real
 * devices. Same semantics, kept in step with it:
 * - each I/O's home device is `device % devices.length`; writes go to their home device;
 * - every latency-critical read try that is not on the last replica is offered to the admission policy when
 *   it is issued to its device, before it joins the device's queue (as LinnOS decides in the submission
 *   path, before the block layer queues the request); a revoked try never reaches the device, and the read
 *   is re-issued on the next replica after the revoke cost; the last replica is never revoked;
 * - hedging: a read not complete `hedgeAfterUs` after its try was issued is duplicated on the next replica;
 *   the first completion serves it (the timer starts where the virtual-clock engine starts it, and where the
 *   baseline's latency percentile it is set from starts counting);
 * - one DeviceState per device, updated when a try is issued and when its completion is seen, so pending
 *   pages count exactly the I/Os the device's queue holds (never negative, 0 at the end);
 * - the same IoRecords, latency sinks and ReplayResult counters.
 *
 * What real devices add: arrivals are honoured on the wall clock (the engine wakes early and spins onto
 * each arrival's time), at most `queueDepth` tries are in the kernel per device (the rest wait in a FIFO
 * per device, like requests waiting for a tag in the block layer: part of the device's queue, so they count
 * as pending, their wait is part of the device latency the policy and its features see, and a policy's
 * verdict never comes after such a wait), and late/slack counts are kept as LinnOS's replayer keeps them.
 * A try still waiting in a FIFO when its read has completed (served by a hedged duplicate) is cancelled and
 * never reaches the device. Decisions that take time (ArrayContext.hold/release/wakeAt: batching,
 * inference) work as in the virtual-clock engine, on the wall clock: a held try is not issued until it is
 * released with its verdict. Latencies are measured on the backend's monotonic clock: a try's device
 * latency (features, records) runs from its issue to the moment its completion was seen; its kernel time
 * (`deviceTime`, compared with /proc/diskstats) from just before its batch entered the kernel; an I/O's
 * latency runs from when the engine took it up (its scheduled time, or later when the engine fell behind:
 * that lag is reported as lateness, as LinnOS's replayer measures from after its sleep) to its first
 * completion.
 */

import { DeviceState } from '../array/device-state.js';
import type { ReplayResult } from '../array/engine.js';
import { ACTION, EventQueue } from '../array/event-queue.js';
import { type ReplayOutputs, recordLatency } from '../array/outputs.js';
import type { AdmissionPolicy, ArrayContext, ReadTry } from '../array/policy.js';
import { LakeError, usageError } from '../errors.js';
import { LatencyRecorder } from '../report/histogram.js';
import type { ArrivalColumns } from './arrivals.js';
import type { BackendKind, IoBackend } from './backend.js';
import { placedOffset, placedSize } from './place.js';

export const DEFAULT_QUEUE_DEPTH = 32;
export const DEFAULT_REVOKE_COST_US = 5;
/** Spin this long for a completion before sleeping in the kernel (a VM's wake-up costs ~20 us). */
export const DEFAULT_SPIN_US = 100;
/** An I/O taken up more than this after its scheduled time counts as late. */
export const DEFAULT_LATE_AFTER_US = 10;
/** LinnOS's replayer does not wait out gaps longer than this (it counts them as slack); lake does. */
export const SLACK_GAP_US = 100_000;
/** Wake this long before a deadline, then spin onto it (timer wake-ups are late by tens of us). */
const EARLY_WAKE_US = 200;
/** With nothing in flight and nothing due for this long, sleep on the event loop (frees the CPU). */
const IDLE_SLEEP_US = 5000;
/** The longest single wait in the backend. */
const MAX_WAIT_US = 1_000_000;
/** Arrivals taken per round at most before the engine submits and looks at completions again. */
const TAKE_PER_ROUND = 64;
/** Let the event loop run at least this often. */
const YIELD_EVERY_US = 100_000;

const KIND_RETRY = 1;
const KIND_HEDGE = 2;
const KIND_RELEASE = 3;
const KIND_TIMER = 4;

// A try's admission state: asked as it leaves its FIFO, unless it already has its verdict.
const ADMIT_ASK = 0;
const ADMIT_HELD = 1;
const ADMIT_RELEASED = 2;
const ADMIT_DONE = 3;

/** A try about to enter the kernel (for tests that check where reads went). */
export interface SubmitEvent {
  /** Index of the I/O in its home device's stream. */
  index: number;
  home: number;
  device: number;
  read: boolean;
  /** Revokes before this try. */
  attempt: number;
  /** A hedged duplicate. */
  hedge: boolean;
}

/** What the engine needs of a device (a RealDevice, or a simulated one under the virtual backend). */
export interface ReplayDevice {
  readonly path: string;
  /** Transfers are placed on multiples of this (1: offsets and sizes as the trace gives them). */
  readonly blockBytes: number;
  readonly capacityBytes: number;
  readonly writable: boolean;
  readonly closed: boolean;
}

export interface RealReplayOptions extends ReplayOutputs {
  devices: readonly ReplayDevice[];
  backend: IoBackend;
  policy: AdmissionPolicy;
  /** Tries in flight per device at most (default 32). */
  queueDepth?: number;
  revokeCostUs?: number;
  lcReads?: boolean;
  lateAfterUs?: number;
  spinUs?: number;
  onSubmit?: (event: SubmitEvent) => void;
  onProgress?: (arrived: number) => void;
  progressEvery?: number;
  /** Measure the engine's own time per I/O beyond the device's (a clock read per try). */
  measureOverhead?: boolean;
}

/** Kernel time of one device's tries (every try that reached it, hedging losers included): from just before
 * a try's batch entered the kernel to its completion, the time /proc/diskstats measures too. */
export interface DeviceTime {
  reads: number;
  readMeanUs: number;
  writes: number;
  writeMeanUs: number;
}

export interface LagSummary {
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
}

export interface RealReplayResult extends ReplayResult {
  backend: BackendKind;
  queueDepth: number;
  /** I/Os taken up more than lateAfterUs after their scheduled time. */
  late: number;
  lateFraction: number;
  lateAfterUs: number;
  /** I/Os scheduled more than 100 ms after the previous one of their stream. */
  slack: number;
  /** How long after its scheduled time each I/O was taken up. */
  lag: LagSummary;
  /** Tries dropped from a device's FIFO before reaching the kernel because their read had completed (served
   * by a hedged duplicate or by the try it duplicated). */
  cancelledHedges: number;
  /** Device completions of I/Os already served (hedging losers), ignored but accounted. */
  ignoredCompletions: number;
  /** Tries that failed or transferred fewer bytes than asked (their I/O is recorded with ok = 0). */
  ioErrors: number;
  firstError?: string;
  deviceTime: DeviceTime[];
  /** Wall time from the first arrival to the last completion, ms. */
  wallMs: number;
  /** With measureOverhead: where the engine's time went (see EngineCost). */
  cost?: EngineCost;
}

/**
 * The engine's own cost, measured with measureOverhead. Per device try:
 * - engineUsPerTry: time the engine's thread spent in JavaScript (arrivals, admission, bookkeeping,
 *   records) — everything but the backend's calls (submission syscalls, waits, polls);
 * - submitDelay: from the moment a try left its FIFO (admission included) to just before its batch
 *   entered the kernel: what the engine adds to an I/O's latency on the way in;
 * - syscallUsPerTry: time in the backend's submission calls (the kernel's issue path, which fio pays as
 *   submission latency too).
 */
export interface EngineCost {
  tries: number;
  engineUsPerTry: number;
  submitDelay: LagSummary;
  syscallUsPerTry: number;
  /** Time waiting for the device or the clock, per try. */
  waitUsPerTry: number;
}

/** A growable FIFO of try slots (one per device). */
class SlotQueue {
  #items = new Int32Array(64);
  #head = 0;
  #size = 0;
  get size(): number {
    return this.#size;
  }
  push(slot: number): void {
    if (this.#size === this.#items.length) {
      const bigger = new Int32Array(this.#items.length * 2);
      for (let i = 0; i < this.#size; i++) bigger[i] = this.#items[(this.#head + i) % this.#items.length]!;
      this.#items = bigger;
      this.#head = 0;
    }
    this.#items[(this.#head + this.#size++) % this.#items.length] = slot;
  }
  shift(): number {
    const slot = this.#items[this.#head]!;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#size--;
    return slot;
  }
}

function grown<T extends Float64Array | Int32Array | Uint8Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

function summary(recorder: LatencyRecorder): LagSummary {
  if (recorder.count === 0) return { meanUs: 0, p50Us: 0, p90Us: 0, p99Us: 0, maxUs: 0 };
  return {
    meanUs: recorder.avgUs,
    p50Us: recorder.percentileUs(50),
    p90Us: recorder.percentileUs(90),
    p99Us: recorder.percentileUs(99),
    maxUs: recorder.maxUs,
  };
}

function checkOptions(options: RealReplayOptions, n: number): void {
  if (n < 1) throw usageError('options.devices must hold at least one device');
  const qd = options.queueDepth ?? DEFAULT_QUEUE_DEPTH;
  if (!(Number.isInteger(qd) && qd >= 1 && qd <= 4096))
    throw usageError(`options.queueDepth must be an integer in 1..4096, got ${qd}`);
  for (const [name, value] of [
    ['revokeCostUs', options.revokeCostUs],
    ['lateAfterUs', options.lateAfterUs],
    ['spinUs', options.spinUs],
  ] as const) {
    if (value !== undefined && !(value >= 0 && Number.isFinite(value)))
      throw usageError(`options.${name} must be a finite number >= 0, got ${value}`);
  }
}

/**
 * Replays `arrivals` on real devices through `backend`; resolves when the last I/O has completed. The
 * backend must have been created for these devices with room for devices x queueDepth I/Os in flight.
 */
export async function replayReal(
  arrivals: ArrivalColumns,
  options: RealReplayOptions,
): Promise<RealReplayResult> {
  const devices = options.devices;
  const n = devices.length;
  checkOptions(options, n);
  const backend = options.backend;
  const policy = options.policy;
  const queueDepth = options.queueDepth ?? DEFAULT_QUEUE_DEPTH;
  const revokeCostUs = options.revokeCostUs ?? DEFAULT_REVOKE_COST_US;
  const lcReads = options.lcReads ?? true;
  const lateAfterUs = options.lateAfterUs ?? DEFAULT_LATE_AFTER_US;
  const spinUs = options.spinUs ?? DEFAULT_SPIN_US;
  const hedgeAfterUs = policy.hedgeAfterUs;
  const hedging = hedgeAfterUs !== undefined && Number.isFinite(hedgeAfterUs) && n > 1;
  const admit = policy.admit?.bind(policy);
  const onReadComplete = policy.onReadComplete?.bind(policy);
  const { onRecord, onSubmit, onProgress } = options;
  const progressEvery = options.progressEvery ?? 65536;
  const measure = options.measureOverhead === true;
  for (const d of devices) {
    if (d.closed) throw usageError(`${d.path}: the device is closed`);
    if (arrivals.writes > 0 && !d.writable)
      throw usageError(`${d.path} is open read-only and the workload writes`);
  }

  const states = devices.map((_, i) => new DeviceState(i));
  const timers = new EventQueue();
  // Held tries: the one being admitted (while admit runs), how many wait for release, policy timers.
  let admitting = -1;
  let heldDuringAdmit = false;
  let heldWaiting = 0;
  const callbacks: (((nowUs: number) => void) | undefined)[] = [];
  const freeCallbacks: number[] = [];
  const context: ArrayContext = {
    devices: states,
    revokeCostUs,
    peekReadUs: (device, offset, size, atUs) => {
      if (backend.peekReadUs === undefined) {
        throw new LakeError(
          'LAKE_E_USAGE',
          `${devices[device]!.path}: a real device cannot tell a read's future latency (the greedy oracle runs on simulated devices only)`,
        );
      }
      return backend.peekReadUs(device, offset, size, origin + atUs) - origin;
    },
    hold(): number {
      if (admitting < 0) throw new RangeError('hold() may only be called from admit()');
      if (!heldDuringAdmit) {
        heldDuringAdmit = true;
        tryAdmit[admitting] = ADMIT_HELD;
        heldWaiting++;
        result.heldTries = (result.heldTries ?? 0) + 1;
      }
      return admitting;
    },
    release(ticket: number, revoke: boolean, atUs: number): void {
      if (!(ticket >= 0 && ticket < nextTry) || tryAdmit[ticket] !== ADMIT_HELD)
        throw new RangeError(`release(${ticket}): no read try is held with this ticket`);
      tryAdmit[ticket] = ADMIT_RELEASED;
      tryRevoke[ticket] = revoke ? 1 : 0;
      heldWaiting--;
      timers.push(Math.max(now, origin + atUs), ACTION, KIND_RELEASE, ticket);
    },
    wakeAt(atUs: number, fire: (nowUs: number) => void): void {
      const id = freeCallbacks.pop() ?? callbacks.length;
      callbacks[id] = fire;
      timers.push(Math.max(now, origin + atUs), ACTION, KIND_TIMER, id);
    },
  };

  // Per application I/O (the whole workload is in memory: index = position in `arrivals`).
  const count = arrivals.count;
  const ioTakenUs = new Float64Array(count);
  const ioIndex = new Float64Array(count);
  const ioHome = new Int32Array(count);
  const ioAttempt = new Int32Array(count);
  const ioServing = new Int32Array(count);
  const ioDone = new Uint8Array(count);
  const ioHedged = new Uint8Array(count);
  const ioFailed = new Uint8Array(count);
  // Per device try: a pool of slots; a slot's number is what the backend hands back on completion.
  let tryCapacity = 0;
  const freeTries: number[] = [];
  let tryIo = new Int32Array(0);
  let tryDevice = new Int32Array(0);
  let tryHedge = new Uint8Array(0);
  let tryPending = new Float64Array(0);
  let trySubmitUs = new Float64Array(0);
  let tryIssueUs = new Float64Array(0);
  let trySeq = new Float64Array(0);
  let tryPickedUs = new Float64Array(0);
  let tryBytes = new Float64Array(0);
  let tryAdmit = new Uint8Array(0);
  let tryRevoke = new Uint8Array(0);
  let nextTry = 0;
  const allocTry = (): number => {
    const slot = freeTries.pop();
    if (slot !== undefined) return slot;
    if (nextTry === tryCapacity) {
      tryCapacity = Math.max(256, tryCapacity * 2);
      tryIo = grown(tryIo, tryCapacity);
      tryDevice = grown(tryDevice, tryCapacity);
      tryHedge = grown(tryHedge, tryCapacity);
      tryPending = grown(tryPending, tryCapacity);
      trySubmitUs = grown(trySubmitUs, tryCapacity);
      tryIssueUs = grown(tryIssueUs, tryCapacity);
      trySeq = grown(trySeq, tryCapacity);
      tryPickedUs = grown(tryPickedUs, tryCapacity);
      tryBytes = grown(tryBytes, tryCapacity);
      tryAdmit = grown(tryAdmit, tryCapacity);
      tryRevoke = grown(tryRevoke, tryCapacity);
    }
    return nextTry++;
  };

  const waiting = devices.map(() => new SlotQueue());
  const busy = new Int32Array(n);
  let busyTotal = 0;
  const streamIndex = new Float64Array(n);
  const lastArrivalByHome = new Float64Array(n).fill(Number.NaN);
  const batch: number[] = [];
  const readTry: ReadTry = { index: 0, home: 0, device: 0, offset: 0, size: 0, nowUs: 0, attempt: 0 };
  const lag = new LatencyRecorder();
  const submitDelay = measure ? new LatencyRecorder() : undefined;
  let syscallUs = 0;
  let waitedUs = 0;
  const deviceReads = new Float64Array(n);
  const deviceReadUs = new Float64Array(n);
  const deviceWrites = new Float64Array(n);
  const deviceWriteUs = new Float64Array(n);
  const result: RealReplayResult = {
    ios: 0,
    reads: 0,
    writes: 0,
    extraIos: 0,
    revokes: 0,
    hedgedReads: 0,
    failedOver: 0,
    reorderedArrivals: arrivals.reordered,
    policyFaults: 0,
    heldTries: 0,
    endUs: 0,
    backend: backend.kind,
    queueDepth,
    late: 0,
    lateFraction: 0,
    lateAfterUs,
    slack: 0,
    lag: { meanUs: 0, p50Us: 0, p90Us: 0, p99Us: 0, maxUs: 0 },
    cancelledHedges: 0,
    ignoredCompletions: 0,
    ioErrors: 0,
    deviceTime: [],
    wallMs: 0,
  };
  let submitSeq = 0;
  /** Tries that entered the kernel. */
  let deviceTries = 0;
  const clock = (): number => backend.nowUs();
  // The wall-clock instant of trace time 0: the first arrival is due a moment from now.
  const firstUs = count > 0 ? arrivals.arrivalUs[0]! : 0;
  const origin = clock() + 100 - firstUs;
  let now = origin + firstUs;
  policy.start?.(context);

  /** A revoked try: its read goes to the next replica after the revoke cost. */
  const revokeTry = (t: number): void => {
    const io = tryIo[t]!;
    result.revokes++;
    ioAttempt[io]!++;
    freeTries.push(t);
    timers.push(now + revokeCostUs, ACTION, KIND_RETRY, io);
  };

  /** A read try offered to the policy (unless it needs no verdict), then revoked, held or issued. */
  const admitTry = (t: number): void => {
    const io = tryIo[t]!;
    const attempt = ioAttempt[io]!;
    if (
      tryAdmit[t] === ADMIT_ASK &&
      arrivals.read[io] === 1 &&
      tryHedge[t] === 0 &&
      admit !== undefined &&
      lcReads &&
      attempt < n - 1
    ) {
      readTry.index = ioIndex[io]!;
      readTry.home = ioHome[io]!;
      readTry.device = tryDevice[t]!;
      readTry.offset = arrivals.offset[io]!;
      readTry.size = arrivals.size[io]!;
      readTry.nowUs = now - origin;
      readTry.attempt = attempt;
      admitting = t;
      heldDuringAdmit = false;
      let revoke = false;
      try {
        revoke = admit(readTry, context);
      } catch {
        result.policyFaults++;
        revoke = false;
        // (admit may have changed the try's state: read it afresh)
        if (heldDuringAdmit && (tryAdmit[t] as number) === ADMIT_HELD) {
          // A policy that held the try and then threw will not release it: take it back.
          tryAdmit[t] = ADMIT_ASK;
          heldWaiting--;
          result.heldTries = (result.heldTries ?? 1) - 1;
          heldDuringAdmit = false;
        }
      }
      admitting = -1;
      // Held: it is issued (or revoked) when the policy releases it.
      if (heldDuringAdmit) return;
      if (revoke) {
        revokeTry(t);
        return;
      }
    }
    issueTry(t);
  };

  /**
   * A try goes to its device: it joins the device's queue (pending from now on; its device latency and its
   * hedge timer start now) and enters the kernel at once when a slot is free and nothing waits before it.
   */
  const issueTry = (t: number): void => {
    const io = tryIo[t]!;
    const device = tryDevice[t]!;
    const read = arrivals.read[io] === 1;
    const hedge = tryHedge[t] === 1;
    tryPending[t] = states[device]!.submit(arrivals.size[io]!);
    tryIssueUs[t] = now;
    trySeq[t] = submitSeq++;
    if (!hedge) {
      ioServing[io] = device;
      if (hedging && read) timers.push(now + hedgeAfterUs!, ACTION, KIND_HEDGE, io);
    }
    if (busy[device]! < queueDepth && waiting[device]!.size === 0) startTry(t);
    else waiting[device]!.push(t);
  };

  /** A try leaves its device's FIFO for the kernel, unless its read completed while it waited. */
  const startTry = (t: number): void => {
    const io = tryIo[t]!;
    const device = tryDevice[t]!;
    if (ioDone[io] === 1) {
      // Served meanwhile by another try (a hedge, or the try a hedge duplicated): it never reaches the device.
      result.cancelledHedges++;
      states[device]!.withdraw(arrivals.size[io]!);
      freeTries.push(t);
      return;
    }
    const read = arrivals.read[io] === 1;
    if (measure) tryPickedUs[t] = clock();
    const size = arrivals.size[io]!;
    const target = devices[device]!;
    const bytes = placedSize(size, target.blockBytes, target.capacityBytes);
    const offset = placedOffset(arrivals.offset[io]!, bytes, target.blockBytes, target.capacityBytes);
    tryBytes[t] = bytes;
    busy[device]!++;
    busyTotal++;
    deviceTries++;
    onSubmit?.({
      index: ioIndex[io]!,
      home: ioHome[io]!,
      device,
      read,
      attempt: ioAttempt[io]!,
      hedge: tryHedge[t] === 1,
    });
    backend.queue(t, device, !read, offset, bytes);
    batch.push(t);
  };

  const enqueue = (io: number, device: number, hedge: boolean): void => {
    const t = allocTry();
    tryIo[t] = io;
    tryDevice[t] = device;
    tryHedge[t] = hedge ? 1 : 0;
    tryAdmit[t] = ADMIT_ASK;
    admitTry(t);
  };

  const pump = (device: number): void => {
    const fifo = waiting[device]!;
    while (busy[device]! < queueDepth && fifo.size > 0) startTry(fifo.shift());
  };

  /** The batch entered the kernel at `at`: stamp its tries. */
  const flush = (): void => {
    if (batch.length === 0) return;
    const at = backend.flush();
    if (measure) syscallUs += clock() - at;
    for (const t of batch) {
      if (measure) submitDelay!.record(Math.max(0, at - tryPickedUs[t]!));
      trySubmitUs[t] = at;
    }
    batch.length = 0;
  };

  const take = (io: number): void => {
    const scheduled = origin + arrivals.arrivalUs[io]!;
    const home = ((arrivals.device[io]! % n) + n) % n;
    const behind = now - scheduled;
    lag.record(Math.max(0, behind));
    if (behind > lateAfterUs) result.late++;
    const previous = lastArrivalByHome[home]!;
    if (arrivals.arrivalUs[io]! - previous > SLACK_GAP_US) result.slack++;
    lastArrivalByHome[home] = arrivals.arrivalUs[io]!;
    ioTakenUs[io] = now;
    ioHome[io] = home;
    ioIndex[io] = streamIndex[home]!++;
    result.ios++;
    if (arrivals.read[io] === 1) result.reads++;
    else result.writes++;
    enqueue(io, home, false);
    if (onProgress !== undefined && result.ios % progressEvery === 0) onProgress(result.ios);
  };

  const complete = (t: number, res: number, completeUs: number): void => {
    const io = tryIo[t]!;
    const device = tryDevice[t]!;
    const read = arrivals.read[io] === 1;
    const size = arrivals.size[io]!;
    const issueUs = tryIssueUs[t]!;
    // The completion was seen after the batch was submitted; clocks are the same, but never let rounding
    // make a negative latency.
    const end = Math.max(completeUs, trySubmitUs[t]!);
    const kernelUs = end - trySubmitUs[t]!;
    // What the device's queue cost this try, its wait for a slot included: what the policy learns from.
    const deviceUs = end - issueUs;
    busy[device]!--;
    busyTotal--;
    const state = states[device]!;
    state.complete(read, size, tryPending[t]!, deviceUs, end - origin);
    if (state.pendingPages < 0 || state.inFlight < 0)
      throw new LakeError('LAKE_E_INTERNAL', `device ${device}: pending pages went negative`);
    if (read) {
      deviceReads[device]!++;
      deviceReadUs[device]! += kernelUs;
      onReadComplete?.(device, deviceUs, end - origin);
    } else {
      deviceWrites[device]!++;
      deviceWriteUs[device]! += kernelUs;
    }
    if (res !== tryBytes[t]) {
      result.ioErrors++;
      ioFailed[io] = 1;
      result.firstError ??= `${devices[device]!.path}: ${read ? 'read' : 'write'} of ${tryBytes[t]} B returned ${res < 0 ? `errno ${-res}` : `${res} B`}`;
    }
    if (ioDone[io] === 0) {
      ioDone[io] = 1;
      const latencyUs = end - ioTakenUs[io]!;
      const home = ioHome[io]!;
      if (recordLatency(options, read, home, device, latencyUs)) result.failedOver++;
      if (onRecord !== undefined) {
        onRecord({
          index: ioIndex[io]!,
          device: home,
          arrivalMs: arrivals.arrivalUs[io]! / 1000,
          latencyUs,
          read,
          size,
          offset: arrivals.offset[io]!,
          submitMs: (issueUs - origin) / 1000,
          ok: ioFailed[io] === 1 ? 0 : 1,
          servedBy: device,
          revokes: ioAttempt[io]!,
          pendingAtIssue: tryPending[t]!,
          submitUs: issueUs - origin,
          completeUs: end - origin,
          hedged: ioHedged[io] === 1,
          submitSeq: trySeq[t]!,
        });
      }
    } else {
      result.ignoredCompletions++;
    }
    if (end - origin > result.endUs) result.endUs = end - origin;
    freeTries.push(t);
  };

  const completions = backend.completions;
  const processCompletions = (k: number): void => {
    if (k === 0) return;
    for (let i = 0; i < k; i++)
      complete(completions[i * 3]!, completions[i * 3 + 1]!, completions[i * 3 + 2]!);
    // Freed slots go to waiting tries.
    for (let d = 0; d < n; d++) if (waiting[d]!.size > 0) pump(d);
  };
  const poll = (): number => {
    if (!measure) return backend.poll();
    const before = clock();
    const k = backend.poll();
    waitedUs += clock() - before;
    return k;
  };

  const fireTimer = (): void => {
    timers.pop();
    const io = timers.lastPayload;
    switch (timers.lastKind) {
      case KIND_RETRY:
        enqueue(io, (ioHome[io]! + ioAttempt[io]!) % n, false);
        break;
      case KIND_HEDGE:
        if (ioDone[io] === 0 && ioHedged[io] === 0) {
          ioHedged[io] = 1;
          result.hedgedReads++;
          enqueue(io, (ioServing[io]! + 1) % n, true);
        }
        break;
      case KIND_RELEASE: {
        const t = io;
        tryAdmit[t] = ADMIT_DONE;
        if (tryRevoke[t] === 1) revokeTry(t);
        else issueTry(t);
        break;
      }
      case KIND_TIMER: {
        const fire = callbacks[io]!;
        callbacks[io] = undefined;
        freeCallbacks.push(io);
        try {
          fire(now - origin);
        } catch {
          result.policyFaults++;
        }
        break;
      }
    }
  };

  let next = 0;
  let carried = 0;
  const started = origin + firstUs;
  let lastYield = clock();
  for (;;) {
    processCompletions(carried > 0 ? carried : poll());
    carried = 0;
    // Tries freed by completions go in first.
    flush();
    now = clock();
    // Timers and arrivals in time order; at equal times the arrival first (the virtual-clock engine's order).
    const takeUntil = Math.min(count, next + TAKE_PER_ROUND);
    for (;;) {
      const arrivalAt = next < takeUntil ? origin + arrivals.arrivalUs[next]! : Number.POSITIVE_INFINITY;
      const timerAt = timers.size > 0 ? timers.peekTime() : Number.POSITIVE_INFINITY;
      if (arrivalAt <= now && arrivalAt <= timerAt) take(next++);
      else if (timerAt <= now) fireTimer();
      else break;
    }
    flush();
    if (next >= count && timers.size === 0 && busyTotal === 0) {
      if (heldWaiting === 0) break;
      // The policy never released these: submit them now rather than lose their reads.
      for (let t = 0; t < nextTry; t++) {
        if (tryAdmit[t] !== ADMIT_HELD) continue;
        result.policyFaults++;
        heldWaiting--;
        tryAdmit[t] = ADMIT_DONE;
        issueTry(t);
      }
      flush();
      continue;
    }

    if (next < count && origin + arrivals.arrivalUs[next]! <= now) continue; // more due: submit them first
    const nextDue = Math.min(
      next < count ? origin + arrivals.arrivalUs[next]! : Number.POSITIVE_INFINITY,
      timers.peekTime(),
    );
    now = clock();
    if (now - lastYield > YIELD_EVERY_US) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = clock();
      continue;
    }
    const ahead = nextDue - now;
    if (busyTotal === 0 && ahead > IDLE_SLEEP_US && backend.kind !== 'virtual') {
      await new Promise<void>((resolve) => setTimeout(resolve, (ahead - EARLY_WAKE_US * 10) / 1000));
      lastYield = clock();
      if (measure) waitedUs += lastYield - now;
      continue;
    }
    // Nothing due (only completions to wait for): wake at least every MAX_WAIT_US anyway.
    const until = ahead > EARLY_WAKE_US ? Math.min(nextDue - EARLY_WAKE_US, now + MAX_WAIT_US) : nextDue;
    const spin = ahead > EARLY_WAKE_US ? spinUs : Math.max(0, ahead);
    const waitStart = measure ? now : 0;
    const waited = backend.wait(until, spin);
    carried = typeof waited === 'number' ? waited : await waited;
    if (measure) waitedUs += clock() - waitStart;
  }
  const ended = clock();
  // Device I/Os beyond one per application I/O: duplicates that reached a device (cancelled ones did not).
  result.extraIos = deviceTries - result.ios;

  result.lateFraction = result.ios > 0 ? result.late / result.ios : 0;
  result.lag = summary(lag);
  result.wallMs = (ended - started) / 1000;
  result.deviceTime = devices.map((_, d) => ({
    reads: deviceReads[d]!,
    readMeanUs: deviceReads[d]! > 0 ? deviceReadUs[d]! / deviceReads[d]! : 0,
    writes: deviceWrites[d]!,
    writeMeanUs: deviceWrites[d]! > 0 ? deviceWriteUs[d]! / deviceWrites[d]! : 0,
  }));
  if (submitDelay !== undefined) {
    const tries = Math.max(1, submitDelay.count);
    result.cost = {
      tries: submitDelay.count,
      engineUsPerTry: (ended - started - waitedUs - syscallUs) / tries,
      submitDelay: summary(submitDelay),
      syscallUsPerTry: syscallUs / tries,
      waitUsPerTry: waitedUs / tries,
    };
  }
  for (const s of states) {
    if (s.pendingPages !== 0 || s.inFlight !== 0)
      throw new LakeError(
        'LAKE_E_INTERNAL',
        `device ${s.device}: ${s.pendingPages} pages still pending at the end`,
      );
  }
  onProgress?.(result.ios);
  return result;
}
