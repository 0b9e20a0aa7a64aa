/**
 * Min-max scaling (scikit-learn's MinMaxScaler, as Heimdall uses it): fitted on training vectors, maps each
 * feature to (x - min) / (max - min); a constant feature maps to x - min. Values outside the training
 * range go outside [0, 1], as in scikit-learn (no clipping).
 */
import { LakeError } from '../errors.js';

export interface MinMax {
  readonly min: Float64Array;
  /** max - min, with 1 where it is 0 (scikit-learn's handling of constant features). */
  readonly range: Float64Array;
}

export function fitMinMax(values: Float64Array, width: number): MinMax {
  const count = values.length / width;
  if (!(count >= 1 && Number.isInteger(count))) {
    throw new LakeError('LAKE_E_USAGE', `fitMinMax: ${values.length} values do not hold rows of ${width}`);
  }
  const min = new Float64Array(width).fill(Number.POSITIVE_INFINITY);
  const max = new Float64Array(width).fill(Number.NEGATIVE_INFINITY);
  for (let r = 0; r < count; r++) {
    for (let f = 0; f < width; f++) {
      const v = values[r * width + f]!;
      if (v < min[f]!) min[f] = v;
      if (v > max[f]!) max[f] = v;
    }
  }
  const range = new Float64Array(width);
  for (let f = 0; f < width; f++) range[f] = max[f]! - min[f]! || 1;
  return { min, range };
}

/** Scaled copy of row-major values. */
export function applyMinMax(scaler: MinMax, values: Float64Array): Float64Array {
  const width = scaler.min.length;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const f = i % width;
    out[i] = (values[i]! - scaler.min[f]!) / scaler.range[f]!;
  }
  return out;
}
