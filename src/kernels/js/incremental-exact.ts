import { HIDDEN_RESCALE, type LinnosIntegerModel, OUTPUT_SCALE } from '../../models/linnos-integer.js';
import { checkScoresOut, checkVector, digitError, disposedError, isDigit } from '../checks.js';
import { checkContext, checkSubmitDigits, submitDigitsOf } from '../incremental-checks.js';
import type { IncrementalPredictor } from '../incremental-types.js';
import type { Decision } from '../types.js';

/**
 * LinnOS's integer path split around the submit (kernels/incremental.ts): a context holds
 * b0[j] + sum over the context positions i of x[i] * W0T[j * inputs + i]; a decision adds the submit
 * positions' terms, then runs ExactPredictor's arithmetic for the ReLU and every later layer. Every sum is an
 * integer below 2^53 (validateIntegerModel), so the result equals ExactPredictor's bit for bit.
 */
export class IncrementalExact implements IncrementalPredictor {
  readonly backend = 'exact';
  readonly inputs: number;
  readonly outputs: number;
  readonly rawScale = OUTPUT_SCALE;
  readonly submitPositions: readonly number[];
  readonly contexts: number;
  #model: LinnosIntegerModel | undefined;
  readonly #width0: number;
  /** contexts x width0 first-layer partial sums. */
  readonly #context: Float64Array;
  /** The context positions (every input but the submit ones). */
  readonly #contextPositions: Int32Array;
  /** Per submit position s, the weight column W0T[.][position] contiguous: columns[s * width0 + j]. */
  readonly #columns: Float64Array;
  /** predictDigits' digits, as predict takes them (Float64Array: any number reaches the digit check). */
  readonly #digits: Float64Array;
  readonly #activations: Float64Array[];

  constructor(model: LinnosIntegerModel, submitPositions: readonly number[], contexts: number) {
    this.#model = model;
    const first = model.layers[0]!;
    this.inputs = first.inputs;
    this.outputs = model.layers[model.layers.length - 1]!.outputs;
    this.submitPositions = Object.freeze([...submitPositions]);
    this.#digits = new Float64Array(submitPositions.length);
    this.contexts = contexts;
    this.#width0 = first.outputs;
    this.#context = new Float64Array(contexts * first.outputs);
    for (let c = 0; c < contexts; c++) this.#context.set(first.bias, c * first.outputs);
    this.#contextPositions = Int32Array.from(
      Array.from({ length: first.inputs }, (_, i) => i).filter((i) => !submitPositions.includes(i)),
    );
    this.#columns = new Float64Array(submitPositions.length * first.outputs);
    submitPositions.forEach((position, s) => {
      for (let j = 0; j < first.outputs; j++) {
        this.#columns[s * first.outputs + j] = first.weights[j * first.inputs + position]!;
      }
    });
    this.#activations = model.layers.map((layer) => new Float64Array(layer.outputs));
  }

  get disposed(): boolean {
    return this.#model === undefined;
  }

  setContext(context: number, x: ArrayLike<number>): void {
    const first = this.#use().layers[0]!;
    checkContext(context, this.contexts);
    checkVector(x, this.inputs);
    const positions = this.#contextPositions;
    for (const i of positions) if (!isDigit(x[i]!)) throw digitError(x[i]!, i);
    const { inputs, weights, bias } = first;
    const base = context * this.#width0;
    for (let j = 0; j < this.#width0; j++) {
      let sum = bias[j]!;
      const row = j * inputs;
      for (let p = 0; p < positions.length; p++) {
        const i = positions[p]!;
        sum += x[i]! * weights[row + i]!;
      }
      this.#context[base + j] = sum;
    }
  }

  predict(context: number, submit: ArrayLike<number>): Decision {
    const o = this.#forward(context, submit);
    return o[1]! > o[0]! ? 1 : 0;
  }

  predictDigits(context: number, d0: number, d1: number, d2: number): Decision {
    return this.predict(context, submitDigitsOf(this.#digits, d0, d1, d2));
  }

  rawScores(context: number, submit: ArrayLike<number>, out: Float64Array): void {
    checkScoresOut(out, this.outputs);
    out.set(this.#forward(context, submit));
  }

  dispose(): void {
    this.#model = undefined;
  }

  #use(): LinnosIntegerModel {
    const model = this.#model;
    if (model === undefined) throw disposedError(this.backend);
    return model;
  }

  #forward(context: number, submit: ArrayLike<number>): Float64Array {
    const layers = this.#use().layers;
    checkContext(context, this.contexts);
    const count = this.submitPositions.length;
    checkSubmitDigits(submit, count);
    const width = this.#width0;
    const h = this.#activations[0]!;
    const start = context * width;
    h.set(this.#context.subarray(start, start + width));
    const columns = this.#columns;
    for (let s = 0; s < count; s++) {
      const digit = submit[s]!;
      const column = s * width;
      for (let j = 0; j < width; j++) h[j] = h[j]! + digit * columns[column + j]!;
    }
    for (let j = 0; j < width; j++) if (h[j]! < 0) h[j] = 0;
    let input = h;
    const last = layers.length - 1;
    for (let l = 1; l <= last; l++) {
      const { inputs, outputs, weights, bias } = layers[l]!;
      const output = this.#activations[l]!;
      for (let o = 0; o < outputs; o++) {
        let sum = bias[o]!;
        const row = o * inputs;
        for (let i = 0; i < inputs; i++) sum += input[i]! * weights[row + i]!;
        // As ExactPredictor: C's truncating division on a non-negative operand (exact in doubles, see there).
        if (l === last) output[o] = sum;
        else output[o] = sum <= 0 ? 0 : Math.floor(sum / HIDDEN_RESCALE);
      }
      input = output;
    }
    return this.#activations[last]!;
  }
}
