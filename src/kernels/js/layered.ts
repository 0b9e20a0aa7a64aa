import { checkBatch, checkScoresOut, checkVector } from '../checks.js';
import type { Backend, Decision, Predictor } from '../types.js';

interface LayerShape {
  readonly inputs: number;
  readonly outputs: number;
}

/**
 * What the two plain-JS backends share: an input copy and one activation buffer per layer, every Predictor
 * method over one forward pass, and disposal. A subclass supplies the forward pass (float, or LinnOS's
 * integer arithmetic) and the scale of its raw outputs.
 */
export abstract class LayeredPredictor<M extends { readonly layers: readonly LayerShape[] }>
  implements Predictor
{
  abstract readonly backend: Backend;
  abstract readonly rawScale: number;
  readonly inputs: number;
  readonly outputs: number;
  protected model: M | undefined;
  /** The current input, copied so that the loops see one array type whatever the caller passes. */
  protected readonly input: Float64Array;
  /** One activation buffer per layer. */
  protected activations: Float64Array[];

  constructor(model: M) {
    this.model = model;
    this.inputs = model.layers[0]!.inputs;
    this.outputs = model.layers[model.layers.length - 1]!.outputs;
    this.input = new Float64Array(this.inputs);
    this.activations = model.layers.map((layer) => new Float64Array(layer.outputs));
  }

  get disposed(): boolean {
    return this.model === undefined;
  }

  predict(x: ArrayLike<number>): Decision {
    checkVector(x, this.inputs);
    const o = this.forward(x, 0);
    return o[1]! > o[0]! ? 1 : 0;
  }

  rawScores(x: ArrayLike<number>, out: Float64Array): void {
    checkVector(x, this.inputs);
    checkScoresOut(out, this.outputs);
    out.set(this.forward(x, 0));
  }

  scores(x: ArrayLike<number>, out: Float64Array | Float32Array): void {
    checkVector(x, this.inputs);
    checkScoresOut(out, this.outputs);
    const o = this.forward(x, 0);
    for (let c = 0; c < this.outputs; c++) out[c] = o[c]! / this.rawScale;
  }

  predictBatch(xs: ArrayLike<number>, n: number, out: Uint8Array): void {
    checkBatch(xs, n, this.inputs, out.length, 1);
    for (let v = 0; v < n; v++) {
      const o = this.forward(xs, v * this.inputs, v);
      out[v] = o[1]! > o[0]! ? 1 : 0;
    }
  }

  scoresBatch(xs: ArrayLike<number>, n: number, out: Float64Array | Float32Array): void {
    checkBatch(xs, n, this.inputs, out.length, this.outputs);
    for (let v = 0; v < n; v++) {
      const o = this.forward(xs, v * this.inputs, v);
      for (let c = 0; c < this.outputs; c++) out[v * this.outputs + c] = o[c]! / this.rawScale;
    }
  }

  dispose(): void {
    this.model = undefined;
    this.activations = [];
  }

  /** The raw outputs of the vector at xs[base..base+inputs) (`vector` names it in errors); a view of a buffer. */
  protected abstract forward(xs: ArrayLike<number>, base: number, vector?: number): Float64Array;
}
