/**
 * The drift watch: one online predictor's accuracy wanders as its workload changes (Heimdall measured
 * 63-82% over 8 hours and retrained when it fell below 80%; LinnOS's paper asks to "retrain and retrace
 * periodically"). A DriftWatch holds the ACTIVE model of one binary (slow/fast) predictor and decides, from
 * the predictions it is told the truth of, when to replace it:
 * - each resolved prediction (predicted class, true class, an optional weight) enters a rolling window of
 *   the last `window` resolutions; the window gives the rolling accuracy and false-submit rate (slow reads
 *   predicted fast, over slow reads). A weight stands for that many reads: a sampled class resolved at rate
 *   q weighs 1/q, so the window's figures estimate the unsampled stream's;
 * - the active model's reference is its rolling accuracy (and false-submit rate) over its first full window
 *   in service: measuring it in service rather than on training data makes the trigger about change, not
 *   about how optimistic the training-time figure was;
 * - every `checkEvery` resolutions (counted over the watch's life) once the active model's window is full,
 *   a check compares: the rolling accuracy below the reference by `tolerance` (or below `retrainBelow`,
 *   when given), or the false-submit rate above the reference by `falseSubmitTolerance` (when given),
 *   triggers a retrain, unless one is already under way;
 * - the caller trains (synchronously, in a worker, anywhere) and hands the model back with the time it may
 *   go live (`deliver`); `swapIfReady` makes it the active model in one assignment, so every prediction
 *   uses one whole model, old or new, never a mix; the window restarts for the new model.
 * With `retrain: false` the same figures are kept and no retrain is ever triggered (the static baseline).
 * Generic over the model type: the lake pipeline on recorded traces (src/realtrace/drift.ts) and online
 * LinnOS (src/linnos/online.ts) both run on it.
 */
import { LakeError } from '../errors.js';

export interface DriftWatchOptions {
  /** Resolutions in the rolling window (default 2000). */
  window?: number;
  /** Resolutions between checks (default 500). */
  checkEvery?: number;
  /** Retrain when the rolling accuracy is this far below the reference (default 0.1). */
  tolerance?: number;
  /** An absolute accuracy bar instead of reference - tolerance. */
  retrainBelow?: number;
  /** Also retrain when the rolling false-submit rate is this far above its reference (default: never). */
  falseSubmitTolerance?: number;
  /** Default true; false never triggers a retrain. */
  retrain?: boolean;
}

/** What a check measured. */
export interface DriftCheck {
  /** Resolutions over the watch's life at this check. */
  resolved: number;
  timeUs: number;
  rollingAccuracy: number;
  /** Slow resolutions predicted fast over slow resolutions in the window (NaN: none slow). */
  rollingFalseSubmitRate: number;
  /** Fast resolutions predicted slow over fast resolutions in the window (NaN: none fast). */
  rollingFalseRevokeRate: number;
  /** Generation of the active model (0 = the first). */
  generation: number;
}

/** A check that asked for a retrain: what it measured and the bars it crossed. */
export interface DriftTrigger extends DriftCheck {
  /** The accuracy bar (the rolling accuracy fell below it, or the false-submit rate rose above its bar). */
  bar: number;
  /** The false-submit bar (NaN when that rule is off or has no reference yet). */
  falseSubmitBar: number;
  reason: 'accuracy' | 'false-submit';
}

/** A retrain that went live. */
export interface DriftSwap<Info> {
  trigger: DriftTrigger;
  /** Time the model was delivered as ready to go live at. */
  readyAtUs: number;
  /** Time the new model went live (the first swapIfReady at or after its ready time). */
  swappedAtUs: number;
  /** Whatever the caller delivered with the model (how long training took, the new threshold...). */
  info: Info;
}

const DEFAULTS = { window: 2000, checkEvery: 500, tolerance: 0.1 };

function positiveInteger(name: string, value: number): number {
  if (!(Number.isSafeInteger(value) && value > 0))
    throw new LakeError('LAKE_E_USAGE', `options.${name} must be a positive integer, got ${value}`);
  return value;
}

/** See the module comment. */
export class DriftWatch<Model, Info = undefined> {
  readonly #window: number;
  readonly #checkEvery: number;
  readonly #tolerance: number;
  readonly #retrainBelow: number | undefined;
  readonly #falseSubmitTolerance: number | undefined;
  readonly #retrain: boolean;
  // The rolling window: per slot the weight and the (predicted, actual) pair as 2 bits.
  readonly #weights: Float64Array;
  readonly #pairs: Uint8Array;
  /** Weight sums per pair code (predicted * 2 + actual) over the window. */
  readonly #sums = new Float64Array(4);
  #inWindow = 0;
  #resolved = 0;
  #hits = 0;
  #weightTotal = 0;
  #active: Model | undefined;
  #generation = 0;
  #reference = Number.NaN;
  #referenceFalseSubmit = Number.NaN;
  #training: DriftTrigger | undefined;
  /** No trigger before this many resolutions (after an abandoned retrain). */
  #quietUntil = 0;
  #next: { model: Model; readyAtUs: number; trigger: DriftTrigger; info: Info } | undefined;
  readonly swaps: DriftSwap<Info>[] = [];
  readonly checks: DriftCheck[] = [];

