import { HIDDEN_RESCALE, type LinnosIntegerModel, OUTPUT_SCALE } from '../../models/linnos-integer.js';
import { checkBatch, checkDigits, checkScoresOut, checkVector, disposedError } from '../checks.js';
import type { Decision, Predictor } from '../types.js';

/**
 * The exact LinnOS integer path (REFERENCE.md section 6; scaling per layer in models/linnos-integer.ts):
 *   h[j] = max(0, sum_i x[i] * W0T[j * 31 + i] + b0[j])
 *   o[c] = sum_k h[k] * W1T[c * 256 + k] + b1[c]
 * with, for NN+1/NN+2, each further hidden layer h' = trunc(max(0, sum_k h[k] * W[j][k] + b[j]) / 1000).
 * Slow iff o[1] > o[0]. The model must have passed validateIntegerModel, which proves every sum stays below
 * 2^53, so these double-precision operations are exact and equal the kernel's 64-bit C arithmetic bit for bit.
 */
export class ExactPredictor implements Predictor {
  readonly backend = 'exact';
  readonly inputs: number;
  readonly outputs: number;
  readonly rawScale = OUTPUT_SCALE;
  #model: LinnosIntegerModel | undefined;
  #input: Float64Array;
  #activations: Float64Array[];

  constructor(model: LinnosIntegerModel) {
    this.#model = model;
    this.inputs = model.layers[0]!.inputs;
    this.outputs = model.layers[model.layers.length - 1]!.outputs;
    this.#input = new Float64Array(this.inputs);
    this.#activations = model.layers.map((layer) => new Float64Array(layer.outputs));
  }

  get disposed(): boolean {
    return this.#model === undefined;
  }

  predict(x: ArrayLike<number>): Decision {
    checkVector(x, this.inputs);
    const o = this.#forward(x, 0);
    return o[1]! > o[0]! ? 1 : 0;
  }

  rawScores(x: ArrayLike<number>, out: Float64Array): void {
    checkVector(x, this.inputs);
    checkScoresOut(out, this.outputs);
    out.set(this.#forward(x, 0));
  }

  scores(x: ArrayLike<number>, out: Float64Array | Float32Array): void {
    checkVector(x, this.inputs);
    checkScoresOut(out, this.outputs);
    const o = this.#forward(x, 0);
    for (let c = 0; c < this.outputs; c++) out[c] = o[c]! / OUTPUT_SCALE;
  }

  predictBatch(xs: ArrayLike<number>, n: number, out: Uint8Array): void {
    checkBatch(xs, n, this.inputs, out.length, 1);
    for (let v = 0; v < n; v++) {
      const o = this.#forward(xs, v * this.inputs, v);
      out[v] = o[1]! > o[0]! ? 1 : 0;
    }
  }

  scoresBatch(xs: ArrayLike<number>, n: number, out: Float64Array | Float32Array): void {
    checkBatch(xs, n, this.inputs, out.length, this.outputs);
    for (let v = 0; v < n; v++) {
      const o = this.#forward(xs, v * this.inputs, v);
      for (let c = 0; c < this.outputs; c++) out[v * this.outputs + c] = o[c]! / OUTPUT_SCALE;
    }
  }

  dispose(): void {
    this.#model = undefined;
    this.#activations = [];
  }

  /** The integer outputs of the vector at xs[base..base+inputs); a view of an internal buffer. */
  #forward(xs: ArrayLike<number>, base: number, vector?: number): Float64Array {
    const model = this.#model;
    if (model === undefined) throw disposedError(this.backend);
    checkDigits(xs, base, this.inputs, vector);
    let input = this.#input;
    for (let i = 0; i < input.length; i++) input[i] = xs[base + i]!;
    const layers = model.layers;
    const last = layers.length - 1;
    for (let l = 0; l <= last; l++) {
      const { inputs, outputs, weights, bias } = layers[l]!;
      const output = this.#activations[l]!;
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
    return this.#activations[last]!;
  }
}
