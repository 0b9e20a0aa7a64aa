import { LakeError } from '../errors.js';
import type { Backend } from './types.js';

/** Shared argument checks of every backend, so that they fail alike. */

export function digitError(value: number, position: number, vector?: number): LakeError {
  const where = vector === undefined ? `input ${position}` : `vector ${vector}, input ${position}`;
  return new LakeError('LAKE_E_USAGE', `${where} is ${value}, not a digit 0-9`);
}

export function isDigit(value: number): boolean {
  return value >= 0 && value <= 9 && Math.trunc(value) === value;
}

/** Throws for the first value of vector `vector` (at xs[base..base+inputs)) that is not a digit. */
export function checkDigits(xs: ArrayLike<number>, base: number, inputs: number, vector?: number): void {
  for (let i = 0; i < inputs; i++) {
    const value = xs[base + i]!;
    if (!isDigit(value)) throw digitError(value, i, vector);
  }
}

export function checkVector(x: ArrayLike<number>, inputs: number): void {
  if (x.length !== inputs) {
    throw new LakeError('LAKE_E_USAGE', `an input vector must hold ${inputs} values, got ${x.length}`);
  }
}

export function checkBatch(
  xs: ArrayLike<number>,
  n: number,
  inputs: number,
  outLength: number,
  per: number,
): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new LakeError('LAKE_E_USAGE', `n must be a non-negative integer, got ${n}`);
  if (xs.length < n * inputs) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `a batch of ${n} vectors needs ${n * inputs} values, got ${xs.length}`,
    );
  }
  if (outLength < n * per) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `the output of a batch of ${n} needs ${n * per} slots, got ${outLength}`,
    );
  }
}

export function checkScoresOut(out: ArrayLike<number>, outputs: number): void {
  if (out.length < outputs)
    throw new LakeError('LAKE_E_USAGE', `scores need ${outputs} slots, got ${out.length}`);
}

export function disposedError(backend: Backend): LakeError {
  return new LakeError('LAKE_E_USAGE', `the ${backend} predictor was used after dispose()`);
}