  constructor(options: DriftWatchOptions = {}) {
    this.#window = positiveInteger('window', options.window ?? DEFAULTS.window);
    this.#checkEvery = positiveInteger('checkEvery', options.checkEvery ?? DEFAULTS.checkEvery);
    this.#tolerance = options.tolerance ?? DEFAULTS.tolerance;
    this.#retrainBelow = options.retrainBelow;
    this.#falseSubmitTolerance = options.falseSubmitTolerance;
    this.#retrain = options.retrain !== false;
    this.#weights = new Float64Array(this.#window);
    this.#pairs = new Uint8Array(this.#window);
  }

  /** The model predictions are made with now (undefined before `start`). */
  get active(): Model | undefined {
    return this.#active;
  }

  get generation(): number {
    return this.#generation;
  }

  /** Resolutions over the watch's life, and the (weighted) share of them predicted right. */
  get resolved(): number {
    return this.#resolved;
  }

  get accuracy(): number {
    return this.#weightTotal > 0 ? this.#hits / this.#weightTotal : Number.NaN;
  }

  /** The active model's reference accuracy (NaN until its first full window). */
  get reference(): number {
    return this.#reference;
  }

  /** A retrain was triggered and its model is not live yet. */
  get retraining(): boolean {
    return this.#training !== undefined || this.#next !== undefined;
  }

  /** The first model goes live. */
  start(model: Model): void {
    if (this.#active !== undefined) throw new LakeError('LAKE_E_INTERNAL', 'drift watch started twice');
    this.#active = model;
  }

  /**
   * One prediction of the active model resolved: `predicted` and `actual` are 1 = slow, 0 = fast; `weight`
   * is how many reads it stands for. Returns the trigger when this resolution's check asks for a retrain
   * (the caller then trains and calls `deliver`, or `abandon` if it cannot).
   */
  record(predicted: number, actual: number, timeUs: number, weight = 1): DriftTrigger | undefined {
    const code = (predicted === 1 ? 2 : 0) + (actual === 1 ? 1 : 0);
    const hit = predicted === actual ? weight : 0;
    this.#hits += hit;
    this.#weightTotal += weight;
    this.#resolved++;
    const slot = this.#inWindow % this.#window;
    if (this.#inWindow >= this.#window) this.#sums[this.#pairs[slot]!]! -= this.#weights[slot]!;
    this.#sums[code]! += weight;
    this.#pairs[slot] = code;
    this.#weights[slot] = weight;
    this.#inWindow++;
    if (this.#resolved % this.#checkEvery !== 0 || this.#inWindow < this.#window) return undefined;
    return this.#check(timeUs);
  }

  #check(timeUs: number): DriftTrigger | undefined {
    const sums = this.#sums;
    // Pair codes: 0 fast->fast, 1 slow predicted fast, 2 fast predicted slow, 3 slow->slow.
    const total = sums[0]! + sums[1]! + sums[2]! + sums[3]!;
    const check: DriftCheck = {
      resolved: this.#resolved,
      timeUs,
      rollingAccuracy: (sums[0]! + sums[3]!) / total,
      rollingFalseSubmitRate: sums[1]! / (sums[1]! + sums[3]!),
      rollingFalseRevokeRate: sums[2]! / (sums[0]! + sums[2]!),
      generation: this.#generation,
    };
    this.checks.push(check);
    if (Number.isNaN(this.#reference)) {
      this.#reference = check.rollingAccuracy;
      this.#referenceFalseSubmit = check.rollingFalseSubmitRate;
    }
    const bar = this.#retrainBelow ?? this.#reference - this.#tolerance;
    const fsBar =
      this.#falseSubmitTolerance !== undefined
        ? this.#referenceFalseSubmit + this.#falseSubmitTolerance
        : Number.NaN;
    if (!this.#retrain || this.retraining || this.#resolved < this.#quietUntil) return undefined;
    let reason: DriftTrigger['reason'] | undefined;
    if (check.rollingAccuracy < bar) reason = 'accuracy';
    else if (check.rollingFalseSubmitRate > fsBar) reason = 'false-submit';
    if (reason === undefined) return undefined;
    this.#training = { ...check, bar, falseSubmitBar: fsBar, reason };
    return this.#training;
  }

  /** The retrain the last trigger asked for produced `model`; it may go live at `readyAtUs`. */
  deliver(model: Model, readyAtUs: number, info: Info): void {
    const trigger = this.#training;
    if (trigger === undefined) throw new LakeError('LAKE_E_INTERNAL', 'drift watch: no retrain under way');
    this.#training = undefined;
    this.#next = { model, readyAtUs, trigger, info };
  }

  /**
   * The retrain under way gave no model (it failed, its data was unusable, its model was no good): the watch
   * may trigger again, but not before `retryAfter` more resolutions (fresh data to learn from).
   */
  abandon(retryAfter = 0): void {
    this.#training = undefined;
    this.#quietUntil = this.#resolved + retryAfter;
  }

  /**
   * Makes the delivered model the active one if its ready time has come: a single assignment between two
   * predictions. The window and the reference restart for it. Returns true when it swapped.
   */
  swapIfReady(timeUs: number): boolean {
    const next = this.#next;
    if (next === undefined || timeUs < next.readyAtUs) return false;
    this.#active = next.model;
    this.#generation++;
    this.swaps.push({
      trigger: next.trigger,
      readyAtUs: next.readyAtUs,
      swappedAtUs: timeUs,
      info: next.info,
    });
    this.#next = undefined;
    this.#sums.fill(0);
    this.#inWindow = 0;
    this.#reference = Number.NaN;
    this.#referenceFalseSubmit = Number.NaN;
    return true;
  }
}
