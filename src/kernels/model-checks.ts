/** Model checks shared by the predictor factories (create.ts, incremental.ts), so that they refuse alike. */
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

/** The integer model the exact backends run: an integer model as it is, a float one quantised the LinnOS way. */
export function exactIntegerModel(model: DenseModel | LinnosIntegerModel): LinnosIntegerModel {
  const integer = isLinnosIntegerModel(model) ? model : quantizeLinnos(checkedFloatModel(model));
  validateIntegerModel(integer);
  checkPredictorOutputs(integer.layers[integer.layers.length - 1]!.outputs);
  return integer;
}

/** The float model the other backends run: a float model as it is, an integer one divided back to floats. */
export function floatModelOf(model: DenseModel | LinnosIntegerModel): DenseModel {
  return checkedFloatModel(
    isLinnosIntegerModel(model) ? dequantizeLinnos(validatedIntegerModel(model)) : model,
  );
}

/** `model` once checked as a dense model with the 2 outputs (fast, slow) a predictor decides between. */
function checkedFloatModel(model: DenseModel): DenseModel {
  checkDenseModel(model);
  checkPredictorOutputs(model.layers[model.layers.length - 1]!.outputs);
  return model;
}

/** `model` once validated as a LinnOS integer model. */
function validatedIntegerModel(model: LinnosIntegerModel): LinnosIntegerModel {
  validateIntegerModel(model);
  return model;
}

/** Throws unless a model's last layer has the 2 outputs (fast, slow) a predictor decides between. */
function checkPredictorOutputs(outputs: number): void {
  if (outputs !== 2) {
    throw new LakeError(
      'LAKE_E_MODEL_FORMAT',
      `a predictor needs a model with 2 outputs (fast, slow), got ${outputs}`,
    );
  }
}
