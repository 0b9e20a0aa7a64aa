/**
 * One interface for every inference kernel (after HdrHistogramJS's Histogram): a float reference in plain
 * TypeScript (`js`), the exact LinnOS integer path (`exact`) and an int16 WASM SIMD kernel (`wasm`).
 * Callers get one from `createPredictor` and never import an implementation directly.
 *
 * Inputs are LinnOS feature vectors: `inputs` decimal digits 0-9 (31 for LinnOS). Every backend rejects a
 * value that is not a digit with a LakeError, so that backends never silently disagree on bad input.
 * A batch is `n` vectors back to back in one array (`n * inputs` values).
 */
export type Backend = 'js' | 'wasm' | 'exact';
export type BackendChoice = Backend | 'auto';

/** 0 = fast (submit), 1 = slow (revoke). */
export type Decision = 0 | 1;

export interface PredictorOptions {
  /** Default 'auto': wasm when WebAssembly SIMD is available, else js. */
  backend?: BackendChoice;
  /**
   * wasm only: digit vectors typical of the input (n * inputs values), used to choose the int16 ranges of
   * hidden layers after the first (NN+1, NN+2). Default: 256 seeded uniform random digit vectors.
   */
  calibration?: Uint8Array;
}

export interface Predictor {
  readonly backend: Backend;
  /** Values per input vector (31 for LinnOS). */
  readonly inputs: number;
  /** Outputs (logits) per vector: always 2, class 1 = slow. */
  readonly outputs: number;
  /**
   * Raw outputs are in the backend's own units: logits for js, integers at scale 1e6 for exact, int32
   * accumulators for wasm. logit = raw / rawScale.
   */
  readonly rawScale: number;
  /** 1 iff output 1 > output 0 (a tie is fast). */
  predict(x: ArrayLike<number>): Decision;
  /** The logits of one vector into out[0..outputs). */
  scores(x: ArrayLike<number>, out: Float64Array | Float32Array): void;
  /** The raw outputs of one vector (see rawScale) into out[0..outputs). */
  rawScores(x: ArrayLike<number>, out: Float64Array): void;
  /** Decisions for n vectors stored back to back in xs (n * inputs values) into out[0..n). */
  predictBatch(xs: ArrayLike<number>, n: number, out: Uint8Array): void;
  /** Logits for n vectors into out[v * outputs + c]. */
  scoresBatch(xs: ArrayLike<number>, n: number, out: Float64Array | Float32Array): void;
  /** Releases what the predictor holds; any later call throws. Calling it twice is harmless. */
  dispose(): void;
  readonly disposed: boolean;
}
