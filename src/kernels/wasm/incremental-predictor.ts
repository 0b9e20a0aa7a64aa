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

/** The most submit positions the WASM submit step takes (a context row per first digit, a pair table). */
export const WASM_SUBMIT_POSITIONS = 3;

interface IncrementalExports {
  memory: WasmMemory;
  /** Writes the 10 rows of a context; 0, or 1 when a digit of the vector at `x` is above 9. */
  setContext(x: number, ctx: number, first: number): number;
  /** 0 fast, 1 slow, for context row `ctx` plus row `pair`; the two int32 outputs at scoresPtr. NN only. */
  decideShallow(ctx: number, pair: number): number;
  /** As decideShallow, for models with hidden layers after the first. */
  decideDeep(ctx: number, pair: number): number;
}

const incrementalModule = lazyWasmModule(base64, 'the incremental int16 SIMD kernel');

interface Ready {
  exports: IncrementalExports;
  /** decideShallow or decideDeep, chosen once for the model. */
  decide: (ctx: number, pair: number) => number;
  /** The vector area setContext reads (submit positions zeroed). */
  input: Uint8Array;
  inputPtr: number;
  scores: Int32Array;
  /** Address of context 0; context c's row for first digit d is at contextsPtr + (c * 10 + d) * rowBytes. */
  contextsPtr: number;
  rowBytes: number;
  /** The first submit position's digit-0 table row (setContext adds its rows to the context's 10 rows). */
  firstRow: number;
  /**
   * The row decide adds for digits (d1, d2): 3 positions, the pair table's row at pairBase + (d1 * 10 + d2)
   * * rowBytes (pairStride = 10 * rowBytes); 2 positions, the second's table row at pairBase + d1 * rowBytes
   * (pairStride = rowBytes, d2 adds nothing: d2Bytes = 0); 1 position, the zero row (both strides 0).
   */
  pairBase: number;
  pairStride: number;
  d2Bytes: number;
}

/**
 * The int16 plan of the wasm backend split around the submit (kernels/incremental.ts). Contexts live in the
 * module's memory after the model, 10 rows each (one per digit of the first submit position, that digit's row
 * already added, so a submit needs no row of its own for it), then a table of the 100 sums of the second and
 * third positions' rows. A decision is one call to `decide` with two addresses JS computes from the digits:
 * one add of two rows per vector of units before the ReLU, instead of four. Every row sum wraps in int16,
 * which is modular, so the regrouping keeps raw outputs equal to WasmInt16Predictor's for the same model and
 * calibration. Memory: 10 rows (5 KiB for LinnOS) per context, 100 rows (50 KiB) per model.
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
    const ctx = ready.contextsPtr + context * 10 * ready.rowBytes;
    if (ready.exports.setContext(ready.inputPtr, ctx, ready.firstRow) !== 0) {
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
    const step = ready.rowBytes;
    return ready.decide(
      ready.contextsPtr + (context * 10 + d0) * step,
      ready.pairBase + d1 * ready.pairStride + d2 * ready.d2Bytes,
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
    // Digits index tables, so each is checked before it becomes an address.
    for (let s = 0; s < count; s++) if (!isDigit(submit[s]!)) checkSubmitDigits(submit, count);
    const d0 = submit[0]!;
    const d1 = count > 1 ? submit[1]! : 0;
    const d2 = count > 2 ? submit[2]! : 0;
    return ready.decide(
      ready.contextsPtr + (context * 10 + d0) * ready.rowBytes,
      ready.pairBase + d1 * ready.pairStride + d2 * ready.d2Bytes,
    );
  }
}

/**
 * A fresh instance holding the model (as int16-layout.ts writes it), then `contexts` contexts (each all-zero
 * history: bias0 + the first submit position's row per digit), then the pair table when there are 3 submit
 * positions.
 */
function instantiate(plan: Int16Plan, submitPositions: readonly number[], contexts: number): Ready {
  const instance = new (webAssembly().Instance)(incrementalModule(), {});
  const exports = instance.exports as IncrementalExports;
  const layout = writeInt16Model(exports.memory, plan, 0);
  const width = plan.width0;
  const rowBytes = width * 2;
  const contextsPtr = Math.ceil(layout.bytes / 16) * 16;
  const pairsPtr = contextsPtr + contexts * 10 * rowBytes;
  const bytes = pairsPtr + (submitPositions.length === 3 ? 100 * rowBytes : 0);
  const page = 65536;
  const have = exports.memory.buffer.byteLength / page;
  const pages = Math.ceil(bytes / page);
  if (pages > have) exports.memory.grow(pages - have);
  const buffer = exports.memory.buffer;
  const descriptor = new Int32Array(buffer, 0, 16);
  const tablePtr = descriptor[3]!;
  const rowOf = (position: number, digit: number): Int16Array =>
    new Int16Array(buffer, tablePtr + (position * 10 + digit) * rowBytes, width);
  const bias0 = new Int16Array(buffer, descriptor[4]!, width);
  const [first, second, third] = submitPositions as [number, number | undefined, number | undefined];
  // Storing a sum into an Int16Array wraps it, as the kernel's i16x8.add does.
  const sumInto = (target: Int16Array, a: Int16Array, b: Int16Array): void => {
    for (let j = 0; j < width; j++) target[j] = a[j]! + b[j]!;
  };
  for (let c = 0; c < contexts; c++) {
    for (let d = 0; d < 10; d++) {
      sumInto(new Int16Array(buffer, contextsPtr + (c * 10 + d) * rowBytes, width), bias0, rowOf(first, d));
    }
  }
  if (second !== undefined && third !== undefined) {
    for (let pair = 0; pair < 100; pair++) {
      const target = new Int16Array(buffer, pairsPtr + pair * rowBytes, width);
      sumInto(target, rowOf(second, Math.floor(pair / 10)), rowOf(third, pair % 10));
    }
  }
  // The table row of digit 0 is all zeros: what decide adds when there is no second position.
  const zeroRow = tablePtr;
  const pairing =
    third !== undefined
      ? { pairBase: pairsPtr, pairStride: 10 * rowBytes, d2Bytes: rowBytes }
      : second !== undefined
        ? { pairBase: tablePtr + second * 10 * rowBytes, pairStride: rowBytes, d2Bytes: 0 }
        : { pairBase: zeroRow, pairStride: 0, d2Bytes: 0 };
  return {
    exports,
    decide: plan.hidden.length === 0 ? exports.decideShallow : exports.decideDeep,
    input: new Uint8Array(buffer, layout.inputPtr, plan.inputs),
    inputPtr: layout.inputPtr,
    scores: new Int32Array(buffer, layout.scoresPtr, 2),
    contextsPtr,
    rowBytes,
    firstRow: tablePtr + first * 10 * rowBytes,
    ...pairing,
  };
}
