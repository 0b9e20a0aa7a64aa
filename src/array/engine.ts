import type { Device } from '../flash/types.js';
import { mergeByArrival } from '../trace/merge.js';
import type { TraceRecord } from '../trace/types.js';
import { DeviceState } from './device-state.js';
import { ACTION, COMPLETION, EventQueue } from './event-queue.js';
import { type LatencySink, type ReplayOutputs, recordLatency } from './outputs.js';
import type { AdmissionPolicy, ArrayContext, ReadTry, TimedDecisions } from './policy.js';

export type { LatencySink };

export interface ReplayOptions extends ReplayOutputs {
  devices: readonly Device[];
  policy: AdmissionPolicy;
  /** Cost of revoking a read and re-issuing it on the next replica, us (LinnOS: a few us). */
  revokeCostUs?: number;
  /** Whether reads carry the latency-critical flag (only LC reads are predicted). */
  lcReads?: boolean;
  /** Called every `progressEvery` arrivals with the number of I/Os arrived so far. */
  onProgress?: (arrived: number) => void;
  progressEvery?: number;
}

export interface ReplayResult {
  ios: number;
  reads: number;
  writes: number;
  /** Device I/Os beyond one per application I/O (hedged duplicates). */
  extraIos: number;
  /** Read tries revoked by the policy. */
  revokes: number;
  /** Reads that were hedged. */
  hedgedReads: number;
  /** Reads served by a replica other than their home. */
  failedOver: number;
  /** Arrivals earlier than the previous one (trace out of order), replayed at the current time. */
  reorderedArrivals: number;
  /** Times the policy threw (each try was submitted), or left a held try unreleased at the end. */
  policyFaults: number;
  /** Read tries the policy held (ArrayContext.hold) and released later: batching, inference time. */
  heldTries?: number;
  /** Virtual time of the last completion, us. */
  endUs: number;
}

// Event kinds on the queue (arrivals come from the input stream, not the queue).
const KIND_RETRY = 1;
const KIND_HEDGE = 2;
const KIND_COMPLETE = 3;
const KIND_RELEASE = 4;
const KIND_TIMER = 5;

const HELD = 1;
const RELEASED = 2;

const DEFAULT_REVOKE_COST_US = 5;

/** Struct-of-arrays pool: per application I/O and per device try, no objects on the hot path. */
class Pool {
  capacity = 0;
  #free: number[] = [];
  #next = 0;
  alloc(grow: (capacity: number) => void): number {
    const slot = this.#free.pop();
    if (slot !== undefined) return slot;
    if (this.#next === this.capacity) {
      this.capacity = Math.max(64, this.capacity * 2);
      grow(this.capacity);
    }
    return this.#next++;
  }
  release(slot: number): void {
    this.#free.push(slot);
  }
}

function grown<T extends Float64Array | Int32Array | Uint8Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

/**
 * The virtual-clock replay engine: merges arrivals with device completions, retries and hedge timers on
 * one event queue, asks the admission policy about every latency-critical read try, and owns failover
 * (revoked read -> next replica after the revoke cost; the last replica is never revoked) and hedging
 * (first completion wins). Each I/O's home device is `record.device % devices.length`.
 *
 * Event order contract (offline feature extraction depends on it): events run in virtual-time order; at
 * equal times completions run before submissions, and events of one class run in the order they were
 * scheduled. Every device submission gets the next `submitSeq`.
 *
 * Decisions that take time: a policy may hold the try it is admitting (ArrayContext.hold) and release it
 * later with its verdict at a chosen virtual time (release), setting its own virtual-time timers (wakeAt).
 * This is how batching (a read waits up to a window for others) and inference time are charged to a read's
 * latency. A held try is neither submitted nor revoked until released; tries still held at the end are
 * submitted and counted as policy faults, so no read is ever lost.
 */
/** A replay in progress: feed arrivals in order, then finish. */
export interface ReplayEngine {
  arrive(record: TraceRecord): void;
  finish(): ReplayResult;
}

/** Replay arrivals held in memory or generated lazily. */
export function replay(arrivals: Iterable<TraceRecord>, options: ReplayOptions): ReplayResult {
  const engine = createReplayEngine(options);
  for (const record of arrivals) engine.arrive(record);
  return engine.finish();
}

/** Replay arrivals streamed in batches (trace files); memory stays flat however long the trace. */
export async function replayBatches(
  batches: AsyncIterable<readonly TraceRecord[]>,
  options: ReplayOptions,
): Promise<ReplayResult> {
  const engine = createReplayEngine(options);
  for await (const batch of batches) for (const record of batch) engine.arrive(record);
  return engine.finish();
}

