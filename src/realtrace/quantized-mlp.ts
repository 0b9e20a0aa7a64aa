/**
 * Heimdall's integer serving path: min-max scaling and weights quantised x1024 so inference needs only
 * integer multiply-adds and shifts (REFERENCE.md: "0.05-0.12 us per I/O in C++ with weights quantised
 * x1024"). With S = 1024:
 * - input: xq = floor((x - min) * round(2^30 / range) / 2^20) (the header generator stores the scaler as
 *   2^30 / range), about (x - min) / range * S;
 * - hidden layer: acc = sum round(w S) * a + round(b S^2) (scale S^2); a' = max(0, floor(acc / S)) (scale S);
 * - output: acc at scale S^2; slow iff acc > 0 (sigmoid(z) > 0.5 iff z > 0); the logit is acc / S^2.
 * Weights and values are integers held in float64 (exact below 2^53; these stay far below), so no step
 * rounds twice and the loops need no int-to-double conversions.
 * predict/logit allocate nothing.
 */
import type { MinMax } from '../learn/min-max.js';
import type { SigmoidMlpModel } from '../learn/sigmoid-mlp.js';

export const QUANT_SCALE = 1024;
const SCALER_SHIFT = 2 ** 30;

export class QuantizedMlp {
  readonly sizes: readonly number[];
  readonly #min: Float64Array;
  readonly #invRange: Float64Array;
  readonly #w: Float64Array[];
  readonly #b: Float64Array[];
  readonly #act: Float64Array[];

  constructor(model: SigmoidMlpModel, scaler: MinMax) {
    this.sizes = model.sizes;
    this.#min = Float64Array.from(scaler.min);
    this.#invRange = Float64Array.from(scaler.range, (r) => Math.round(SCALER_SHIFT / r));
    this.#w = model.weights.map((w) => Float64Array.from(w, (v) => Math.round(v * QUANT_SCALE)));
    this.#b = model.biases.map((b) => Float64Array.from(b, (v) => Math.round(v * QUANT_SCALE * QUANT_SCALE)));
    this.#act = model.sizes.map((n) => new Float64Array(n));
  }

  /** Output accumulator (scale 1024^2) for raw features x[offset..]. */
  raw(x: ArrayLike<number>, offset: number): number {
    const sizes = this.sizes;
    const a0 = this.#act[0]!;
    const min = this.#min;
    const inv = this.#invRange;
    const inputs = sizes[0]!;
    for (let i = 0; i < inputs; i++) a0[i] = Math.floor(((x[offset + i]! - min[i]!) * inv[i]!) / 1048576);
    const layers = this.#w.length;
    for (let l = 0; l < layers; l++) {
      const nIn = sizes[l]!;
      const nOut = sizes[l + 1]!;
      const w = this.#w[l]!;
      const b = this.#b[l]!;
      const aIn = this.#act[l]!;
      const aOut = this.#act[l + 1]!;
      const last = l === layers - 1;
      for (let o = 0; o < nOut; o++) {
        let s = b[o]!;
        const r = o * nIn;
        for (let i = 0; i < nIn; i++) s += w[r + i]! * aIn[i]!;
        aOut[o] = last ? s : s > 0 ? Math.floor(s / QUANT_SCALE) : 0;
      }
    }
    return this.#act[layers]![0]!;
  }

  /** The logit the integer path computes. */
  logit(x: ArrayLike<number>, offset: number): number {
    return this.raw(x, offset) / (QUANT_SCALE * QUANT_SCALE);
  }

  /** 1 = slow (revoke). */
  predict(x: ArrayLike<number>, offset: number): 0 | 1 {
    return this.raw(x, offset) > 0 ? 1 : 0;
  }
}
