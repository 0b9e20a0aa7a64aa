/** The learn concern's public API: generic learning code (one MLP stack with LinnOS's and Heimdall's trainers as configurations, its WASM twin, the shared epoch loop, GBDT, logistic regression, min-max scaling, classifier metrics). */

export type { BatchTrainable, EpochOptions } from './fit.js';
export { shuffle, trainBatches } from './fit.js';
export type { GbdtModel, GbdtOptions } from './gbdt.js';
export { gbdtScore, gbdtScores, trainGbdt } from './gbdt.js';
export type { LinearModel, LogisticOptions } from './logistic.js';
export { linearScore, linearScores, trainLogistic } from './logistic.js';
export type { ClassifierReport, Confusion, Quality } from './metrics.js';
export { averagePrecision, confusionAt, evaluateScores, qualityOf, rocAuc } from './metrics.js';
export type { MinMax } from './min-max.js';
export { applyMinMax, fitMinMax } from './min-max.js';
export type {
  HeadLoss,
  LossKind,
  MlpInputs,
  NetworkSnapshot,
  RowMajorMlp,
  TrainableNetwork,
  WeightInit,
} from './mlp.js';
export { binaryCrossEntropy, lossGradient, Mlp, sigmoid } from './mlp.js';
export type { MlpTrainOptions, MlpTrainResult, SigmoidMlpModel } from './sigmoid-mlp.js';
export { mlpLogit, mlpLogits, trainSigmoidMlp } from './sigmoid-mlp.js';
export { WasmDigitMlp, wasmTrainingAvailable, wasmTrainingSupports } from './wasm-mlp.js';