export function createReplayEngine(options: ReplayOptions): ReplayEngine {
  const devices = options.devices;
  const n = devices.length;
  if (n < 1) throw new RangeError('options.devices must hold at least one device');
  const policy = options.policy;
  const revokeCostUs = options.revokeCostUs ?? DEFAULT_REVOKE_COST_US;
  const lcReads = options.lcReads ?? true;
  const hedgeAfterUs = policy.hedgeAfterUs;
  const hedging = hedgeAfterUs !== undefined && Number.isFinite(hedgeAfterUs) && n > 1;
  const onRecord = options.onRecord;
  const onProgress = options.onProgress;
  const progressEvery = options.progressEvery ?? 65536;
  const admit = policy.admit?.bind(policy);
  const onReadComplete = policy.onReadComplete?.bind(policy);

  const states = devices.map((_, i) => new DeviceState(i));
  const queue = new EventQueue();
  // Held tries: the try being admitted (while admit runs), how many wait for release, policy timers.
  let admitting = -1;
  let heldDuringAdmit = false;
  let heldWaiting = 0;
  const timers: (((nowUs: number) => void) | undefined)[] = [];
  const freeTimers: number[] = [];
  const context: ArrayContext & TimedDecisions = {
    devices: states,
    revokeCostUs,
    peekReadUs: (device, offset, size, atUs) => devices[device]!.peekRead(offset, size, atUs),
    hold(): number {
      if (admitting < 0) throw new RangeError('hold() may only be called from admit()');
      if (!heldDuringAdmit) {
        heldDuringAdmit = true;
        ioHeld[admitting] = HELD;
        ioOutstanding[admitting]!++;
        heldWaiting++;
        result.heldTries = (result.heldTries ?? 0) + 1;
      }
      return admitting;
    },
    release(ticket: number, revoke: boolean, atUs: number): void {
      if (!(ticket >= 0 && ticket < ios.capacity) || ioHeld[ticket] !== HELD)
        throw new RangeError(`release(${ticket}): no read try is held with this ticket`);
      ioHeld[ticket] = RELEASED;
      ioRevoke[ticket] = revoke ? 1 : 0;
      heldWaiting--;
      queue.push(Math.max(nowUs, atUs), ACTION, KIND_RELEASE, ticket);
    },
    wakeAt(atUs: number, fire: (nowUs: number) => void): void {
      const id = freeTimers.pop() ?? timers.length;
      timers[id] = fire;
      queue.push(Math.max(nowUs, atUs), ACTION, KIND_TIMER, id);
    },
  };

  // Application I/Os in flight.
  const ios = new Pool();
  let ioArrivalUs = new Float64Array(0);
  let ioOffset = new Float64Array(0);
  let ioSize = new Float64Array(0);
  let ioIndex = new Float64Array(0);
  let ioHome = new Int32Array(0);
  let ioAttempt = new Int32Array(0);
  let ioRead = new Uint8Array(0);
  let ioDone = new Uint8Array(0);
  let ioHedged = new Uint8Array(0);
  let ioOutstanding = new Int32Array(0); // device tries + pending timers
  let ioServing = new Int32Array(0); // device of the latest submitted try
  let ioHeld = new Uint8Array(0); // 0, HELD (waiting for release) or RELEASED (its event is queued)
  let ioRevoke = new Uint8Array(0); // a released try's verdict
  const growIos = (c: number): void => {
    ioArrivalUs = grown(ioArrivalUs, c);
    ioOffset = grown(ioOffset, c);
    ioSize = grown(ioSize, c);
    ioIndex = grown(ioIndex, c);
    ioHome = grown(ioHome, c);
    ioAttempt = grown(ioAttempt, c);
    ioRead = grown(ioRead, c);
    ioDone = grown(ioDone, c);
    ioHedged = grown(ioHedged, c);
    ioOutstanding = grown(ioOutstanding, c);
    ioServing = grown(ioServing, c);
    ioHeld = grown(ioHeld, c);
    ioRevoke = grown(ioRevoke, c);
  };
  // Device tries in flight.
  const tries = new Pool();
  let tryIo = new Int32Array(0);
  let tryDevice = new Int32Array(0);
  let tryPending = new Float64Array(0);
  let trySubmitUs = new Float64Array(0);
  let trySeq = new Float64Array(0);
  const growTries = (c: number): void => {
    tryIo = grown(tryIo, c);
    tryDevice = grown(tryDevice, c);
    tryPending = grown(tryPending, c);
    trySubmitUs = grown(trySubmitUs, c);
    trySeq = grown(trySeq, c);
  };

  const streamIndex = new Float64Array(n);
  const readTry: ReadTry = { index: 0, home: 0, device: 0, offset: 0, size: 0, nowUs: 0, attempt: 0 };
  const result: ReplayResult = {
    ios: 0,
    reads: 0,
    writes: 0,
    extraIos: 0,
    revokes: 0,
    hedgedReads: 0,
    failedOver: 0,
    reorderedArrivals: 0,
    policyFaults: 0,
    heldTries: 0,
    endUs: 0,
  };
  let submitSeq = 0;
  let nowUs = 0;
  policy.start?.(context);

  const submitTry = (io: number, device: number): void => {
    const size = ioSize[io]!;
    const t = tries.alloc(growTries);
    tryIo[t] = io;
    tryDevice[t] = device;
    tryPending[t] = states[device]!.submit(size);
    trySubmitUs[t] = nowUs;
    trySeq[t] = submitSeq++;
    ioOutstanding[io]!++;
    ioServing[io] = device;
    const done = devices[device]!.submit(ioRead[io] === 1, ioOffset[io]!, size, nowUs);
    queue.push(done.completeUs, COMPLETION, KIND_COMPLETE, t);
  };

  /** A read try on ioAttempt[io]'s replica: ask the policy unless it is the last replica. */
  const tryRead = (io: number): void => {
    const attempt = ioAttempt[io]!;
    let revoke = false;
    if (admit !== undefined && lcReads && attempt < n - 1) {
      readTry.index = ioIndex[io]!;
      readTry.home = ioHome[io]!;
      readTry.device = (ioHome[io]! + attempt) % n;
      readTry.offset = ioOffset[io]!;
      readTry.size = ioSize[io]!;
      readTry.nowUs = nowUs;
      readTry.attempt = attempt;
      admitting = io;
      heldDuringAdmit = false;
      try {
        revoke = admit(readTry, context);
      } catch {
        result.policyFaults++;
        revoke = false;
        if (heldDuringAdmit && ioHeld[io] === HELD) {
          // A policy that held the try and then threw will not release it: take it back.
          ioHeld[io] = 0;
          ioOutstanding[io]!--;
          heldWaiting--;
          result.heldTries = (result.heldTries ?? 1) - 1;
          heldDuringAdmit = false;
        }
      }
      admitting = -1;
      if (heldDuringAdmit) return;
    }
    act(io, revoke);
  };

  /** A try's verdict: revoke (retry on the next replica after the revoke cost) or submit (and hedge). */
  const act = (io: number, revoke: boolean): void => {
    if (revoke) {
      result.revokes++;
      ioAttempt[io]!++;
      ioOutstanding[io]!++;
      queue.push(nowUs + revokeCostUs, ACTION, KIND_RETRY, io);
      return;
    }
    submitTry(io, (ioHome[io]! + ioAttempt[io]!) % n);
    if (hedging) {
      ioOutstanding[io]!++;
      queue.push(nowUs + hedgeAfterUs, ACTION, KIND_HEDGE, io);
    }
  };

  const finishIfIdle = (io: number): void => {
    if (ioOutstanding[io] === 0) ios.release(io);
  };

  const complete = (t: number): void => {
    const io = tryIo[t]!;
    const device = tryDevice[t]!;
    const read = ioRead[io] === 1;
    const size = ioSize[io]!;
    const latencyOnDevice = nowUs - trySubmitUs[t]!;
    states[device]!.complete(read, size, tryPending[t]!, latencyOnDevice, nowUs);
    if (read) onReadComplete?.(device, latencyOnDevice, nowUs);
    ioOutstanding[io]!--;
    if (ioDone[io] === 0) {
      ioDone[io] = 1;
      const latencyUs = nowUs - ioArrivalUs[io]!;
      const home = ioHome[io]!;
      if (recordLatency(options, read, home, device, latencyUs)) result.failedOver++;
      if (onRecord !== undefined) {
        onRecord({
          index: ioIndex[io]!,
          device: home,
          arrivalMs: ioArrivalUs[io]! / 1000,
          latencyUs,
          read,
          size,
          offset: ioOffset[io]!,
          submitMs: trySubmitUs[t]! / 1000,
          ok: 1,
          servedBy: device,
          revokes: ioAttempt[io]!,
          pendingAtIssue: tryPending[t]!,
          submitUs: trySubmitUs[t]!,
          completeUs: nowUs,
          hedged: ioHedged[io] === 1,
          submitSeq: trySeq[t]!,
        });
      }
    }
    tries.release(t);
    finishIfIdle(io);
  };

  const hedge = (io: number): void => {
    ioOutstanding[io]!--;
    if (ioDone[io] === 0 && ioHedged[io] === 0) {
      ioHedged[io] = 1;
      result.hedgedReads++;
      result.extraIos++;
      submitTry(io, (ioServing[io]! + 1) % n);
    }
    finishIfIdle(io);
  };

  const runUntil = (limitUs: number): void => {
    // Completions at the arrival's own time run first; actions scheduled at that time ran before it arrived.
    while (queue.size > 0) {
      const t = queue.peekTime();
      if (t > limitUs || (t === limitUs && queue.peekClass() !== COMPLETION)) break;
      queue.pop();
      nowUs = queue.lastTime;
      const payload = queue.lastPayload;
      switch (queue.lastKind) {
        case KIND_COMPLETE:
          complete(payload);
          break;
        case KIND_RETRY:
          ioOutstanding[payload]!--;
          tryRead(payload);
          break;
        case KIND_HEDGE:
          hedge(payload);
          break;
        case KIND_RELEASE:
          ioHeld[payload] = 0;
          ioOutstanding[payload]!--;
          act(payload, ioRevoke[payload] === 1);
          break;
        case KIND_TIMER: {
          const fire = timers[payload]!;
          timers[payload] = undefined;
          freeTimers.push(payload);
          try {
            fire(nowUs);
          } catch {
            result.policyFaults++;
          }
          break;
        }
      }
    }
  };

  let lastArrivalUs = 0;
  const arrive = (record: TraceRecord): void => {
    let arrivalUs = record.arrivalMs * 1000;
    if (arrivalUs < lastArrivalUs) {
      result.reorderedArrivals++;
      arrivalUs = lastArrivalUs;
    }
    lastArrivalUs = arrivalUs;
    runUntil(arrivalUs);
    nowUs = arrivalUs;
    const home = ((record.device % n) + n) % n;
    const io = ios.alloc(growIos);
    ioArrivalUs[io] = arrivalUs;
    ioOffset[io] = record.offset;
    ioSize[io] = record.size;
    ioIndex[io] = streamIndex[home]!++;
    ioHome[io] = home;
    ioAttempt[io] = 0;
    ioRead[io] = record.read ? 1 : 0;
    ioDone[io] = 0;
    ioHedged[io] = 0;
    ioOutstanding[io] = 0;
    result.ios++;
    if (record.read) {
      result.reads++;
      tryRead(io);
    } else {
      result.writes++;
      submitTry(io, home);
    }
    if (onProgress !== undefined && result.ios % progressEvery === 0) onProgress(result.ios);
  };
  let finished = false;
  return {
    arrive,
    finish(): ReplayResult {
      if (!finished) {
        finished = true;
        runUntil(Number.POSITIVE_INFINITY);
        if (heldWaiting > 0) {
          // The policy never released these: submit them now rather than lose their reads.
          for (let io = 0; io < ios.capacity; io++) {
            if (ioHeld[io] !== HELD) continue;
            result.policyFaults++;
            heldWaiting--;
            ioHeld[io] = 0;
            ioOutstanding[io]!--;
            act(io, false);
          }
          runUntil(Number.POSITIVE_INFINITY);
        }
        result.endUs = nowUs;
        onProgress?.(result.ios);
      }
      return result;
    },
  };
}

