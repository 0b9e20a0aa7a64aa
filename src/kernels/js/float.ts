import type { DenseModel } from '../../models/dense.js';
import { checkDigits, disposedError } from '../checks.js';
import { LayeredPredictor } from './layered.js';

/**
 * The float reference: the forward pass of any DenseModel in plain loops, float32 weights, float64 sums.
 * Readable first; it is what the other backends are tested against. The model must have been checked
 * (checkDenseModel) and have 2 outputs.
 */
export class FloatPredictor extends LayeredPredictor<DenseModel> {
  readonly backend = 'js';
  readonly rawScale = 1;

  /** The logits of the vector at xs[base..base+inputs); a view of an internal buffer. */
  protected forward(xs: ArrayLike<number>, base: number, vector?: number): Float64Array {
    const model = this.model;
    if (model === undefined) throw disposedError(this.backend);
    checkDigits(xs, base, this.inputs, vector);
    let input = this.input;
    for (let i = 0; i < input.length; i++) input[i] = xs[base + i]!;
    const layers = model.layers;
    for (let l = 0; l < layers.length; l++) {
      const { inputs, outputs, weights, bias } = layers[l]!;
      const output = this.activations[l]!;
      const relu = l < layers.length - 1;
      for (let o = 0; o < outputs; o++) {
        let sum = bias[o]!;
        const row = o * inputs;
        for (let i = 0; i < inputs; i++) sum += weights[row + i]! * input[i]!;
        output[o] = relu && sum < 0 ? 0 : sum;
      }
      input = output;
    }
    return this.activations[layers.length - 1]!;
  }
}
