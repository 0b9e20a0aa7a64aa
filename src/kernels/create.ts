import { LakeError } from '../errors.js';
import type { DenseModel } from '../models/dense.js';
import type { LinnosIntegerModel } from '../models/linnos-integer.js';
import { ExactPredictor } from './js/exact.js';
import { FloatPredictor } from './js/float.js';
import { exactIntegerModel, floatModelOf } from './model-checks.js';
import type { Backend, Predictor, PredictorOptions } from './types.js';
import { WasmInt16Predictor } from './wasm/int16-predictor.js';
import { wasmAvailable } from './wasm/module.js';

const BACKENDS: readonly string[] = ['js', 'wasm', 'exact', 'auto'];

/**
 * The one way to get a predictor (after HdrHistogramJS's HistogramBuilder.build). A float model serves js and
 * wasm as it is and is quantised the LinnOS way for exact; an integer model (from a LinnOS header) serves
 * exact as it is and is divided back to floats for js and wasm. 'auto' is wasm where WebAssembly SIMD
 * runs, else js. The returned predictor is ready (a wasm one is initialised); dispose() it when done.
 */
export function createPredictor(
  model: DenseModel | LinnosIntegerModel,
  options: PredictorOptions = {},
): Predictor {
  const choice = options.backend ?? 'auto';
  if (!BACKENDS.includes(choice)) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `options.backend must be one of ${BACKENDS.join(', ')}, got ${String(choice)}`,
    );
  }
  const backend: Backend = choice === 'auto' ? (wasmAvailable() ? 'wasm' : 'js') : choice;
  if (backend === 'exact') {
    return new ExactPredictor(exactIntegerModel(model));
  }
  const float = floatModelOf(model);
  return backend === 'js'
    ? new FloatPredictor(float)
    : new WasmInt16Predictor(float, options.calibration).init();
}
