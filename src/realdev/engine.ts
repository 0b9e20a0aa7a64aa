/**
 * The real-clock replay engine: the counterpart of the virtual-clock engine (src/array/engine.ts) for real
 * devices. The same semantics, by construction: every step of an I/O is the replay core's
 * (src/array/core/tries.ts), which both engines drive, each with its own clock and devices:
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

import { emptyReplayResult, type ReplayResult } from '../array/core/records.js';
import { DEFAULT_REVOKE_COST_US, homeReplica } from '../array/core/replicas.js';
import { grown } from '../array/core/slots.js';
import { type ReplayClock, ReplayCore, type ReplayDevices, type TryInfo } from '../array/core/tries.js';
import type { ReplayOutputs } from '../array/outputs.js';
import type { AdmissionPolicy } from '../array/policy.js';
import { LakeError, usageError } from '../errors.js';
import { LatencyRecorder } from '../report/histogram.js';
import type { ArrivalColumns } from './arrivals.js';
import type { BackendKind, IoBackend } from './backend.js';
import { placedOffset, placedSize } from './place.js';

export { DEFAULT_REVOKE_COST_US };

export const DEFAULT_QUEUE_DEPTH = 32;
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

/** A try about to enter the kernel (for tests that check where reads went). */
export type SubmitEvent = TryInfo;

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
  checkOptions(options, options.devices.length);
  for (const d of options.devices) {
    if (d.closed) throw usageError(`${d.path}: the device is closed`);
    if (arrivals.writes > 0 && !d.writable)
      throw usageError(`${d.path} is open read-only and the workload writes`);
  }
  return new RealClockReplay(arrivals, options).run();
}

/**
 * One replay on the wall clock: the replay core's clock (wall-clock rounds: completions, then what is due,
 * then a wait in the backend) and devices (a FIFO per device in front of at most `queueDepth` tries in the
 * kernel, batches through an IoBackend). Every step of an I/O (admission, failover, hedging, records) is the
 * core's (src/array/core/tries.ts); this adds what real devices have: lateness and slack, the queue depth,
 * cancelled tries, I/O errors, kernel time and the engine's own cost.
 */
class RealClockReplay implements ReplayClock, ReplayDevices {
  readonly #arrivals: ArrivalColumns;
  readonly #options: RealReplayOptions;
  readonly #devices: readonly ReplayDevice[];
  readonly #replicas: number;
  readonly #backend: IoBackend;
  readonly #queueDepth: number;
  readonly #lateAfterUs: number;
  readonly #spinUs: number;
  readonly #measure: boolean;
  readonly #result: RealReplayResult;
  readonly #core: ReplayCore;
  readonly #count: number;

  // Per device try (the core's try slot, which is also the backend's slot): when its batch entered the
  // kernel, when it left its FIFO (measureOverhead), the bytes it transfers.
  #tryKernelUs = new Float64Array(0);
  #tryPickedUs = new Float64Array(0);
  #tryBytes = new Float64Array(0);

  // Per device: the FIFO of tries waiting for a kernel slot, tries in the kernel, kernel time.
  readonly #waiting: SlotQueue[];
  readonly #busy: Int32Array;
  #busyTotal = 0;
  readonly #deviceReads: Float64Array;
  readonly #deviceReadUs: Float64Array;
  readonly #deviceWrites: Float64Array;
  readonly #deviceWriteUs: Float64Array;
  /** Per home stream: the previous arrival (slack). */
  readonly #lastArrivalByHome: Float64Array;

  /** Tries queued to the backend since the last flush. */
  readonly #batch: number[] = [];
  readonly #lag = new LatencyRecorder();
  readonly #submitDelay: LatencyRecorder | undefined;
  #syscallUs = 0;
  #waitedUs = 0;
  /** The wall-clock instant of trace time 0. */
  readonly #origin: number;
  readonly #started: number;
  #now: number;
  #lastYield: number;
  /** The next arrival to take. */
  #next = 0;

