import type { Device } from '../flash/types.js';
import { mergeByArrival } from '../trace/merge.js';
import type { TraceRecord } from '../trace/types.js';
import { emptyReplayResult, type ReplayResult } from './core/records.js';
import { DEFAULT_REVOKE_COST_US } from './core/replicas.js';
import { type ReplayClock, ReplayCore, type ReplayDevices } from './core/tries.js';
import { COMPLETION, EventQueue } from './event-queue.js';
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
 * The virtual-clock replay engine: merges arrivals with device completions and the core's scheduled
 * actions (revoke retries, hedge timers, policy releases and timers) in time order, and runs every step of
 * an I/O through the replay core (src/array/core/tries.ts: admission, failover, hedging, records).
 * Each I/O's home device is `record.device % devices.length`. It is the core's clock (virtual time jumps
 * to the next event) and devices (a try is submitted to its `Device` at once, which says when it completes:
 * no queue-depth limit).
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
class VirtualClockReplay implements ReplayClock, ReplayDevices {
  readonly #options: ReplayOptions;
  readonly #devices: readonly Device[];
  /** Device completions (payload: the try) by (time, order submitted). */
  readonly #completions = new EventQueue();
  readonly #result = emptyReplayResult();
  readonly #core: ReplayCore;
  #nowUs = 0;
  #lastArrivalUs = 0;
  #finished = false;

  constructor(options: ReplayOptions) {
    const devices = options.devices;
    this.#options = options;
    this.#devices = devices;
    this.#core = new ReplayCore({
      policy: options.policy,
      replicas: devices.length,
      revokeCostUs: options.revokeCostUs ?? DEFAULT_REVOKE_COST_US,
      lcReads: options.lcReads ?? true,
      clock: this,
      devices: this,
      originUs: 0,
      outputs: options,
      result: this.#result,
      onProgress: options.onProgress,
      progressEvery: options.progressEvery,
      chargesInference: true,
    });
  }

  nowUs(): number {
    return this.#nowUs;
  }

  issue(t: number, device: number, read: boolean, offset: number, size: number): void {
    const done = this.#devices[device]!.submit(read, offset, size, this.#nowUs);
    this.#completions.push(done.completeUs, COMPLETION, 0, t);
  }

  readonly peekReadUs = (device: number, offset: number, size: number, atUs: number): number =>
    this.#devices[device]!.peekRead(offset, size, atUs);

  /** An application I/O arrives: events due before it run first, then its first try. */
  arrive(record: TraceRecord): void {
    let arrivalUs = record.arrivalMs * 1000;
    if (arrivalUs < this.#lastArrivalUs) {
      this.#result.reorderedArrivals++;
      arrivalUs = this.#lastArrivalUs;
    }
    this.#lastArrivalUs = arrivalUs;
    this.#runUntil(arrivalUs);
    this.#nowUs = arrivalUs;
    this.#core.arrive(arrivalUs, arrivalUs, record.device, record.offset, record.size, record.read);
  }

  /** Runs every event left; tries a policy never released are submitted then (policy faults). */
  finish(): ReplayResult {
    if (!this.#finished) {
      this.#finished = true;
      this.#runUntil(Number.POSITIVE_INFINITY);
      if (this.#core.waiting > 0) {
        this.#core.submitUnreleased();
        this.#runUntil(Number.POSITIVE_INFINITY);
      }
      this.#result.endUs = this.#nowUs;
      this.#options.onProgress?.(this.#result.ios);
    }
    return this.#result;
  }

  /**
   * Runs completions and the core's actions up to `limitUs` in time order, completions first at equal
   * times; at `limitUs` itself only completions (actions scheduled for an arrival's time run after it).
   */
  #runUntil(limitUs: number): void {
    const completions = this.#completions;
    const core = this.#core;
    while (completions.size > 0 || core.scheduledActions > 0) {
      const completionUs = completions.peekTime();
      const actionUs = core.nextActionUs();
      if (completions.size > 0 && completionUs <= actionUs) {
        if (completionUs > limitUs) break;
        completions.pop();
        this.#nowUs = completionUs;
        core.complete(completions.lastPayload, completionUs, false);
      } else {
        if (actionUs >= limitUs) break;
        this.#nowUs = actionUs;
        core.runNextAction();
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
