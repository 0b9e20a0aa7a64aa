import type { DenseModel } from '../../models/dense.js';
import { checkScoresOut, checkVector, digitError, disposedError, isDigit } from '../checks.js';
import { checkContext, checkSubmitDigits, submitDigitsOf } from '../incremental-checks.js';
import type { IncrementalPredictor } from '../incremental-types.js';
import type { Decision } from '../types.js';
import { type Int16Plan, planInt16 } from '../wasm/int16-plan.js';

const INT16_MAX = 32767;

/**
 * The int16 plan of the wasm backend (wasm/int16-plan.ts) evaluated in plain JS, split around the submit
 * (kernels/incremental.ts): the fallback where WebAssembly SIMD is missing, and a second implementation the
 * WASM submit kernel is tested against. Each step is the WASM instruction's arithmetic: layer-0 sums wrap in
 * int16 (i16x8.add; storing into an Int16Array wraps the same way), hidden sums are int32 (the plan proves
 * they cannot overflow), shifted arithmetically (i32x4.shr_s), narrowed with saturation and floored at 0; the
 * two outputs are int32 sums. So decisions and raw outputs equal the wasm backend's bit for bit.
 */
export class IncrementalInt16Js implements IncrementalPredictor {
  readonly backend = 'int16-js';
  readonly inputs: number;
  readonly outputs = 2;
  readonly rawScale: number;
  readonly submitPositions: readonly number[];
  readonly contexts: number;
  #plan: Int16Plan | undefined;
  /** contexts x width0 layer-0 partial sums (int16, wrapped). */
  readonly #context: Int16Array;
  readonly #contextPositions: Int32Array;
  /** Activations: layer 0 (width0), then one per hidden layer. */
  /** predictDigits' digits, as predict takes them (Float64Array: any number reaches the digit check). */
  readonly #digits: Float64Array;
  readonly #activations: Int16Array[];
  readonly #scores = new Float64Array(2);

  constructor(
    model: DenseModel,
    submitPositions: readonly number[],
    contexts: number,
    calibration?: Uint8Array,
  ) {
    const plan = planInt16(model, calibration);
    this.#plan = plan;
    this.inputs = plan.inputs;
    this.rawScale = plan.outputScale;
    this.submitPositions = Object.freeze([...submitPositions]);
    this.#digits = new Float64Array(submitPositions.length);
    this.contexts = contexts;
    this.#context = new Int16Array(contexts * plan.width0);
    for (let c = 0; c < contexts; c++) this.#context.set(plan.bias0, c * plan.width0);
    this.#contextPositions = Int32Array.from(
      Array.from({ length: plan.inputs }, (_, i) => i).filter((i) => !submitPositions.includes(i)),
    );
    this.#activations = [new Int16Array(plan.width0), ...plan.hidden.map((l) => new Int16Array(l.outputs))];
  }

  get disposed(): boolean {
    return this.#plan === undefined;
  }

  setContext(context: number, x: ArrayLike<number>): void {
    const plan = this.#use();
    checkContext(context, this.contexts);
    checkVector(x, this.inputs);
    const positions = this.#contextPositions;
    for (const i of positions) if (!isDigit(x[i]!)) throw digitError(x[i]!, i);
    const width = plan.width0;
    const table = plan.table;
    const base = context * width;
    for (let j = 0; j < width; j++) {
      let sum = plan.bias0[j]!;
      for (let p = 0; p < positions.length; p++) {
        const i = positions[p]!;
        sum += table[(i * 10 + x[i]!) * width + j]!;
      }
      this.#context[base + j] = sum; // wraps to int16, as the SIMD adds do
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
    checkScoresOut(out, 2);
    out.set(this.#forward(context, submit));
  }

  dispose(): void {
    this.#plan = undefined;
  }

  #use(): Int16Plan {
    const plan = this.#plan;
    if (plan === undefined) throw disposedError('js');
    return plan;
  }

  #forward(context: number, submit: ArrayLike<number>): Float64Array {
    const plan = this.#use();
    checkContext(context, this.contexts);
    const positions = this.submitPositions;
    checkSubmitDigits(submit, positions.length);
    const width = plan.width0;
    const table = plan.table;
    const h = this.#activations[0]!;
    // Row by row over contiguous memory, with every array in a local: storing into the Int16Array wraps.
    const start = context * width;
    h.set(this.#context.subarray(start, start + width));
    for (let s = 0; s < positions.length; s++) {
      const row = (positions[s]! * 10 + submit[s]!) * width;
      for (let j = 0; j < width; j++) h[j] = h[j]! + table[row + j]!;
    }
    for (let j = 0; j < width; j++) if (h[j]! < 0) h[j] = 0;
    let input = h;
    for (let l = 0; l < plan.hidden.length; l++) {
      const layer = plan.hidden[l]!;
      const { inputs, outputs, weights, bias, shift } = layer;
      const output = this.#activations[l + 1]!;
      for (let j = 0; j < outputs; j++) {
        let sum = bias[j]!;
        const row = j * inputs;
        for (let k = 0; k < inputs; k++) sum += input[k]! * weights[row + k]!;
        const shifted = (sum | 0) >> shift;
        output[j] = shifted <= 0 ? 0 : shifted > INT16_MAX ? INT16_MAX : shifted;
      }
      input = output;
    }
    const n = plan.outputInputs;
    const weights = plan.outputWeights;
    let o0 = plan.outputBias[0]!;
    let o1 = plan.outputBias[1]!;
    for (let k = 0; k < n; k++) {
      const value = input[k]!;
      o0 += value * weights[k]!;
      o1 += value * weights[n + k]!;
    }
    this.#scores[0] = o0 | 0;
    this.#scores[1] = o1 | 0;
    return this.#scores;
  }
}