  constructor(arrivals: ArrivalColumns, options: RealReplayOptions) {
    const devices = options.devices;
    const n = devices.length;
    const backend = options.backend;
    this.#arrivals = arrivals;
    this.#options = options;
    this.#devices = devices;
    this.#replicas = n;
    this.#backend = backend;
    this.#queueDepth = options.queueDepth ?? DEFAULT_QUEUE_DEPTH;
    this.#lateAfterUs = options.lateAfterUs ?? DEFAULT_LATE_AFTER_US;
    this.#spinUs = options.spinUs ?? DEFAULT_SPIN_US;
    this.#measure = options.measureOverhead === true;
    const count = arrivals.count;
    this.#count = count;
    this.#waiting = devices.map(() => new SlotQueue());
    this.#busy = new Int32Array(n);
    this.#deviceReads = new Float64Array(n);
    this.#deviceReadUs = new Float64Array(n);
    this.#deviceWrites = new Float64Array(n);
    this.#deviceWriteUs = new Float64Array(n);
    this.#lastArrivalByHome = new Float64Array(n).fill(Number.NaN);
    this.#submitDelay = this.#measure ? new LatencyRecorder() : undefined;
    this.#result = {
      ...emptyReplayResult(),
      reorderedArrivals: arrivals.reordered,
      backend: backend.kind,
      queueDepth: this.#queueDepth,
      late: 0,
      lateFraction: 0,
      lateAfterUs: this.#lateAfterUs,
      slack: 0,
      lag: { meanUs: 0, p50Us: 0, p90Us: 0, p99Us: 0, maxUs: 0 },
      cancelledHedges: 0,
      ignoredCompletions: 0,
      ioErrors: 0,
      deviceTime: [],
      wallMs: 0,
    };
    // The first arrival is due a moment from now.
    const firstUs = count > 0 ? arrivals.arrivalUs[0]! : 0;
    this.#origin = backend.nowUs() + 100 - firstUs;
    this.#started = this.#origin + firstUs;
    this.#now = this.#started;
    this.#core = new ReplayCore({
      policy: options.policy,
      replicas: n,
      revokeCostUs: options.revokeCostUs ?? DEFAULT_REVOKE_COST_US,
      lcReads: options.lcReads ?? true,
      clock: this,
      devices: this,
      originUs: this.#origin,
      outputs: options,
      result: this.#result,
      onProgress: options.onProgress,
      progressEvery: options.progressEvery,
      capacity: 256,
    });
    this.#lastYield = backend.nowUs();
  }

  nowUs(): number {
    return this.#now;
  }

  /**
   * A try joins its device's queue: it enters the kernel at once when a slot is free and nothing waits
   * before it, else it waits in the device's FIFO.
   */
  issue(t: number, device: number): void {
    if (t >= this.#tryBytes.length) this.#growTries(t);
    if (this.#busy[device]! < this.#queueDepth && this.#waiting[device]!.size === 0) this.#startTry(t);
    else this.#waiting[device]!.push(t);
  }

  readonly peekReadUs = (device: number, offset: number, size: number, atUs: number): number => {
    const backend = this.#backend;
    if (backend.peekReadUs === undefined) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `${this.#devices[device]!.path}: a real device cannot tell a read's future latency (the greedy oracle runs on simulated devices only)`,
      );
    }
    return backend.peekReadUs(device, offset, size, this.#origin + atUs) - this.#origin;
  };

  /** Rounds until every I/O has completed: completions, then what is due, then a wait for the next thing. */
  async run(): Promise<RealReplayResult> {
    let carried = 0;
    for (;;) {
      this.#processCompletions(carried > 0 ? carried : this.#poll());
      carried = 0;
      // Tries freed by completions go in first.
      this.#flush();
      this.#now = this.#backend.nowUs();
      this.#takeDue();
      this.#flush();
      if (this.#next >= this.#count && this.#core.scheduledActions === 0 && this.#busyTotal === 0) {
        if (this.#core.waiting === 0) break;
        this.#core.submitUnreleased();
        this.#flush();
        continue;
      }
      if (this.#next < this.#count && this.#origin + this.#arrivals.arrivalUs[this.#next]! <= this.#now)
        continue; // more due: submit them first
      const waited = this.#wait();
      carried = typeof waited === 'number' ? waited : await waited;
    }
    return this.#summarize();
  }

  #growTries(t: number): void {
    let length = Math.max(256, this.#tryBytes.length * 2);
    while (length <= t) length *= 2;
    this.#tryKernelUs = grown(this.#tryKernelUs, length);
    this.#tryPickedUs = grown(this.#tryPickedUs, length);
    this.#tryBytes = grown(this.#tryBytes, length);
  }

  /** The core's actions and arrivals due now, in time order; at equal times the arrival first (the virtual-clock engine's order). */
  #takeDue(): void {
    const arrivalUs = this.#arrivals.arrivalUs;
    const core = this.#core;
    const now = this.#now;
    const takeUntil = Math.min(this.#count, this.#next + TAKE_PER_ROUND);
    for (;;) {
      const arrivalAt =
        this.#next < takeUntil ? this.#origin + arrivalUs[this.#next]! : Number.POSITIVE_INFINITY;
      const actionAt = core.nextActionUs();
      if (arrivalAt <= now && arrivalAt <= actionAt) this.#take(this.#next++);
      else if (actionAt <= now) core.runNextAction();
      else break;
    }
  }

  /** Arrival `i` is taken up: lateness and slack counted, then the core takes it. */
  #take(i: number): void {
    const arrivals = this.#arrivals;
    const result = this.#result;
    const scheduledUs = arrivals.arrivalUs[i]!;
    const behind = this.#now - (this.#origin + scheduledUs);
    this.#lag.record(Math.max(0, behind));
    if (behind > this.#lateAfterUs) result.late++;
    const home = homeReplica(arrivals.device[i]!, this.#replicas);
    if (scheduledUs - this.#lastArrivalByHome[home]! > SLACK_GAP_US) result.slack++;
    this.#lastArrivalByHome[home] = scheduledUs;
    this.#core.arrive(
      scheduledUs,
      this.#now,
      arrivals.device[i]!,
      arrivals.offset[i]!,
      arrivals.size[i]!,
      arrivals.read[i] === 1,
    );
  }

  /** A try leaves its device's FIFO for the kernel, unless its read completed while it waited. */
  #startTry(t: number): void {
    const core = this.#core;
    if (core.withdrawServed(t)) {
      // Served meanwhile by another try (a hedge, or the try a hedge duplicated): it never reaches the device.
      this.#result.cancelledHedges++;
      return;
    }
    const device = core.tryDevice(t);
    const read = core.tryIsRead(t);
    if (this.#measure) this.#tryPickedUs[t] = this.#backend.nowUs();
    const target = this.#devices[device]!;
    const bytes = placedSize(core.trySize(t), target.blockBytes, target.capacityBytes);
    const offset = placedOffset(core.tryOffset(t), bytes, target.blockBytes, target.capacityBytes);
    this.#tryBytes[t] = bytes;
    this.#busy[device]!++;
    this.#busyTotal++;
    this.#options.onSubmit?.(core.tryInfo(t));
    this.#backend.queue(t, device, !read, offset, bytes);
    this.#batch.push(t);
  }

  #pump(device: number): void {
    const fifo = this.#waiting[device]!;
    while (this.#busy[device]! < this.#queueDepth && fifo.size > 0) this.#startTry(fifo.shift());
  }

  /** The batch entered the kernel at `at`: stamp its tries. */
  #flush(): void {
    const batch = this.#batch;
    if (batch.length === 0) return;
    const at = this.#backend.flush();
    if (this.#measure) this.#syscallUs += this.#backend.nowUs() - at;
    for (const t of batch) {
      if (this.#submitDelay !== undefined) this.#submitDelay.record(Math.max(0, at - this.#tryPickedUs[t]!));
      this.#tryKernelUs[t] = at;
    }
    batch.length = 0;
  }

  #poll(): number {
    const backend = this.#backend;
    if (!this.#measure) return backend.poll();
    const before = backend.nowUs();
    const k = backend.poll();
    this.#waitedUs += backend.nowUs() - before;
    return k;
  }

  #processCompletions(k: number): void {
    if (k === 0) return;
    const completions = this.#backend.completions;
    for (let i = 0; i < k; i++)
      this.#complete(completions[i * 3]!, completions[i * 3 + 1]!, completions[i * 3 + 2]!);
    // Freed slots go to waiting tries.
    for (let d = 0; d < this.#replicas; d++) if (this.#waiting[d]!.size > 0) this.#pump(d);
  }

  /** A try's completion was seen: kernel time and errors here, the rest (device state, records) in the core. */
  #complete(t: number, res: number, completeUs: number): void {
    const core = this.#core;
    const result = this.#result;
    const device = core.tryDevice(t);
    const read = core.tryIsRead(t);
    // The completion was seen after the batch was submitted; clocks are the same, but never let rounding
    // make a negative latency.
    const end = Math.max(completeUs, this.#tryKernelUs[t]!);
    const kernelUs = end - this.#tryKernelUs[t]!;
    this.#busy[device]!--;
    this.#busyTotal--;
    if (read) {
      this.#deviceReads[device]!++;
      this.#deviceReadUs[device]! += kernelUs;
    } else {
      this.#deviceWrites[device]!++;
      this.#deviceWriteUs[device]! += kernelUs;
    }
    const failed = res !== this.#tryBytes[t];
    if (failed) {
      result.ioErrors++;
      result.firstError ??= `${this.#devices[device]!.path}: ${read ? 'read' : 'write'} of ${this.#tryBytes[t]} B returned ${res < 0 ? `errno ${-res}` : `${res} B`}`;
    }
    if (!core.complete(t, end, failed)) result.ignoredCompletions++;
    if (end - this.#origin > result.endUs) result.endUs = end - this.#origin;
  }

  /**
   * Nothing more is due now: yield to the event loop when it has waited long, sleep on it when idle for
   * long, else wait in the backend (spinning first) for a completion or the next deadline. Returns the
   * completions the backend's wait saw (0 after a yield or a sleep).
   */
  #wait(): number | Promise<number> {
    const backend = this.#backend;
    const next = this.#next;
    const nextDue = Math.min(
      next < this.#count ? this.#origin + this.#arrivals.arrivalUs[next]! : Number.POSITIVE_INFINITY,
      this.#core.nextActionUs(),
    );
    const now = backend.nowUs();
    this.#now = now;
    if (now - this.#lastYield > YIELD_EVERY_US) return this.#yield();
    const ahead = nextDue - now;
    if (this.#busyTotal === 0 && ahead > IDLE_SLEEP_US && backend.kind !== 'virtual')
      return this.#sleep(ahead);
    // Nothing due (only completions to wait for): wake at least every MAX_WAIT_US anyway.
    const until = ahead > EARLY_WAKE_US ? Math.min(nextDue - EARLY_WAKE_US, now + MAX_WAIT_US) : nextDue;
    const spin = ahead > EARLY_WAKE_US ? this.#spinUs : Math.max(0, ahead);
    const waited = backend.wait(until, spin);
    if (typeof waited === 'number') {
      if (this.#measure) this.#waitedUs += backend.nowUs() - now;
      return waited;
    }
    return this.#waitedFor(waited, now);
  }

  async #waitedFor(waited: Promise<number>, waitStart: number): Promise<number> {
    const k = await waited;
    if (this.#measure) this.#waitedUs += this.#backend.nowUs() - waitStart;
    return k;
  }

  async #yield(): Promise<number> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#lastYield = this.#backend.nowUs();
    return 0;
  }

  async #sleep(aheadUs: number): Promise<number> {
    const before = this.#now;
    await new Promise<void>((resolve) => setTimeout(resolve, (aheadUs - EARLY_WAKE_US * 10) / 1000));
    this.#lastYield = this.#backend.nowUs();
    if (this.#measure) this.#waitedUs += this.#lastYield - before;
    return 0;
  }

  /** The run is over: rates, lag, kernel time and the engine's cost; every device's queue must be empty. */
  #summarize(): RealReplayResult {
    const ended = this.#backend.nowUs();
    const result = this.#result;
    result.lateFraction = result.ios > 0 ? result.late / result.ios : 0;
    result.lag = summary(this.#lag);
    result.wallMs = (ended - this.#started) / 1000;
    result.deviceTime = this.#devices.map((_, d) => ({
      reads: this.#deviceReads[d]!,
      readMeanUs: this.#deviceReads[d]! > 0 ? this.#deviceReadUs[d]! / this.#deviceReads[d]! : 0,
      writes: this.#deviceWrites[d]!,
      writeMeanUs: this.#deviceWrites[d]! > 0 ? this.#deviceWriteUs[d]! / this.#deviceWrites[d]! : 0,
    }));
    if (this.#submitDelay !== undefined) {
      const tries = Math.max(1, this.#submitDelay.count);
      result.cost = {
        tries: this.#submitDelay.count,
        engineUsPerTry: (ended - this.#started - this.#waitedUs - this.#syscallUs) / tries,
        submitDelay: summary(this.#submitDelay),
        syscallUsPerTry: this.#syscallUs / tries,
        waitUsPerTry: this.#waitedUs / tries,
      };
    }
    // Every device's queue is empty: each try that was pending completed or was withdrawn.
    this.#core.assertDrained();
    this.#options.onProgress?.(result.ios);
    return result;
  }
}
