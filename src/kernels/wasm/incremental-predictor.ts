import { LakeError } from '../../errors.js';
import type { DenseModel } from '../../models/dense.js';
import { checkScoresOut, checkVector, digitError, disposedError, isDigit } from '../checks.js';
import { checkContext, checkSubmitDigits } from '../incremental-checks.js';
import type { IncrementalPredictor } from '../incremental-types.js';
import type { Decision } from '../types.js';
import { lazyWasmModule, type WasmMemory, webAssembly } from './compile.js';
import { base64 } from './generated/incremental-int16.js';
import { writeInt16Model } from './int16-layout.js';
import { type Int16Plan, planInt16 } from './int16-plan.js';

/** The most submit positions the WASM submit step takes (its `decide` adds three table rows). */
export const WASM_SUBMIT_POSITIONS = 3;

interface IncrementalExports {
  memory: WasmMemory;
  /** 0, or 1 when a digit of the vector at `x` is above 9. */
  setContext(x: number, ctx: number): number;
  /** 0 fast, 1 slow; the two int32 outputs at the descriptor's scoresPtr. */
  decide(ctx: number, r0: number, r1: number, r2: number): number;
}

const incrementalModule = lazyWasmModule(base64, 'the incremental int16 SIMD kernel');

interface Ready {
  exports: IncrementalExports;
  /** The vector area setContext reads (submit positions zeroed). */
  input: Uint8Array;
  inputPtr: number;
  scores: Int32Array;
  /** Address of context 0; context c is at contextsPtr + c * rowBytes. */
  contextsPtr: number;
  rowBytes: number;
  /** Per submit position, the address of its digit-0 table row; unused slots of `decide` get zeroRow. */
  rowBase: Int32Array;
  zeroRow: number;
}

/**
 * The int16 plan of the wasm backend split around the submit (kernels/incremental.ts): contexts live in the
 * module's memory after the model, and a decision is one call to `decide` with three row addresses that JS
 * computes from the submit digits. Raw outputs equal WasmInt16Predictor's for the same model and calibration.
 */
export class IncrementalWasm implements IncrementalPredictor {
  readonly backend = 'wasm';
  readonly inputs: number;
  readonly outputs = 2;
  readonly rawScale: number;
  readonly submitPositions: readonly number[];
  readonly contexts: number;
  #ready: Ready | undefined;
  readonly #isSubmit: Uint8Array;

