/**
 * The replay core's steps: every engine (virtual clock, real clock; later a cluster) runs its application
 * I/Os and their device tries through one ReplayCore, which owns their state and what happens to them:
 * an I/O is taken up and its first try goes to its home replica; a read try is offered to the policy
 * (Admission: not on the last replica, only latency-critical reads) and is revoked (its read retried on the
 * next replica after the revoke cost), held (until the policy releases it) or issued; an issued read's
 * hedge timer duplicates it once onto the next replica; the first completion serves the I/O (its record
 * and latency reported), later ones are hedging losers. What it schedules for later (retries, hedge
 * timers, the policy's releases and timers) waits on its own queue in time order, and the engine runs each
 * when its clock reaches it (nextActionUs, runNextAction). Two things differ between engines and sit behind
 * interfaces the core drives: the clock (what time it is) and the devices (an issued try handed to its
 * device; its completion handed back through complete).
 *
 * Times: the core works on the engine's clock (virtual time, or the backend's monotonic clock) so that
 * latencies are differences of clock readings; the policy, device state and records see replay time,
 * `clock - originUs` (the virtual clock's origin is 0: its clock is replay time).
 */
import { LakeError } from '../../errors.js';
import { DeviceState } from '../device-state.js';
import { ACTION, EventQueue } from '../event-queue.js';
import type { ReplayOutputs } from '../outputs.js';
import type { AdmissionPolicy, ArrayContext } from '../policy.js';
import { Admission, HELD, REVOKE } from './admission.js';
import { ReplicaChains } from './chains.js';
import { emptyServedIo, type ReplayResult, reportServed } from './records.js';
import { hedgeDelayUs, homeReplica } from './replicas.js';
import { grown, SlotPool } from './slots.js';

/** What the core schedules on its queue of actions (runNextAction returns which it ran). */
export const ACTION_RETRY = 1;
export const ACTION_HEDGE = 2;
export const ACTION_RELEASE = 3;
export const ACTION_TIMER = 4;
export type CoreAction =
  | typeof ACTION_RETRY
  | typeof ACTION_HEDGE
  | typeof ACTION_RELEASE
  | typeof ACTION_TIMER;

/** The engine's clock as the core sees it. */
export interface ReplayClock {
  /** The clock now, us (while an action runs: its time, or later on a clock that ran late). */
  nowUs(): number;
}

/** The engine's devices as the core sees them. */
export interface ReplayDevices {
  /**
   * Try `t` goes to `device` now (it counts as pending from now): submit it, or queue it for the device.
   * Its completion comes back through ReplayCore.complete; a queued try whose read is served meanwhile is
   * dropped with ReplayCore.withdrawServed.
   */
  issue(t: number, device: number, read: boolean, offset: number, size: number): void;
  /** The greedy oracle's look ahead (ArrayContext.peekReadUs), on replay time. */
  peekReadUs: ArrayContext['peekReadUs'];
}

/** A try as an engine describes it (for tests that check where reads went). */
export interface TryInfo {
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

export interface ReplayCoreOptions {
  policy: AdmissionPolicy;
  replicas: number;
  revokeCostUs: number;
  /** Whether reads carry the latency-critical flag (only LC reads are offered to the policy). */
  lcReads: boolean;
  clock: ReplayClock;
  devices: ReplayDevices;
  /** The clock's reading at replay time 0. */
  originUs: number;
  outputs: ReplayOutputs;
  /** The counters the core keeps (the engine's result). */
  result: ReplayResult;
  onProgress?: ((arrived: number) => void) | undefined;
  progressEvery?: number | undefined;
  /** Initial room for I/Os and tries (both grow on demand). */
  capacity?: number;
  /**
   * Whether inference time a policy charges (ArrayContext.charge) delays the try's verdict by that much:
   * true on a virtual clock, where the policy's inference takes no time; a real clock already spent it.
   */
  chargesInference?: boolean;
}

export class ReplayCore {
  readonly #clock: ReplayClock;
  readonly #devices: ReplayDevices;
  readonly #originUs: number;
  readonly #replicas: number;
  readonly #revokeCostUs: number;
  readonly #hedgeAfterUs: number | undefined;
  readonly #onReadComplete: AdmissionPolicy['onReadComplete'];
  readonly #outputs: ReplayOutputs;
  readonly #result: ReplayResult;
  readonly #onProgress: ((arrived: number) => void) | undefined;
  readonly #progressEvery: number;
  readonly #states: DeviceState[];
  readonly #admission: Admission;
  /** Scheduled actions (kind, payload) by (time, order scheduled). */
  readonly #actions = new EventQueue();
  readonly #served = emptyServedIo();
  /** Per home stream: the next index. */
  readonly #streamIndex: Float64Array;
  #submitSeq = 0;

