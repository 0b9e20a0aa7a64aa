/**
 * Where a LinnOS policy gets its submit paths: the incremental twin of a serving predictor, built from the
 * same model so that it decides bit for bit as the predictor's full forward (policy.ts).
 */
import { createIncrementalPredictor } from '../kernels/incremental.js';
import type { IncrementalPredictor } from '../kernels/incremental-types.js';
import type { Predictor } from '../kernels/types.js';
import type { DenseModel } from '../models/dense.js';
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
  model: DenseModel,
  calibration?: Uint8Array,
): { path: LinnosSubmitPath; incremental: IncrementalPredictor } | undefined {
  if (predictor.backend === 'js' || predictor.inputs !== LINNOS_FEATURES) return undefined;
  // NN+1/NN+2's int16 ranges after the first layer come from calibration vectors: without the predictor's
  // own, the twin could round differently, so those keep the full forward.
  if (predictor.backend === 'wasm' && model.layers.length > 2 && calibration === undefined) return undefined;
  const incremental = createIncrementalPredictor(model, {
    backend: predictor.backend,
    submitPositions: LINNOS_SUBMIT_POSITIONS,
    ...(calibration !== undefined ? { calibration } : {}),
  });
  return { path: new LinnosSubmitPath(incremental), incremental };
}
