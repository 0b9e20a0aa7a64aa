/** Argument checks shared by the incremental backends, so that they fail alike. */
import { LakeError } from '../errors.js';
import { isDigit } from './checks.js';

/** Throws unless `context` names one of `contexts` contexts. */
export function checkContext(context: number, contexts: number): void {
  if (!(Number.isInteger(context) && context >= 0 && context < contexts)) {
    throw new LakeError('LAKE_E_USAGE', `context ${context} is not one of 0..${contexts - 1}`);
  }
}

/** Throws unless `submit` holds one digit per submit position. */
export function checkSubmitDigits(submit: ArrayLike<number>, count: number): void {
  if (submit.length !== count) {
    throw new LakeError('LAKE_E_USAGE', `a submit step takes ${count} digits, got ${submit.length}`);
  }
  for (let s = 0; s < count; s++) {
    const value = submit[s]!;
    if (!isDigit(value))
      throw new LakeError('LAKE_E_USAGE', `submit digit ${s} is ${value}, not a digit 0-9`);
  }
}

/**
 * predictDigits' three digits written into `digits` (one per submit position, at most 3), so that a JS
 * backend's predictDigits is its predict on them.
 */
export function submitDigitsOf(digits: Float64Array, d0: number, d1: number, d2: number): Float64Array {
  if (digits.length > 3) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `predictDigits takes 3 digits; this predictor has ${digits.length} submit positions`,
    );
  }
  digits[0] = d0;
  if (digits.length > 1) digits[1] = d1;
  if (digits.length > 2) digits[2] = d2;
  return digits;
}
