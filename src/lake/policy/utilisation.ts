import type { UtilisationSample } from '../lib/types.js';
import { UTILISATION_PERIOD_MS, UTILISATION_THRESHOLD } from './constants.js';

/** What the monitor samples: LakeLib satisfies it (lakeD's load), and so does a GPU's NVML source. */
export interface UtilisationSource {
  /**
   * `foreign`, where the source measures other clients' load itself (NVML's per-process samples), is used
   * as it is instead of busy less the monitor's estimate of our own batches. `sinceMs`, where the reading
   * averages samples taken before the poll (NVML's), is how long before the poll the oldest time it speaks
   * of lies; by default the window just ended (`windowMs`).
   */
  utilisation(): Pick<UtilisationSample, 'busy' | 'windowMs'> & {
    readonly foreign?: number;
    readonly sinceMs?: number;
  };
}

export interface UtilisationMonitorOptions {
  /** Sampling period, ms (default 20, LAKE's). */
  periodMs?: number;
  /** Busy fraction from other clients above which backends are skipped (default 0.7, LAKE's). */
  threshold?: number;
  /** Wall clock in ms (tests inject one). */
  clock?: () => number;
  /** Told of every sample. */
  onSample?: (sample: UtilisationReading) => void;
}

export interface UtilisationReading {
  /** Clock time of the sample, ms. */
  atMs: number;
  windowMs: number;
  /** lakeD's busy fraction over the window. */
  busy: number;
  /** The part of it our own batches explain (estimated from their calibrated compute time). */
  own: number;
  /** busy - own, or the source's own measure of it: the load of other clients, what the threshold applies to. */
  foreign: number;
  /**
   * Clock time, ms, of the oldest moment the reading speaks of (atMs - windowMs, or earlier where the source
   * averages samples taken before the poll): a reading from after an event has fromMs after it.
   */
  fromMs: number;
}

/**
 * LAKE's utilisation check: sample lakeD's busy fraction every `periodMs` and skip its backends while other
 * clients keep it busier than `threshold`. Sampling is lazy (on the first query after a period has passed)
 * so it works on a thread that never yields to the event loop, such as a virtual-time replay. Our own
 * batches are subtracted (LAKE: "if more than one process uses it"), so a policy never throttles itself:
 * callers report the compute time of the work they send to lakeD with `addOwnBusyUs`.
 */
export class UtilisationMonitor {
  readonly periodMs: number;
  readonly threshold: number;
  samples = 0;
  last: UtilisationReading | undefined;
  readonly #source: UtilisationSource | undefined;
  readonly #clock: () => number;
  readonly #onSample: ((sample: UtilisationReading) => void) | undefined;
  #lastAt: number;
  #ownUs = 0;
  #foreign = 0;

  constructor(source: UtilisationSource | undefined, options: UtilisationMonitorOptions = {}) {
    this.#source = source;
    this.periodMs = options.periodMs ?? UTILISATION_PERIOD_MS;
    this.threshold = options.threshold ?? UTILISATION_THRESHOLD;
    this.#clock = options.clock ?? (() => performance.now());
    this.#onSample = options.onSample;
    this.#lastAt = this.#clock();
    source?.utilisation(); // start the source's window now
  }

  /** Compute time (us) of work this client just gave lakeD. */
  addOwnBusyUs(us: number): void {
    this.#ownUs += us;
  }

  /** Other clients' busy fraction of lakeD as of the latest sample (sampling first if a period passed). */
  foreign(): number {
    if (this.#source === undefined) return 0;
    const now = this.#clock();
    if (now - this.#lastAt >= this.periodMs) this.#sample(now);
    return this.#foreign;
  }

  overloaded(): boolean {
    return this.foreign() > this.threshold;
  }

  #sample(now: number): void {
    const sample = this.#source!.utilisation();
    const windowMs = sample.windowMs > 0 ? sample.windowMs : Math.max(now - this.#lastAt, 1e-6);
    const own = Math.min(1, this.#ownUs / 1000 / windowMs);
    this.#ownUs = 0;
    this.#lastAt = now;
    this.#foreign = sample.foreign ?? Math.max(0, sample.busy - own);
    this.samples++;
    const fromMs = now - (sample.sinceMs ?? windowMs);
    const reading = { atMs: now, windowMs, busy: sample.busy, own, foreign: this.#foreign, fromMs };
    this.last = reading;
    this.#onSample?.(reading);
  }
}
