import type { Device } from '../flash/types.js';
import { mergeByArrival } from '../trace/merge.js';
import type { TraceRecord } from '../trace/types.js';
import { Admission, HELD, REVOKE } from './core/admission.js';
import { ReplicaChains } from './core/chains.js';
import { emptyReplayResult, emptyServedIo, type ReplayResult, reportServed } from './core/records.js';
import { DEFAULT_REVOKE_COST_US, hedgeDelayUs, homeReplica } from './core/replicas.js';
import { grown, SlotPool } from './core/slots.js';
import { DeviceState } from './device-state.js';
import { ACTION, COMPLETION, EventQueue } from './event-queue.js';
import type { LatencySink, ReplayOutputs } from './outputs.js';
import type { AdmissionPolicy } from './policy.js';

export type { LatencySink, ReplayResult };
export { DEFAULT_REVOKE_COST_US };

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

// Event kinds on the queue (arrivals come from the input stream, not the queue).
const KIND_RETRY = 1;
const KIND_HEDGE = 2;
const KIND_COMPLETE = 3;
const KIND_RELEASE = 4;
const KIND_TIMER = 5;

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
  if (options.devices.length < 1) throw new RangeError('options.devices must hold at least one device');
  const engine = new VirtualClockReplay(options);
  return { arrive: (record) => engine.arrive(record), finish: () => engine.finish() };
}

/**
 * The engine's state: the application I/Os in flight (a slot each, their columns below), the device tries
 * in flight (likewise), the event queue and the shared admission bookkeeping (src/array/core).
 */
class VirtualClockReplay {
  readonly #options: ReplayOptions;
  readonly #devices: readonly Device[];
  readonly #replicas: number;
  readonly #revokeCostUs: number;
  readonly #hedgeAfterUs: number | undefined;
  readonly #onReadComplete: AdmissionPolicy['onReadComplete'];
  readonly #progressEvery: number;
  readonly #states: DeviceState[];
  readonly #queue = new EventQueue();
  readonly #result = emptyReplayResult();
  readonly #admission: Admission;
  readonly #served = emptyServedIo();
  readonly #streamIndex: Float64Array;
  #submitSeq = 0;
  #nowUs = 0;
  #lastArrivalUs = 0;
  #finished = false;

