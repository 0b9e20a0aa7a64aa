/** The learn concern's public API: generic learning code (the digit MLP and its WASM twin, classifier metrics). */

export type { ClassifierReport, Confusion, Quality } from './metrics.js';
export { averagePrecision, confusionAt, evaluateScores, qualityOf, rocAuc } from './metrics.js';
export type { LossKind, NetworkSnapshot, TrainableNetwork } from './mlp.js';
export { DigitMlp, lossGradient } from './mlp.js';
export { WasmDigitMlp, wasmTrainingAvailable, wasmTrainingSupports } from './wasm-mlp.js';
