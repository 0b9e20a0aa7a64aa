import type { DenseModel } from '../../../models/dense.js';

/**
 * The f32 dense forward of any DenseModel over a batch: ReLU after every layer but the last. src/kernels
 * predictors serve LinnOS models (digit inputs, 2 outputs); this kernel serves every other shape (feature
 * registry classifiers, KML-style models) on real-valued inputs.
 */
export class DenseForward {
  readonly inputs: number;
  readonly outputs: number;
  readonly #model: DenseModel;
  readonly #a: Float32Array;
  readonly #b: Float32Array;

  constructor(model: DenseModel) {
    this.#model = model;
    this.inputs = model.layers[0]!.inputs;
    this.outputs = model.layers[model.layers.length - 1]!.outputs;
    const widest = Math.max(this.inputs, ...model.layers.map((layer) => layer.outputs));
    this.#a = new Float32Array(widest);
    this.#b = new Float32Array(widest);
  }

  /** Rows [from, to) of xs (row-major, `inputs` wide) into the same rows of ys (`outputs` wide). */
  run(xs: Float32Array, ys: Float32Array, from: number, to: number): void {
    const layers = this.#model.layers;
    const last = layers.length - 1;
    for (let v = from; v < to; v++) {
      let input = this.#a;
      let output = this.#b;
      input.set(xs.subarray(v * this.inputs, (v + 1) * this.inputs));
      for (let l = 0; l <= last; l++) {
        const { inputs, outputs, weights, bias } = layers[l]!;
        const target = l === last ? ys.subarray(v * this.outputs, (v + 1) * this.outputs) : output;
        for (let o = 0; o < outputs; o++) {
          let sum = bias[o]!;
          const row = o * inputs;
          for (let i = 0; i < inputs; i++) sum += weights[row + i]! * input[i]!;
          target[o] = l < last && sum < 0 ? 0 : sum;
        }
        const swap = input;
        input = output;
        output = swap;
      }
    }
  }
}
