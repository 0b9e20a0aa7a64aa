import { HIDDEN_RESCALE, type LinnosIntegerModel, OUTPUT_SCALE } from '../../models/linnos-integer.js';
import { checkDigits, disposedError } from '../checks.js';
import { LayeredPredictor } from './layered.js';

/**
 * The exact LinnOS integer path (REFERENCE.md section 6; scaling per layer in models/linnos-integer.ts):
 *   h[j] = max(0, sum_i x[i] * W0T[j * 31 + i] + b0[j])
 *   o[c] = sum_k h[k] * W1T[c * 256 + k] + b1[c]
 * with, for NN+1/NN+2, each further hidden layer h' = trunc(max(0, sum_k h[k] * W[j][k] + b[j]) / 1000).
 * Slow iff o[1] > o[0]. The model must have passed validateIntegerModel, which proves every sum stays below
 * 2^53, so these double-precision operations are exact and equal the kernel's 64-bit C arithmetic bit for bit.
 */
export class ExactPredictor extends LayeredPredictor<LinnosIntegerModel> {
  readonly backend = 'exact';
  readonly rawScale = OUTPUT_SCALE;

  /** The integer outputs of the vector at xs[base..base+inputs); a view of an internal buffer. */
  protected forward(xs: ArrayLike<number>, base: number, vector?: number): Float64Array {
    const model = this.model;
    if (model === undefined) throw disposedError(this.backend);
    checkDigits(xs, base, this.inputs, vector);
    let input = this.input;
    for (let i = 0; i < input.length; i++) input[i] = xs[base + i]!;
    const layers = model.layers;
    const last = layers.length - 1;
    for (let l = 0; l <= last; l++) {
      const { inputs, outputs, weights, bias } = layers[l]!;
      const output = this.activations[l]!;
      for (let o = 0; o < outputs; o++) {
        let sum = bias[o]!;
        const row = o * inputs;
        for (let i = 0; i < inputs; i++) sum += input[i]! * weights[row + i]!;
        if (l === last) output[o] = sum;
        else if (sum <= 0) output[o] = 0;
        // C's integer division: the operand is non-negative, so it truncates like floor. For integers
        // 0 <= a < 2^53 and d >= 1, a/d lies at least 1/d below the next integer while half an ulp of a/d is
        // below (a/d) * 2^-53 < 1/d, so the rounded quotient never reaches it and floor is exact.
        else output[o] = l === 0 ? sum : Math.floor(sum / HIDDEN_RESCALE);
      }
      input = output;
    }
    return this.activations[last]!;
  }
}