  // Application I/Os in flight.
  readonly #ios = new SlotPool(64);
  #ioArrivalUs = new Float64Array(0);
  #ioOffset = new Float64Array(0);
  #ioSize = new Float64Array(0);
  #ioRead = new Uint8Array(0);
  #ioOutstanding = new Int32Array(0); // device tries + pending events (retry, hedge, release)
  readonly #chains: ReplicaChains;
  readonly #growIos = (capacity: number): void => {
    this.#ioArrivalUs = grown(this.#ioArrivalUs, capacity);
    this.#ioOffset = grown(this.#ioOffset, capacity);
    this.#ioSize = grown(this.#ioSize, capacity);
    this.#ioRead = grown(this.#ioRead, capacity);
    this.#ioOutstanding = grown(this.#ioOutstanding, capacity);
    this.#chains.grow(capacity);
  };
  // Device tries in flight.
  readonly #tries = new SlotPool(64);
  #tryIo = new Int32Array(0);
  #tryDevice = new Int32Array(0);
  #tryPending = new Float64Array(0);
  #trySubmitUs = new Float64Array(0);
  #trySeq = new Float64Array(0);
  readonly #growTries = (capacity: number): void => {
    this.#tryIo = grown(this.#tryIo, capacity);
    this.#tryDevice = grown(this.#tryDevice, capacity);
    this.#tryPending = grown(this.#tryPending, capacity);
    this.#trySubmitUs = grown(this.#trySubmitUs, capacity);
    this.#trySeq = grown(this.#trySeq, capacity);
  };

  constructor(options: ReplayOptions) {
    const devices = options.devices;
    const policy = options.policy;
    this.#options = options;
    this.#devices = devices;
    this.#replicas = devices.length;
    this.#revokeCostUs = options.revokeCostUs ?? DEFAULT_REVOKE_COST_US;
    this.#hedgeAfterUs = hedgeDelayUs(policy, this.#replicas);
    this.#onReadComplete = policy.onReadComplete?.bind(policy);
    this.#progressEvery = options.progressEvery ?? 65536;
    this.#states = devices.map((_, i) => new DeviceState(i));
    this.#streamIndex = new Float64Array(this.#replicas);
    this.#chains = new ReplicaChains(this.#replicas, 0, this.#result);
    const queue = this.#queue;
    this.#admission = new Admission({
      policy,
      lcReads: options.lcReads ?? true,
      replicas: this.#replicas,
      revokeCostUs: this.#revokeCostUs,
      devices: this.#states,
      peekReadUs: (device, offset, size, atUs) => devices[device]!.peekRead(offset, size, atUs),
      scheduler: {
        release: (ticket, atUs) => queue.push(Math.max(this.#nowUs, atUs), ACTION, KIND_RELEASE, ticket),
        timer: (id, atUs) => queue.push(Math.max(this.#nowUs, atUs), ACTION, KIND_TIMER, id),
      },
      counts: this.#result,
    });
    policy.start?.(this.#admission.context);
  }

  /** An application I/O arrives: events due before it run first, then its first try. */
  arrive(record: TraceRecord): void {
    const result = this.#result;
    let arrivalUs = record.arrivalMs * 1000;
    if (arrivalUs < this.#lastArrivalUs) {
      result.reorderedArrivals++;
      arrivalUs = this.#lastArrivalUs;
    }
    this.#lastArrivalUs = arrivalUs;
    this.#runUntil(arrivalUs);
    this.#nowUs = arrivalUs;
    const home = homeReplica(record.device, this.#replicas);
    const io = this.#ios.alloc(this.#growIos);
    this.#ioArrivalUs[io] = arrivalUs;
    this.#ioOffset[io] = record.offset;
    this.#ioSize[io] = record.size;
    this.#chains.begin(io, this.#streamIndex[home]!++, home);
    this.#ioRead[io] = record.read ? 1 : 0;
    this.#ioOutstanding[io] = 0;
    result.ios++;
    if (record.read) {
      result.reads++;
      this.#tryRead(io);
    } else {
      result.writes++;
      this.#submitTry(io, home);
    }
    const onProgress = this.#options.onProgress;
    if (onProgress !== undefined && result.ios % this.#progressEvery === 0) onProgress(result.ios);
  }

  /** Runs every event left; tries a policy never released are submitted then (policy faults). */
  finish(): ReplayResult {
    if (!this.#finished) {
      this.#finished = true;
      this.#runUntil(Number.POSITIVE_INFINITY);
      if (this.#admission.waiting > 0) {
        this.#admission.submitUnreleased((io) => {
          this.#ioOutstanding[io]!--;
          this.#act(io, false);
        });
        this.#runUntil(Number.POSITIVE_INFINITY);
      }
      this.#result.endUs = this.#nowUs;
      this.#options.onProgress?.(this.#result.ios);
    }
    return this.#result;
  }

  #submitTry(io: number, device: number): void {
    const size = this.#ioSize[io]!;
    const t = this.#tries.alloc(this.#growTries);
    this.#tryIo[t] = io;
    this.#tryDevice[t] = device;
    this.#tryPending[t] = this.#states[device]!.submit(size);
    this.#trySubmitUs[t] = this.#nowUs;
    this.#trySeq[t] = this.#submitSeq++;
    this.#ioOutstanding[io]!++;
    this.#chains.submittedTo(io, device);
    const done = this.#devices[device]!.submit(
      this.#ioRead[io] === 1,
      this.#ioOffset[io]!,
      size,
      this.#nowUs,
    );
    this.#queue.push(done.completeUs, COMPLETION, KIND_COMPLETE, t);
  }

  /** A read's next try: ask the policy unless it is on the last replica. */
  #tryRead(io: number): void {
    const chains = this.#chains;
    const attempt = chains.attempt(io);
    if (this.#admission.asks(attempt)) {
      const offset = this.#ioOffset[io]!;
      const size = this.#ioSize[io]!;
      const verdict = this.#admission.ask(
        io,
        chains.index(io),
        chains.home(io),
        chains.target(io),
        offset,
        size,
        this.#nowUs,
        attempt,
      );
      if (verdict === HELD) {
        // Parked until its release event (which takes this back).
        this.#ioOutstanding[io]!++;
        return;
      }
      this.#act(io, verdict === REVOKE);
      return;
    }
    this.#act(io, false);
  }

  /** A try's verdict: revoke (retry on the next replica after the revoke cost) or submit (and hedge). */
  #act(io: number, revoke: boolean): void {
    if (revoke) {
      this.#chains.revoke(io);
      this.#ioOutstanding[io]!++;
      this.#queue.push(this.#nowUs + this.#revokeCostUs, ACTION, KIND_RETRY, io);
      return;
    }
    this.#submitTry(io, this.#chains.target(io));
    if (this.#hedgeAfterUs !== undefined) {
      this.#ioOutstanding[io]!++;
      this.#queue.push(this.#nowUs + this.#hedgeAfterUs, ACTION, KIND_HEDGE, io);
    }
  }

  #finishIfIdle(io: number): void {
    if (this.#ioOutstanding[io] === 0) this.#ios.release(io);
  }

  /** A device try completes; the first completion of its I/O serves it. */
  #complete(t: number): void {
    const io = this.#tryIo[t]!;
    const device = this.#tryDevice[t]!;
    const read = this.#ioRead[io] === 1;
    const size = this.#ioSize[io]!;
    const nowUs = this.#nowUs;
    const latencyOnDevice = nowUs - this.#trySubmitUs[t]!;
    this.#states[device]!.complete(read, size, this.#tryPending[t]!, latencyOnDevice, nowUs);
    if (read)
      this.#onReadComplete?.(device, latencyOnDevice, nowUs, this.#chains.home(io), this.#chains.index(io));
    this.#ioOutstanding[io]!--;
    const chains = this.#chains;
    if (chains.serve(io)) {
      const served = this.#served;
      served.index = chains.index(io);
      served.home = chains.home(io);
      served.arrivalUs = this.#ioArrivalUs[io]!;
      served.latencyUs = nowUs - this.#ioArrivalUs[io]!;
      served.read = read;
      served.size = size;
      served.offset = this.#ioOffset[io]!;
      served.servedBy = device;
      served.revokes = chains.attempt(io);
      served.pendingAtIssue = this.#tryPending[t]!;
      served.submitUs = this.#trySubmitUs[t]!;
      served.completeUs = nowUs;
      served.hedged = chains.isHedged(io);
      served.submitSeq = this.#trySeq[t]!;
      if (reportServed(this.#options, served)) this.#result.failedOver++;
    }
    this.#tries.release(t);
    this.#finishIfIdle(io);
  }

  /** A read's hedge delay has passed: duplicate it on the next replica unless it completed. */
  #hedge(io: number): void {
    this.#ioOutstanding[io]!--;
    const target = this.#chains.hedge(io);
    if (target >= 0) {
      this.#result.extraIos++;
      this.#submitTry(io, target);
    }
    this.#finishIfIdle(io);
  }

  #runUntil(limitUs: number): void {
    const queue = this.#queue;
    // Completions at the arrival's own time run first; actions scheduled at that time ran before it arrived.
    while (queue.size > 0) {
      const t = queue.peekTime();
      if (t > limitUs || (t === limitUs && queue.peekClass() !== COMPLETION)) break;
      queue.pop();
      this.#nowUs = queue.lastTime;
      const payload = queue.lastPayload;
      switch (queue.lastKind) {
        case KIND_COMPLETE:
          this.#complete(payload);
          break;
        case KIND_RETRY:
          this.#ioOutstanding[payload]!--;
          this.#tryRead(payload);
          break;
        case KIND_HEDGE:
          this.#hedge(payload);
          break;
        case KIND_RELEASE: {
          const revoke = this.#admission.takeRelease(payload);
          this.#ioOutstanding[payload]!--;
          this.#act(payload, revoke);
          break;
        }
        case KIND_TIMER:
          this.#admission.fireTimer(payload, this.#nowUs);
          break;
      }
    }
  }
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
