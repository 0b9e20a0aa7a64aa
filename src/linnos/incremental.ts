/**
 * LinnOS's submit path with inference split around it (kernels/incremental.ts): per device, the first-layer
 * partial sums of the last four completed reads (28 of the 31 digits) are recomputed when a read completes,
 * so that admitting a read adds only the 3 pend_now digits' rows, the ReLU and the output layer.
 *
 * For the online policy (policy.ts): `observe` from `onReadComplete` (off the submit path), `predict` from
 * `admit`. `predict` is correct without `observe` too: it compares the device's completed-read count (and
 * view) with the ones its context was computed from and recomputes it first when they differ, so a missed or
 * reordered completion callback costs time on that one submit, never a wrong decision.
 */
import { type DeviceView, pagesOf } from '../array/device-state.js';
import { LakeError } from '../errors.js';
import type { IncrementalPredictor } from '../kernels/incremental-types.js';
import type { Decision } from '../kernels/types.js';
import {
  LINNOS_FEATURES,
  LINNOS_HISTORY,
  linnosFeatures,
  PEND_NOW_OFFSET,
  PENDING_CAP,
  PENDING_DIGITS,
} from './features.js';

/** The positions of pend_now's 3 digits in the 31-digit vector: the submit positions of a LinnOS model. */
export const LINNOS_SUBMIT_POSITIONS: readonly number[] = Object.freeze(
  Array.from({ length: PENDING_DIGITS }, (_, k) => PEND_NOW_OFFSET + k),
);

/** No prediction: the device has completed fewer than 4 reads. */
export const NO_HISTORY = -1;

/**
 * One device's submit path on one context of an incremental predictor (built with
 * `submitPositions: LINNOS_SUBMIT_POSITIONS`); several devices sharing a model use one predictor with a
 * context each.
 */
export class LinnosSubmitPath {
  readonly #predictor: IncrementalPredictor;
  readonly #context: number;
  readonly #vector = new Uint8Array(LINNOS_FEATURES);
  /** The view and completed-read count the context was computed from. */
  #view: DeviceView | undefined;
  #completed = -1;

  constructor(predictor: IncrementalPredictor, context = 0) {
    const positions = predictor.submitPositions;
    if (
      predictor.inputs !== LINNOS_FEATURES ||
      positions.length !== PENDING_DIGITS ||
      positions.some((p, k) => p !== LINNOS_SUBMIT_POSITIONS[k])
    ) {
      throw new LakeError(
        'LAKE_E_USAGE',
        'a LinnOS submit path needs a 31-input predictor split at pend_now (submitPositions 12, 13, 14)',
      );
    }
    this.#predictor = predictor;
    this.#context = context;
  }

  /** Brings the device's context up to date after a read completed on it. Off the submit path. */
  observe(view: DeviceView): void {
    if (view.completedReads < LINNOS_HISTORY) return;
    if (view === this.#view && view.completedReads === this.#completed) return;
    // pend_now's digits are ignored by setContext; the arriving size does not matter here.
    linnosFeatures(view, 0, this.#vector);
    this.#predictor.setContext(this.#context, this.#vector);
    this.#view = view;
    this.#completed = view.completedReads;
  }

  /**
   * The decision for a read of `arrivingBytes` about to be submitted to the device behind `view` (before it
   * is submitted, as linnosFeatures), or NO_HISTORY until 4 reads have completed there.
   */
  predict(view: DeviceView, arrivingBytes: number): Decision | typeof NO_HISTORY {
    if (view.completedReads < LINNOS_HISTORY) return NO_HISTORY;
    if (view !== this.#view || view.completedReads !== this.#completed) this.observe(view);
    // pend_now's 3 digits as writeDigits writes them (rounded down, below 0 -> 0, capped at 999).
    const pending = view.pendingPages + pagesOf(arrivingBytes);
    let value = pending > 0 ? Math.floor(pending) : 0;
    if (value > PENDING_CAP) value = PENDING_CAP;
    const hundreds = (value / 100) | 0;
    const rest = value - hundreds * 100;
    const tens = (rest / 10) | 0;
    return this.#predictor.predictDigits(this.#context, hundreds, tens, rest - tens * 10);
  }
}
