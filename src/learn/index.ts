/** The learn concern's public API: LinnOS features, labels, training, metrics. */

export type { DeviceDataset, LinnosDataset } from './dataset.js';
export { concatDatasets, DatasetBuilder, groupByDevice, orderByIndex, selectRows } from './dataset.js';
export type { ReplayedIo } from './extract.js';
export {
  extractLinnosDataset,
  extractLinnosFromTrace,
  extractLinnosFromTraceBatches,
  traceRecordAsReplayed,
} from './extract.js';
export type { DigitSink } from './features.js';
export {
  decodeLinnosVector,
  encodeLinnosVector,
  LATENCY_CAP,
  LATENCY_DIGITS,
  LATENCY_OFFSET,
  LINNOS_FEATURE_SCHEMA,
  LINNOS_FEATURES,
  LINNOS_HISTORY,
  linnosFeatures,
  PEND_NOW_OFFSET,
  PENDING_CAP,
  PENDING_DIGITS,
  writeDigits,
} from './features.js';
export type { LatencyThreshold, RefinedThreshold, RefineOptions, ThresholdMethod } from './labels.js';
export {
  fixedPercentileThreshold,
  inflectionPoint,
  labelByThreshold,
  percentileOfSorted,
  refineThreshold,
  TANGENT_KEEP_PERCENTILE,
  TANGENT_POINTS,
} from './labels.js';
export type { ClassifierReport, Confusion, Quality } from './metrics.js';
export { averagePrecision, confusionAt, evaluateScores, qualityOf, rocAuc } from './metrics.js';
export type { LossKind, NetworkSnapshot, TrainableNetwork } from './mlp.js';
export { DigitMlp, lossGradient } from './mlp.js';
export type {
  EpochOptions,
  EpochStats,
  SplitKind,
  TrainingBackend,
  TrainingData,
  TrainingReport,
  TrainOptions,
  TrainResult,
} from './train.js';
export { createNetwork, networkScores, shuffle, trainEpoch, trainLinnos } from './train.js';
export type { VectorFile, VectorFileFormat } from './vector-file.js';
export { parseLinnosVectors, readLinnosVectors, writeLinnosVectors } from './vector-file.js';
export { WasmDigitMlp, wasmTrainingAvailable, wasmTrainingSupports } from './wasm-mlp.js';