  constructor(
    model: DenseModel,
    submitPositions: readonly number[],
    contexts: number,
    calibration?: Uint8Array,
  ) {
    if (submitPositions.length > WASM_SUBMIT_POSITIONS) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `the wasm submit step takes at most ${WASM_SUBMIT_POSITIONS} positions`,
      );
    }
    const plan = planInt16(model, calibration);
    this.inputs = plan.inputs;
    this.rawScale = plan.outputScale;
    this.submitPositions = Object.freeze([...submitPositions]);
    this.contexts = contexts;
    this.#isSubmit = new Uint8Array(plan.inputs);
    for (const position of submitPositions) this.#isSubmit[position] = 1;
    this.#ready = instantiate(plan, submitPositions, contexts);
  }

  get disposed(): boolean {
    return this.#ready === undefined;
  }

  setContext(context: number, x: ArrayLike<number>): void {
    const ready = this.#use();
    checkContext(context, this.contexts);
    checkVector(x, this.inputs);
    const input = ready.input;
    for (let i = 0; i < this.inputs; i++) {
      if (this.#isSubmit[i] === 1) {
        input[i] = 0;
        continue;
      }
      const value = x[i]!;
      if (!isDigit(value)) throw digitError(value, i);
      input[i] = value;
    }
    const ctx = ready.contextsPtr + context * ready.rowBytes;
    if (ready.exports.setContext(ready.inputPtr, ctx) !== 0) {
      throw new LakeError(
        'LAKE_E_INTERNAL',
        'the incremental kernel rejected a vector that holds only digits',
      );
    }
  }

  predict(context: number, submit: ArrayLike<number>): Decision {
    return this.#decide(this.#use(), context, submit) as Decision;
  }

  predictDigits(context: number, d0: number, d1: number, d2: number): Decision {
    const ready = this.#ready;
    // One branch for every check on the hot path; the slow path names what was wrong.
    if (
      ready === undefined ||
      !(context >= 0 && context < this.contexts && (context | 0) === context) ||
      !(d0 >= 0 && d0 <= 9 && (d0 | 0) === d0) ||
      !(d1 >= 0 && d1 <= 9 && (d1 | 0) === d1) ||
      !(d2 >= 0 && d2 <= 9 && (d2 | 0) === d2)
    ) {
      return this.predict(context, [d0, d1, d2].slice(0, this.submitPositions.length));
    }
    const base = ready.rowBase;
    const step = ready.rowBytes;
    const count = base.length;
    return ready.exports.decide(
      ready.contextsPtr + context * step,
      base[0]! + d0 * step,
      count > 1 ? base[1]! + d1 * step : ready.zeroRow,
      count > 2 ? base[2]! + d2 * step : ready.zeroRow,
    ) as Decision;
  }

  rawScores(context: number, submit: ArrayLike<number>, out: Float64Array): void {
    const ready = this.#use();
    checkScoresOut(out, 2);
    this.#decide(ready, context, submit);
    out[0] = ready.scores[0]!;
    out[1] = ready.scores[1]!;
  }

  dispose(): void {
    this.#ready = undefined;
  }

  #use(): Ready {
    const ready = this.#ready;
    if (ready === undefined) throw disposedError(this.backend);
    return ready;
  }

  #decide(ready: Ready, context: number, submit: ArrayLike<number>): number {
    if (!(context >= 0 && context < this.contexts && Number.isInteger(context)))
      checkContext(context, this.contexts);
    const count = this.submitPositions.length;
    if (submit.length !== count) checkSubmitDigits(submit, count);
    const base = ready.rowBase;
    const step = ready.rowBytes;
    let r0 = ready.zeroRow;
    let r1 = ready.zeroRow;
    let r2 = ready.zeroRow;
    // Digits index the table, so each is checked before it becomes an address.
    const d0 = submit[0]!;
    if (!isDigit(d0)) checkSubmitDigits(submit, count);
    r0 = base[0]! + d0 * step;
    if (count > 1) {
      const d1 = submit[1]!;
      if (!isDigit(d1)) checkSubmitDigits(submit, count);
      r1 = base[1]! + d1 * step;
      if (count > 2) {
        const d2 = submit[2]!;
        if (!isDigit(d2)) checkSubmitDigits(submit, count);
        r2 = base[2]! + d2 * step;
      }
    }
    return ready.exports.decide(ready.contextsPtr + context * step, r0, r1, r2);
  }
}

/** A fresh instance holding the model (as int16-layout.ts writes it) and `contexts` contexts after it. */
function instantiate(plan: Int16Plan, submitPositions: readonly number[], contexts: number): Ready {
  const instance = new (webAssembly().Instance)(incrementalModule(), {});
  const exports = instance.exports as IncrementalExports;
  const layout = writeInt16Model(exports.memory, plan, 0);
  const rowBytes = plan.width0 * 2;
  const contextsPtr = Math.ceil(layout.bytes / 16) * 16;
  const bytes = contextsPtr + contexts * rowBytes;
  const page = 65536;
  const have = exports.memory.buffer.byteLength / page;
  const pages = Math.ceil(bytes / page);
  if (pages > have) exports.memory.grow(pages - have);
  const buffer = exports.memory.buffer;
  const descriptor = new Int32Array(buffer, 0, 16);
  const tablePtr = descriptor[3]!;
  const bias0 = new Int16Array(buffer, descriptor[4]!, plan.width0);
  for (let c = 0; c < contexts; c++)
    new Int16Array(buffer, contextsPtr + c * rowBytes, plan.width0).set(bias0);
  const rowBase = Int32Array.from(submitPositions, (position) => tablePtr + position * 10 * rowBytes);
  return {
    exports,
    input: new Uint8Array(buffer, layout.inputPtr, plan.inputs),
    inputPtr: layout.inputPtr,
    scores: new Int32Array(buffer, layout.scoresPtr, 2),
    contextsPtr,
    rowBytes,
    rowBase,
    // Digit 0 of position 0: the table row of a zero digit is all zeros.
    zeroRow: tablePtr,
  };
}
