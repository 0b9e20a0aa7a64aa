/**
 * Where a LinnOS policy gets its submit paths: the incremental twin of a serving predictor, built from the
 * same model so that it decides bit for bit as the predictor's full forward (policy.ts).
 */
import { createIncrementalPredictor } from '../kernels/incremental.js';
import type { IncrementalPredictor } from '../kernels/incremental-types.js';
import type { Predictor } from '../kernels/types.js';
import type { DenseModel } from '../models/dense.js';
import type { LinnosIntegerModel } from '../models/linnos-integer.js';
import { LINNOS_FEATURES } from './features.js';
import { LINNOS_SUBMIT_POSITIONS, LinnosSubmitPath } from './incremental.js';

/**
 * The submit path of a serving predictor built from `model`: the incremental backend bit-exact with the
 * predictor's (wasm's int16 plan, or LinnOS's integer path, with the same calibration); undefined for a
 * float (`js`) predictor, which has no incremental twin and keeps the full forward, and for a wasm NN+1/NN+2
 * predictor when its calibration vectors are not given. The caller disposes of the returned incremental
 * predictor.
 */
export function submitPathFor(
  predictor: Predictor,
  model: DenseModel | LinnosIntegerModel,
  calibration?: Uint8Array,
): { path: LinnosSubmitPath; incremental: IncrementalPredictor } | undefined {
  const incremental = incrementalTwin(predictor, model, 1, calibration);
  return incremental !== undefined ? { path: new LinnosSubmitPath(incremental), incremental } : undefined;
}

/** The incremental twin submitPathFor describes, with `contexts` contexts; undefined where there is none. */
function incrementalTwin(
  predictor: Predictor,
  model: DenseModel | LinnosIntegerModel,
  contexts: number,
  calibration?: Uint8Array,
): IncrementalPredictor | undefined {
  if (predictor.backend === 'js' || predictor.inputs !== LINNOS_FEATURES) return undefined;
  // NN+1/NN+2's int16 ranges after the first layer come from calibration vectors: without the predictor's
  // own, the twin could round differently, so those keep the full forward.
  if (predictor.backend === 'wasm' && model.layers.length > 2 && calibration === undefined) return undefined;
  return createIncrementalPredictor(model, {
    backend: predictor.backend,
    submitPositions: LINNOS_SUBMIT_POSITIONS,
    contexts,
    ...(calibration !== undefined ? { calibration } : {}),
  });
}

/**
 * What one decision costs the read it delays, median ns over `repeats` passes over `vectors` (real digit
 * vectors, back to back): the submit path's share (pend_now's rows, the ReLU, the output layer) where the
 * predictor has one, else its full forward. Each vector's history goes into the context off the timed
 * loop, as a completion would put it there; the timed loop is the submit.
 */
export function measureDecisionNs(
  predictor: Predictor,
  model: DenseModel | LinnosIntegerModel | undefined,
  vectors: Uint8Array,
  repeats = 5,
): number {
  const n = Math.min(Math.floor(vectors.length / LINNOS_FEATURES), 4096);
  if (n === 0) return Number.NaN;
  // One context per vector of a block of 64, so that each submit meets the history it came with.
  const twin = model !== undefined ? incrementalTwin(predictor, model, Math.min(n, 64)) : undefined;
  const samples: number[] = [];
  let sink = 0;
  try {
    const digits = new Uint8Array(n * 3);
    const views: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const x = vectors.subarray(i * LINNOS_FEATURES, (i + 1) * LINNOS_FEATURES);
      views.push(x);
      for (let k = 0; k < 3; k++) digits[i * 3 + k] = x[LINNOS_SUBMIT_POSITIONS[k]!]!;
    }
    for (let r = 0; r <= repeats; r++) {
      let elapsed = 0n;
      for (let from = 0; from < n; from += 64) {
        const to = Math.min(n, from + 64);
        if (twin !== undefined) for (let i = from; i < to; i++) twin.setContext(i - from, views[i]!);
        const started = process.hrtime.bigint();
        if (twin !== undefined)
          for (let i = from; i < to; i++)
            sink += twin.predictDigits(i - from, digits[i * 3]!, digits[i * 3 + 1]!, digits[i * 3 + 2]!);
        else for (let i = from; i < to; i++) sink += predictor.predict(views[i]!);
        elapsed += process.hrtime.bigint() - started;
      }
      // The first pass warms up (JIT, caches) and is not kept.
      if (r > 0) samples.push(Number(elapsed) / n);
    }
  } finally {
    twin?.dispose();
  }
  if (sink < 0) throw new Error('unreachable');
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1]!;
}

/**
 * The inference time a simulator charges per decision for a measured `ns`: rounded up to 0.1 us, so that a
 * run is reproduced exactly from the figure it reports (--inference-cost-us) and a measured cost is never
 * charged as nothing.
 */
export function chargedInferenceUs(ns: number): number {
  if (!(ns > 0)) return 0;
  return Math.ceil(ns / 100 - 1e-9) / 10;
}
