import { LakeError } from '../errors.js';
import type { DenseModel } from '../models/dense.js';
import { checkDenseModel } from '../models/dense-check.js';
import {
  dequantizeLinnos,
  isLinnosIntegerModel,
  type LinnosIntegerModel,
  quantizeLinnos,
  validateIntegerModel,
} from '../models/linnos-integer.js';
import { ExactPredictor } from './js/exact.js';
import { FloatPredictor } from './js/float.js';
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
    const integer = isLinnosIntegerModel(model) ? model : quantizeLinnos(checkedFloat(model));
    validateIntegerModel(integer);
    checkOutputs(integer.layers[integer.layers.length - 1]!.outputs);
    return new ExactPredictor(integer);
  }
  const float = isLinnosIntegerModel(model) ? dequantizeLinnos(validatedInteger(model)) : model;
  checkedFloat(float);
  return backend === 'js'
    ? new FloatPredictor(float)
    : new WasmInt16Predictor(float, options.calibration).init();
}

function checkedFloat(model: DenseModel): DenseModel {
  checkDenseModel(model);
  checkOutputs(model.layers[model.layers.length - 1]!.outputs);
  return model;
}

function validatedInteger(model: LinnosIntegerModel): LinnosIntegerModel {
  validateIntegerModel(model);
  return model;
}

function checkOutputs(outputs: number): void {
  if (outputs !== 2) {
    throw new LakeError(
      'LAKE_E_MODEL_FORMAT',
      `a predictor needs a model with 2 outputs (fast, slow), got ${outputs}`,
    );
  }
}