/**
 * Merge one arrival-ordered stream per device into one arrival-ordered stream whose records carry their
 * stream's index as device (LinnOS's evaluation: each device replays its own trace). Ties go to the lower
 * stream index. Streams are pulled lazily.
 */
export function mergeStreams(streams: readonly Iterable<TraceRecord>[]): Generator<TraceRecord> {
  return mergeByArrival(streams, { tagDevice: true });
}

/** Async counterpart of mergeStreams for streamed trace files: batches in, batches out. */
export async function* mergeBatchStreams(
  streams: readonly AsyncIterable<readonly TraceRecord[]>[],
  batchSize = 4096,
): AsyncGenerator<TraceRecord[]> {
  const iterators = streams.map((s) => s[Symbol.asyncIterator]());
  const buffers: (readonly TraceRecord[])[] = streams.map(() => []);
  const positions = streams.map(() => 0);
  const done = streams.map(() => false);
  const fill = async (i: number): Promise<void> => {
    while (!done[i] && positions[i]! >= buffers[i]!.length) {
      const r = await iterators[i]!.next();
      if (r.done) done[i] = true;
      else {
        buffers[i] = r.value;
        positions[i] = 0;
      }
    }
  };
  try {
    for (let i = 0; i < streams.length; i++) await fill(i);
    let out: TraceRecord[] = [];
    for (;;) {
      let best = -1;
      let bestMs = Number.POSITIVE_INFINITY;
      for (let i = 0; i < streams.length; i++) {
        if (positions[i]! < buffers[i]!.length) {
          const ms = buffers[i]![positions[i]!]!.arrivalMs;
          if (ms < bestMs) {
            best = i;
            bestMs = ms;
          }
        }
      }
      if (best < 0) break;
      const head = buffers[best]![positions[best]!++]!;
      out.push({ ...head, device: best });
      if (out.length >= batchSize) {
        yield out;
        out = [];
      }
      if (positions[best]! >= buffers[best]!.length) await fill(best);
    }
    if (out.length > 0) yield out;
  } finally {
    // A consumer that stops early must not leave the trace files open.
    await Promise.all(iterators.map((it) => it.return?.()));
  }
}