  // Application I/Os in flight: a slot each until every try and scheduled action of the I/O is done.
  readonly #ios: SlotPool;
  readonly #chains: ReplicaChains;
  #ioArrivalUs = new Float64Array(0); // replay time, for the record
  #ioTakenUs = new Float64Array(0); // clock, where its latency starts
  #ioOffset = new Float64Array(0);
  #ioSize = new Float64Array(0);
  #ioRead = new Uint8Array(0);
  #ioFailed = new Uint8Array(0);
  #ioOutstanding = new Int32Array(0); // live tries + scheduled retries and hedge timers
  readonly #growIos = (capacity: number): void => {
    this.#ioArrivalUs = grown(this.#ioArrivalUs, capacity);
    this.#ioTakenUs = grown(this.#ioTakenUs, capacity);
    this.#ioOffset = grown(this.#ioOffset, capacity);
    this.#ioSize = grown(this.#ioSize, capacity);
    this.#ioRead = grown(this.#ioRead, capacity);
    this.#ioFailed = grown(this.#ioFailed, capacity);
    this.#ioOutstanding = grown(this.#ioOutstanding, capacity);
    this.#chains.grow(capacity);
  };
  // Device tries: a slot each from the try's creation (before admission) to its completion, revoke or
  // withdrawal. A held try's slot is its ticket.
  readonly #tries: SlotPool;
  #tryIo = new Int32Array(0);
  #tryDevice = new Int32Array(0);
  #tryHedge = new Uint8Array(0);
  #tryPending = new Float64Array(0);
  #tryIssueUs = new Float64Array(0); // clock
  #trySeq = new Float64Array(0);
  readonly #growTries = (capacity: number): void => {
    this.#tryIo = grown(this.#tryIo, capacity);
    this.#tryDevice = grown(this.#tryDevice, capacity);
    this.#tryHedge = grown(this.#tryHedge, capacity);
    this.#tryPending = grown(this.#tryPending, capacity);
    this.#tryIssueUs = grown(this.#tryIssueUs, capacity);
    this.#trySeq = grown(this.#trySeq, capacity);
  };

  /** Builds the core and starts the policy on it (AdmissionPolicy.start). */
  constructor(options: ReplayCoreOptions) {
    const policy = options.policy;
    const replicas = options.replicas;
    this.#clock = options.clock;
    this.#devices = options.devices;
    this.#originUs = options.originUs;
    this.#replicas = replicas;
    this.#revokeCostUs = options.revokeCostUs;
    this.#hedgeAfterUs = hedgeDelayUs(policy, replicas);
    this.#onReadComplete = policy.onReadComplete?.bind(policy);
    this.#outputs = options.outputs;
    this.#result = options.result;
    this.#onProgress = options.onProgress;
    this.#progressEvery = options.progressEvery ?? 65536;
    this.#states = Array.from({ length: replicas }, (_, i) => new DeviceState(i));
    this.#streamIndex = new Float64Array(replicas);
    this.#ios = new SlotPool(options.capacity ?? 64);
    this.#tries = new SlotPool(options.capacity ?? 64);
    this.#chains = new ReplicaChains(replicas, 0, this.#result);
    const clock = this.#clock;
    const origin = this.#originUs;
    this.#admission = new Admission({
      policy,
      lcReads: options.lcReads,
      replicas,
      revokeCostUs: this.#revokeCostUs,
      devices: this.#states,
      peekReadUs: options.devices.peekReadUs,
      scheduler: {
        release: (ticket, atUs) =>
          this.#schedule(Math.max(clock.nowUs(), origin + atUs), ACTION_RELEASE, ticket),
        timer: (id, atUs) => this.#schedule(Math.max(clock.nowUs(), origin + atUs), ACTION_TIMER, id),
      },
      counts: this.#result,
      chargesInference: options.chargesInference === true,
    });
    policy.start?.(this.#admission.context);
  }

  /** Held tries not yet released. */
  get waiting(): number {
    return this.#admission.waiting;
  }

  /**
   * An application I/O is taken up at the clock's `takenUs` (its latency starts there; `arrivalUs` is its
   * scheduled time on replay time, for its record): counted, and its first try goes to its home replica.
   */
  arrive(
    arrivalUs: number,
    takenUs: number,
    device: number,
    offset: number,
    size: number,
    read: boolean,
  ): void {
    const result = this.#result;
    const home = homeReplica(device, this.#replicas);
    const io = this.#ios.alloc(this.#growIos);
    this.#ioArrivalUs[io] = arrivalUs;
    this.#ioTakenUs[io] = takenUs;
    this.#ioOffset[io] = offset;
    this.#ioSize[io] = size;
    this.#ioRead[io] = read ? 1 : 0;
    this.#ioFailed[io] = 0;
    this.#ioOutstanding[io] = 0;
    this.#chains.begin(io, this.#streamIndex[home]!++, home);
    result.ios++;
    if (read) result.reads++;
    else result.writes++;
    this.#enqueue(io, home, false);
    const onProgress = this.#onProgress;
    if (onProgress !== undefined && result.ios % this.#progressEvery === 0) onProgress(result.ios);
  }

  /** When the next scheduled action is due on the clock; Infinity when none is. */
  nextActionUs(): number {
    return this.#actions.peekTime();
  }

  /** Actions scheduled and not yet run. */
  get scheduledActions(): number {
    return this.#actions.size;
  }

  /** Runs the earliest scheduled action (at equal times the first scheduled); returns which it was. */
  runNextAction(): CoreAction {
    const actions = this.#actions;
    actions.pop();
    const kind = actions.lastKind as CoreAction;
    const payload = actions.lastPayload;
    switch (kind) {
      case ACTION_RETRY:
        this.#ioOutstanding[payload]!--;
        this.#enqueue(payload, this.#chains.target(payload), false);
        break;
      case ACTION_HEDGE:
        this.#hedge(payload);
        break;
      case ACTION_RELEASE:
        if (this.#admission.takeRelease(payload)) this.#revoke(payload);
        else this.#issue(payload);
        break;
      case ACTION_TIMER:
        this.#admission.fireTimer(payload, this.#clock.nowUs() - this.#originUs);
        break;
    }
    return kind;
  }

  /**
   * Try `t` completed at the clock's `endUs` (`failed`: an I/O error or a short transfer, its I/O recorded
   * with ok = 0 if this completion serves it). Returns whether it served its I/O (false: a hedging loser).
   */
  complete(t: number, endUs: number, failed: boolean): boolean {
    const io = this.#tryIo[t]!;
    const device = this.#tryDevice[t]!;
    const read = this.#ioRead[io] === 1;
    const size = this.#ioSize[io]!;
    const issueUs = this.#tryIssueUs[t]!;
    // What the device's queue cost this try, from its issue (a wait for a kernel slot included).
    const deviceUs = endUs - issueUs;
    const completeUs = endUs - this.#originUs;
    const state = this.#states[device]!;
    state.complete(read, size, this.#tryPending[t]!, deviceUs, completeUs);
    if (state.pendingPages < 0 || state.inFlight < 0)
      throw new LakeError('LAKE_E_INTERNAL', `device ${device}: pending pages went negative`);
    if (read)
      this.#onReadComplete?.(device, deviceUs, completeUs, this.#chains.home(io), this.#chains.index(io));
    if (failed) this.#ioFailed[io] = 1;
    const first = this.#chains.serve(io);
    if (first) this.#report(t, io, endUs);
    this.#releaseTry(t);
    return first;
  }

  /**
   * For a try waiting in a device's queue, about to reach the device: if its read was served meanwhile
   * (by a hedged duplicate, or by the try it duplicated) it is dropped, no longer pending and no longer an
   * extra I/O, and true is returned.
   */
  withdrawServed(t: number): boolean {
    const io = this.#tryIo[t]!;
    if (!this.#chains.isServed(io)) return false;
    this.#states[this.#tryDevice[t]!]!.withdraw(this.#ioSize[io]!);
    this.#result.extraIos--;
    this.#releaseTry(t);
    return true;
  }

  /** At the end of a run: tries the policy never released are issued (each a policy fault). */
  submitUnreleased(): void {
    this.#admission.submitUnreleased((t) => this.#issue(t));
  }

  /** Throws unless every device's queue is empty (every try done). */
  assertDrained(): void {
    for (const s of this.#states) {
      if (s.pendingPages !== 0 || s.inFlight !== 0)
        throw new LakeError(
          'LAKE_E_INTERNAL',
          `device ${s.device}: ${s.pendingPages} pages still pending at the end`,
        );
    }
  }

  tryDevice(t: number): number {
    return this.#tryDevice[t]!;
  }

  tryIsRead(t: number): boolean {
    return this.#ioRead[this.#tryIo[t]!] === 1;
  }

  tryOffset(t: number): number {
    return this.#ioOffset[this.#tryIo[t]!]!;
  }

  trySize(t: number): number {
    return this.#ioSize[this.#tryIo[t]!]!;
  }

  /** Try `t` described (an object per call: for tests and tracing, not the hot path). */
  tryInfo(t: number): TryInfo {
    const io = this.#tryIo[t]!;
    const chains = this.#chains;
    return {
      index: chains.index(io),
      home: chains.home(io),
      device: this.#tryDevice[t]!,
      read: this.#ioRead[io] === 1,
      attempt: chains.attempt(io),
      hedge: this.#tryHedge[t] === 1,
    };
  }

  /** A new try of `io` for `device` (a hedged duplicate skips the policy). */
  #enqueue(io: number, device: number, hedge: boolean): void {
    const t = this.#tries.alloc(this.#growTries);
    this.#tryIo[t] = io;
    this.#tryDevice[t] = device;
    this.#tryHedge[t] = hedge ? 1 : 0;
    this.#ioOutstanding[io]!++;
    this.#admit(t);
  }

  /** A read try offered to the policy (unless it needs no verdict), then revoked, held or issued. */
  #admit(t: number): void {
    const io = this.#tryIo[t]!;
    const chains = this.#chains;
    const attempt = chains.attempt(io);
    if (this.#ioRead[io] === 1 && this.#tryHedge[t] === 0 && this.#admission.asks(attempt)) {
      const verdict = this.#admission.ask(
        t,
        chains.index(io),
        chains.home(io),
        this.#tryDevice[t]!,
        this.#ioOffset[io]!,
        this.#ioSize[io]!,
        this.#clock.nowUs() - this.#originUs,
        attempt,
      );
      // Held (by the policy, or for the inference time it charged): issued or revoked when released.
      if (verdict === HELD) return;
      if (verdict === REVOKE) {
        this.#revoke(t);
        return;
      }
    }
    this.#issue(t);
  }

  /** A revoked try: its read goes to the next replica after the revoke cost. */
  #revoke(t: number): void {
    const io = this.#tryIo[t]!;
    this.#chains.revoke(io);
    this.#ioOutstanding[io]!++;
    this.#schedule(this.#clock.nowUs() + this.#revokeCostUs, ACTION_RETRY, io);
    this.#releaseTry(t);
  }

  /**
   * A try goes to its device: pending from now (its device latency and its hedge timer start now, the
   * instant from which the baseline's latency percentile that sets the delay is measured).
   */
  #issue(t: number): void {
    const io = this.#tryIo[t]!;
    const device = this.#tryDevice[t]!;
    const read = this.#ioRead[io] === 1;
    const size = this.#ioSize[io]!;
    const nowUs = this.#clock.nowUs();
    this.#tryPending[t] = this.#states[device]!.submit(size);
    this.#tryIssueUs[t] = nowUs;
    this.#trySeq[t] = this.#submitSeq++;
    if (this.#tryHedge[t] === 0) {
      this.#chains.submittedTo(io, device);
      if (this.#hedgeAfterUs !== undefined && read) {
        this.#ioOutstanding[io]!++;
        this.#schedule(nowUs + this.#hedgeAfterUs, ACTION_HEDGE, io);
      }
    }
    this.#devices.issue(t, device, read, this.#ioOffset[io]!, size);
  }

  /** A read's hedge delay has passed: duplicate it on the next replica unless it completed. */
  #hedge(io: number): void {
    this.#ioOutstanding[io]!--;
    const target = this.#chains.hedge(io);
    if (target >= 0) {
      this.#result.extraIos++;
      this.#enqueue(io, target, true);
    }
    this.#finishIfIdle(io);
  }

  /** The I/O's first completion, by try `t` at the clock's `endUs`: its latency and record reported. */
  #report(t: number, io: number, endUs: number): void {
    const chains = this.#chains;
    const origin = this.#originUs;
    const served = this.#served;
    served.index = chains.index(io);
    served.home = chains.home(io);
    served.arrivalUs = this.#ioArrivalUs[io]!;
    served.latencyUs = endUs - this.#ioTakenUs[io]!;
    served.read = this.#ioRead[io] === 1;
    served.size = this.#ioSize[io]!;
    served.offset = this.#ioOffset[io]!;
    served.ok = this.#ioFailed[io] === 1 ? 0 : 1;
    served.servedBy = this.#tryDevice[t]!;
    served.revokes = chains.attempt(io);
    served.pendingAtIssue = this.#tryPending[t]!;
    served.submitUs = this.#tryIssueUs[t]! - origin;
    served.completeUs = endUs - origin;
    served.hedged = chains.isHedged(io);
    served.submitSeq = this.#trySeq[t]!;
    if (reportServed(this.#outputs, served)) this.#result.failedOver++;
  }

  #schedule(atUs: number, kind: CoreAction, payload: number): void {
    this.#actions.push(atUs, ACTION, kind, payload);
  }

  #releaseTry(t: number): void {
    const io = this.#tryIo[t]!;
    this.#tries.release(t);
    this.#ioOutstanding[io]!--;
    this.#finishIfIdle(io);
  }

  #finishIfIdle(io: number): void {
    if (this.#ioOutstanding[io] === 0) this.#ios.release(io);
  }
}
