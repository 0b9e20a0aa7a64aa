import type { DenseModel } from '../../models/dense.js';
import { checkBatch, checkDigits, checkScoresOut, checkVector, disposedError } from '../checks.js';
import type { Decision, Predictor } from '../types.js';

/**
 * The float reference: the forward pass of any DenseModel in plain loops, float32 weights, float64 sums.
 * Readable first; it is what the other backends are tested against.
 */
export class FloatPredictor implements Predictor {
  readonly backend = 'js';
  readonly inputs: number;
  readonly outputs: number;
  readonly rawScale = 1;
  #model: DenseModel | undefined;
  /** The current input, copied so that the loops below see one array type whatever the caller passes. */
  #input: Float64Array;
  /** One activation buffer per layer. */
  #activations: Float64Array[];

  /** The model must have been checked (checkDenseModel) and have 2 outputs. */
  constructor(model: DenseModel) {
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
    const logits = this.#forward(x, 0);
    return logits[1]! > logits[0]! ? 1 : 0;
  }

  scores(x: ArrayLike<number>, out: Float64Array | Float32Array): void {
    checkVector(x, this.inputs);
    checkScoresOut(out, this.outputs);
    out.set(this.#forward(x, 0));
  }

  rawScores(x: ArrayLike<number>, out: Float64Array): void {
    this.scores(x, out);
  }

  predictBatch(xs: ArrayLike<number>, n: number, out: Uint8Array): void {
    checkBatch(xs, n, this.inputs, out.length, 1);
    for (let v = 0; v < n; v++) {
      const logits = this.#forward(xs, v * this.inputs, v);
      out[v] = logits[1]! > logits[0]! ? 1 : 0;
    }
  }

  scoresBatch(xs: ArrayLike<number>, n: number, out: Float64Array | Float32Array): void {
    checkBatch(xs, n, this.inputs, out.length, this.outputs);
    for (let v = 0; v < n; v++) out.set(this.#forward(xs, v * this.inputs, v), v * this.outputs);
  }

  dispose(): void {
    this.#model = undefined;
    this.#activations = [];
  }

  /** The logits of the vector at xs[base..base+inputs); a view of an internal buffer. */
  #forward(xs: ArrayLike<number>, base: number, vector?: number): Float64Array {
    const model = this.#model;
    if (model === undefined) throw disposedError(this.backend);
    checkDigits(xs, base, this.inputs, vector);
    let input = this.#input;
    for (let i = 0; i < input.length; i++) input[i] = xs[base + i]!;
    const layers = model.layers;
    for (let l = 0; l < layers.length; l++) {
      const { inputs, outputs, weights, bias } = layers[l]!;
      const output = this.#activations[l]!;
      const relu = l < layers.length - 1;
      for (let o = 0; o < outputs; o++) {
        let sum = bias[o]!;
        const row = o * inputs;
        for (let i = 0; i < inputs; i++) sum += weights[row + i]! * input[i]!;
        output[o] = relu && sum < 0 ? 0 : sum;
      }
      input = output;
    }
    return this.#activations[layers.length - 1]!;
  }
}
