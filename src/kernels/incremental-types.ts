/** The contract of incremental predictors (incremental.ts explains the split). */
import type { Decision } from './types.js';

/**
 * 'wasm': the int16 plan of the full wasm backend, submit step in WASM SIMD; 'int16-js': the same int16
 * arithmetic in plain JS (the fallback where WebAssembly SIMD is missing; bit-exact with 'wasm'); 'exact':
 * LinnOS's integer path (bit-exact with the full 'exact' backend).
 */
export type IncrementalBackend = 'wasm' | 'int16-js' | 'exact';

export interface IncrementalOptions {
  /** Default 'auto': wasm where WebAssembly SIMD runs, else int16-js. */
  backend?: IncrementalBackend | 'auto';
  /** The input positions known only at submit (LinnOS: 12, 13, 14, the pend_now digits). wasm: 1 to 3. */
  submitPositions: readonly number[];
  /** Contexts kept (one per device the model serves). Default 1. */
  contexts?: number;
  /** wasm and int16-js: as PredictorOptions.calibration (the int16 ranges of NN+1/NN+2's later layers). */
  calibration?: Uint8Array;
}

export interface IncrementalPredictor {
  readonly backend: IncrementalBackend;
  /** Digits per full input vector (31 for LinnOS). */
  readonly inputs: number;
  readonly outputs: number;
  readonly submitPositions: readonly number[];
  readonly contexts: number;
  /** logit = raw / rawScale, as Predictor.rawScale of the matching full backend. */
  readonly rawScale: number;
  /**
   * Recomputes context `context` from a full vector x (`inputs` digits; its submit positions are ignored).
   * Off the submit path. A context never set holds the all-zero vector.
   */
  setContext(context: number, x: ArrayLike<number>): void;
  /** The decision for the context's inputs with `submit` (one digit per submit position) at the submit positions. */
  predict(context: number, submit: ArrayLike<number>): Decision;
  /**
   * As predict, with the submit digits as arguments (no array to fill): the call a submit path makes. Digits
   * past the predictor's submit positions are ignored; a predictor with more than 3 submit positions refuses it.
   */
  predictDigits(context: number, d0: number, d1: number, d2: number): Decision;
  /** The raw outputs, as the full backend's rawScores of the same vector, into out[0..outputs). */
  rawScores(context: number, submit: ArrayLike<number>, out: Float64Array): void;
  /** Releases what the predictor holds; any later call throws. Calling it twice is harmless. */
  dispose(): void;
  readonly disposed: boolean;
}
