/** Model checks shared by the predictor factories (create.ts, incremental.ts), so that they refuse alike. */
import { LakeError } from '../errors.js';
import type { DenseModel } from '../models/dense.js';
import { checkDenseModel } from '../models/dense-check.js';
import { type LinnosIntegerModel, validateIntegerModel } from '../models/linnos-integer.js';

/** `model` once checked as a dense model with the 2 outputs (fast, slow) a predictor decides between. */
export function checkedFloatModel(model: DenseModel): DenseModel {
  checkDenseModel(model);
  checkPredictorOutputs(model.layers[model.layers.length - 1]!.outputs);
  return model;
}

/** `model` once validated as a LinnOS integer model. */
export function validatedIntegerModel(model: LinnosIntegerModel): LinnosIntegerModel {
  validateIntegerModel(model);
  return model;
}

/** Throws unless a model's last layer has the 2 outputs (fast, slow) a predictor decides between. */
export function checkPredictorOutputs(outputs: number): void {
  if (outputs !== 2) {
    throw new LakeError(
      'LAKE_E_MODEL_FORMAT',
      `a predictor needs a model with 2 outputs (fast, slow), got ${outputs}`,
    );
  }
}
