/** The learn concern's public API: generic learning code (the digit MLP and its WASM twin, the sigmoid MLP, GBDT, logistic regression, min-max scaling, classifier metrics). */

export type { GbdtModel, GbdtOptions } from './gbdt.js';
export { gbdtScore, gbdtScores, trainGbdt } from './gbdt.js';
export type { LinearModel, LogisticOptions } from './logistic.js';
export { linearScore, linearScores, trainLogistic } from './logistic.js';
export type { ClassifierReport, Confusion, Quality } from './metrics.js';
export { averagePrecision, confusionAt, evaluateScores, qualityOf, rocAuc } from './metrics.js';
export type { MinMax } from './min-max.js';
export { applyMinMax, fitMinMax } from './min-max.js';
export type { LossKind, NetworkSnapshot, TrainableNetwork } from './mlp.js';
export { DigitMlp, lossGradient } from './mlp.js';
export type { MlpTrainOptions, MlpTrainResult, SigmoidMlpModel } from './sigmoid-mlp.js';
export { mlpLogit, mlpLogits, sigmoid, trainSigmoidMlp } from './sigmoid-mlp.js';
export { WasmDigitMlp, wasmTrainingAvailable, wasmTrainingSupports } from './wasm-mlp.js';
