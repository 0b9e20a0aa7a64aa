/** LinnOS's offline half as an API: 31-digit features, extraction from replays and traces, inflection-point labels, training, vector files. */

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
export { LINNOS_SUBMIT_POSITIONS, LinnosSubmitPath, NO_HISTORY } from './incremental.js';
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
