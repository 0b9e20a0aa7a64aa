import { LakeError } from '../../errors.js';

/**
 * When a read that would open a batch is held back for others:
 * - 'always': every read waits for the window or a full batch (LAKE's block layer);
 * - 'likely' (default): only when the device's recent inter-arrival time says the window should gather a
 *   batch that reaches the crossover (1 + window / inter-arrival >= crossover, within the maximum batch);
 *   otherwise the read is decided at once as a batch of one. LAKE's rule "skip the GPU when one CPU
 *   inference is cheaper than the average inter-arrival time" serves the same end: a lone read never waits
 *   for company that is not coming;
 * - 'never': no batching at all, every read is a batch of one.
 */
export type HoldRule = 'always' | 'likely' | 'never';

export interface BatchingOptions {
  /** A batch closes this long after its first read (LAKE: 5 us for NN, 40 us for NN+1/NN+2)... */
  windowUs: number;
  /** ...or when it holds this many reads (LAKE: 10/8/6). */
  maxBatch: number;
  hold: HoldRule;
}

export type BatchClose = 'window' | 'full' | 'lone';

/** The replay engine's timers (ArrayContext satisfies it). */
export interface VirtualTimers {
  wakeAt(atUs: number, fire: (nowUs: number) => void): void;
}

/** Told when a device's batch closes: `size` reads, oldest first, at virtual time `nowUs`. */
export type BatchCloser = (device: number, size: number, nowUs: number, why: BatchClose) => void;

const INTER_ARRIVAL_WEIGHT = 1 / 8;

/**
 * Per-device batching in the admission path, on the replay's virtual clock: the first read of a batch
 * starts the window; later reads for the same device join until the window ends or the batch is full.
 * The batcher only counts; what a batch holds (features, tickets) lives with the caller, in arrival order.
 */
export class VirtualBatcher {
  readonly options: BatchingOptions;
  readonly #close: BatchCloser;
  readonly #size: Int32Array;
  readonly #generation: Int32Array;
  readonly #lastArrivalUs: Float64Array;
  readonly #interArrivalUs: Float64Array;

  constructor(devices: number, options: BatchingOptions, close: BatchCloser) {
    if (!(options.windowUs >= 0 && Number.isFinite(options.windowUs)))
      throw new LakeError('LAKE_E_USAGE', `batching windowUs must be >= 0, got ${options.windowUs}`);
    if (!Number.isSafeInteger(options.maxBatch) || options.maxBatch < 1)
      throw new LakeError(
        'LAKE_E_USAGE',
        `batching maxBatch must be an integer >= 1, got ${options.maxBatch}`,
      );
    if (!['always', 'likely', 'never'].includes(options.hold))
      throw new LakeError(
        'LAKE_E_USAGE',
        `batching hold must be always, likely or never, got ${options.hold}`,
      );
    this.options = { ...options };
    this.#close = close;
    this.#size = new Int32Array(devices);
    this.#generation = new Int32Array(devices);
    this.#lastArrivalUs = new Float64Array(devices);
    this.#interArrivalUs = new Float64Array(devices);
    this.reset();
  }

  /** Forgets open batches and arrival history (a new replay). */
  reset(): void {
    this.#size.fill(0);
    this.#lastArrivalUs.fill(Number.NaN);
    this.#interArrivalUs.fill(Number.POSITIVE_INFINITY);
  }

  /** Mean time between reads offered for `device` lately (an exponential average), us; Infinity at first. */
  interArrivalUs(device: number): number {
    return this.#interArrivalUs[device]!;
  }

  /** Reads waiting in `device`'s open batch. */
  pending(device: number): number {
    return this.#size[device]!;
  }

  /**
   * A read for `device` arrives at `nowUs` (its features already stored by the caller). `worthBatching` is
   * the smallest batch that would leave the inline path (null: none), for the 'likely' rule.
   */
  offer(device: number, nowUs: number, timers: VirtualTimers, worthBatching: number | null): void {
    this.#noteArrival(device, nowUs);
    const { windowUs, maxBatch } = this.options;
    const size = this.#size[device]!;
    if (size > 0) {
      this.#size[device] = size + 1;
      if (size + 1 >= maxBatch) this.#flush(device, nowUs, 'full');
      return;
    }
    if (maxBatch === 1 || !this.#shouldHold(device, worthBatching)) {
      this.#close(device, 1, nowUs, 'lone');
      return;
    }
    this.#size[device] = 1;
    const generation = ++this.#generation[device]!;
    timers.wakeAt(nowUs + windowUs, (at) => {
      if (this.#generation[device] === generation && this.#size[device]! > 0)
        this.#flush(device, at, 'window');
    });
  }

  #flush(device: number, nowUs: number, why: BatchClose): void {
    const size = this.#size[device]!;
    this.#size[device] = 0;
    this.#generation[device]!++;
    this.#close(device, size, nowUs, why);
  }

  #shouldHold(device: number, worthBatching: number | null): boolean {
    switch (this.options.hold) {
      case 'always':
        return true;
      case 'never':
        return false;
      case 'likely': {
        if (worthBatching === null || worthBatching > this.options.maxBatch) return false;
        const expected = 1 + this.options.windowUs / this.#interArrivalUs[device]!;
        return expected >= worthBatching;
      }
    }
  }

  #noteArrival(device: number, nowUs: number): void {
    const last = this.#lastArrivalUs[device]!;
    this.#lastArrivalUs[device] = nowUs;
    if (Number.isNaN(last)) return;
    const gap = Math.max(0, nowUs - last);
    const mean = this.#interArrivalUs[device]!;
    this.#interArrivalUs[device] =
      mean === Number.POSITIVE_INFINITY ? gap : mean + (gap - mean) * INTER_ARRIVAL_WEIGHT;
  }
}
