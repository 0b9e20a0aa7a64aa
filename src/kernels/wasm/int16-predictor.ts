import { LakeError } from '../../errors.js';
import type { DenseModel } from '../../models/dense.js';
import {
  checkBatch,
  checkDigits,
  checkScoresOut,
  checkVector,
  digitError,
  disposedError,
  isDigit,
} from '../checks.js';
import type { Decision, Predictor } from '../types.js';
import { writeInt16Model } from './int16-layout.js';
import { type Int16Plan, planInt16 } from './int16-plan.js';
import { type DenseInt16Exports, instantiateDenseInt16 } from './module.js';

/** Vectors copied into WASM memory per predictBatch call; larger batches go in chunks. */
export const BATCH_CAPACITY = 4096;

interface Ready {
  exports: DenseInt16Exports;
  /** The batch-1 input area, a persistent view of WASM memory. */
  input: Uint8Array;
  scores: Int32Array;
  batchInput: Uint8Array;
  batchOutput: Uint8Array;
  batchInputPtr: number;
  batchOutputPtr: number;
}

/**
 * The int16 WASM SIMD backend (dense-int16.wat; quantisation in int16-plan.ts). Constructed cold: `init()`
 * instantiates the kernel with its own memory and writes the model into it; `dispose()` drops both.
 * Batch 1 costs one copy of the digits into a persistent view of WASM memory and one call.
 */
export class WasmInt16Predictor implements Predictor {
  readonly backend = 'wasm';
  readonly inputs: number;
  readonly outputs = 2;
  readonly rawScale: number;
  /** Held from construction until init() has written it into WASM memory. */
  #plan: Int16Plan | undefined;
  #ready: Ready | undefined;
  #disposed = false;

  /** The model must have been checked (checkDenseModel) and end in 2 outputs; see planInt16 for `calibration`. */
  constructor(model: DenseModel, calibration?: Uint8Array) {
    const plan = planInt16(model, calibration);
    this.#plan = plan;
    this.inputs = plan.inputs;
    this.rawScale = plan.outputScale;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  get initialized(): boolean {
    return this.#ready !== undefined;
  }

  /** Instantiates the kernel (synchronous; the module is compiled once per process). Idempotent. */
  init(): this {
    if (this.#disposed) throw disposedError(this.backend);
    const plan = this.#plan;
    if (this.#ready !== undefined || plan === undefined) return this;
    const exports = instantiateDenseInt16();
    const layout = writeInt16Model(exports.memory, plan, BATCH_CAPACITY);
    const buffer = exports.memory.buffer;
    this.#ready = {
      exports,
      input: new Uint8Array(buffer, layout.inputPtr, this.inputs),
      scores: new Int32Array(buffer, layout.scoresPtr, 2),
      batchInput: new Uint8Array(buffer, layout.batchInputPtr, BATCH_CAPACITY * this.inputs),
      batchOutput: new Uint8Array(buffer, layout.batchOutputPtr, BATCH_CAPACITY),
      batchInputPtr: layout.batchInputPtr,
      batchOutputPtr: layout.batchOutputPtr,
    };
    this.#plan = undefined;
    return this;
  }

  predict(x: ArrayLike<number>): Decision {
    const ready = this.#use();
    return this.#runOne(ready, x) as Decision;
  }

  rawScores(x: ArrayLike<number>, out: Float64Array): void {
    const ready = this.#use();
    checkScoresOut(out, 2);
    this.#runOne(ready, x);
    out[0] = ready.scores[0]!;
    out[1] = ready.scores[1]!;
  }

  scores(x: ArrayLike<number>, out: Float64Array | Float32Array): void {
    const ready = this.#use();
    checkScoresOut(out, 2);
    this.#runOne(ready, x);
    out[0] = ready.scores[0]! / this.rawScale;
    out[1] = ready.scores[1]! / this.rawScale;
  }

  predictBatch(xs: ArrayLike<number>, n: number, out: Uint8Array): void {
    const ready = this.#use();
    checkBatch(xs, n, this.inputs, out.length, 1);
    for (let start = 0; start < n; start += BATCH_CAPACITY) {
      const count = Math.min(BATCH_CAPACITY, n - start);
      this.#copyBatch(ready, xs, start, count);
      const bad = ready.exports.predictBatch(ready.batchInputPtr, count, ready.batchOutputPtr);
      if (bad >= 0) throw this.#badVector(xs, start + bad);
      out.set(ready.batchOutput.subarray(0, count), start);
    }
  }

  scoresBatch(xs: ArrayLike<number>, n: number, out: Float64Array | Float32Array): void {
    const ready = this.#use();
    checkBatch(xs, n, this.inputs, out.length, 2);
    for (let start = 0; start < n; start += BATCH_CAPACITY) {
      const count = Math.min(BATCH_CAPACITY, n - start);
      this.#copyBatch(ready, xs, start, count);
      for (let v = 0; v < count; v++) {
        if (ready.exports.predictAt(ready.batchInputPtr + v * this.inputs) < 0) {
          throw this.#badVector(xs, start + v);
        }
        out[(start + v) * 2] = ready.scores[0]! / this.rawScale;
        out[(start + v) * 2 + 1] = ready.scores[1]! / this.rawScale;
      }
    }
  }

  dispose(): void {
    this.#ready = undefined;
    this.#plan = undefined;
    this.#disposed = true;
  }

  #use(): Ready {
    const ready = this.#ready;
    if (ready !== undefined) return ready;
    if (this.#disposed) throw disposedError(this.backend);
    throw new LakeError('LAKE_E_USAGE', 'the wasm predictor was used before init()');
  }

  #runOne(ready: Ready, x: ArrayLike<number>): number {
    const n = this.inputs;
    if (x.length !== n) checkVector(x, n);
    const input = ready.input;
    if (x instanceof Uint8Array) {
      // One memcpy (faster than a loop here); values above 9 are caught by the kernel, which returns -1.
      input.set(x);
    } else {
      for (let i = 0; i < n; i++) {
        const value = x[i]!;
        if (!isDigit(value)) throw digitError(value, i);
        input[i] = value;
      }
    }
    const result = ready.exports.predict();
    if (result < 0) throw this.#badVector(x, undefined);
    return result;
  }

  #copyBatch(ready: Ready, xs: ArrayLike<number>, start: number, count: number): void {
    const n = this.inputs;
    const from = start * n;
    const length = count * n;
    if (xs instanceof Uint8Array) {
      ready.batchInput.set(xs.subarray(from, from + length));
      return;
    }
    const target = ready.batchInput;
    for (let i = 0; i < length; i++) {
      const value = xs[from + i]!;
      if (!isDigit(value)) throw digitError(value, i % n, start + Math.floor(i / n));
      target[i] = value;
    }
  }

  /** The error for a vector the kernel rejected; `vector` is undefined at batch 1. */
  #badVector(xs: ArrayLike<number>, vector: number | undefined): LakeError {
    try {
      checkDigits(xs, (vector ?? 0) * this.inputs, this.inputs, vector);
    } catch (error) {
      if (error instanceof LakeError) return error;
    }
    return new LakeError(
      'LAKE_E_INTERNAL',
      `the wasm kernel rejected vector ${vector ?? 0}, which holds only digits`,
    );
  }
}
