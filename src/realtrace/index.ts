/**
 * Learning from recorded I/O, honestly: a causal event stream that feature code cannot see past, the
 * LinnOS, Heimdall (causal and as published) and lake pipelines on a time-ordered split, a causality audit,
 * and online drift handling.
 */

export type { GbdtModel, GbdtOptions } from '../learn/gbdt.js';
export { gbdtScore, gbdtScores, trainGbdt } from '../learn/gbdt.js';
export type { LinearModel, LogisticOptions } from '../learn/logistic.js';
export { linearScore, linearScores, trainLogistic } from '../learn/logistic.js';
export type { MinMax } from '../learn/min-max.js';
export { applyMinMax, fitMinMax } from '../learn/min-max.js';
export type { MlpTrainOptions, MlpTrainResult, SigmoidMlpModel } from '../learn/sigmoid-mlp.js';
export { mlpLogit, mlpLogits, sigmoid, trainSigmoidMlp } from '../learn/sigmoid-mlp.js';
export type { LinnosPipelineOptions } from '../linnos/trace-pipeline.js';
export { LinnosExtractor, runLinnos } from '../linnos/trace-pipeline.js';
export { thresholdForFalseSubmitBudget } from './calibrate.js';
export type { AuditOptions, AuditReport, Leak } from './causality-audit.js';
export { auditCausality } from './causality-audit.js';
export type { DriftOptions, DriftPoint, DriftReport, Retrain } from './drift.js';
export { runOnline } from './drift.js';
export type { EvalOptions, SharedTruths } from './evaluate.js';
export { crossTruthOf, evaluatePipeline, sharedTruths } from './evaluate.js';
export type {
  CrossTruth,
  JointEvaluation,
  LabelSummary,
  PipelineEvaluation,
  PipelineName,
  RefitSummary,
  TruthScore,
} from './evaluation.js';
export { completedBefore, knownPrefix, pipelineNames, resultWarnings, splitIndex } from './evaluation.js';
export type { CausalFeatureExtractor, EventVisitor, FeatureSet } from './event-stream.js';
export { completionOrder, extractCausal, forEachEvent, selectFeatureRows } from './event-stream.js';
export type { JointSet } from './heimdall-features.js';
export {
  HEIMDALL_FEATURES,
  HeimdallCausalExtractor,
  heimdallPublishedFeatures,
  jointRows,
} from './heimdall-features.js';
export type { HeimdallThresholds, PeriodLabels } from './heimdall-labels.js';
export { heimdallPeriodLabels, heimdallThresholds, roundHalfEven, throughputOf } from './heimdall-labels.js';
export type { HeimdallOptions } from './heimdall-pipeline.js';
export { HEIMDALL_LEAK_NOTE, runHeimdall } from './heimdall-pipeline.js';
export type { IoTable, IoTableOptions } from './io-table.js';
export { concatTables, ioTableFromRecords, sliceTable, withLatencies } from './io-table.js';
export { LAKE_FEATURES, LakeExtractor, log2p1 } from './lake-features.js';
export type { LakeModel, LakeModelKind, LakePipelineOptions, LakeTrainOptions } from './lake-pipeline.js';
export {
  DEFAULT_FALSE_SUBMIT_BUDGET,
  DEFAULT_REFIT_EVERY,
  lakeModelKinds,
  lakeScore,
  runLake,
  trainLakeModel,
} from './lake-pipeline.js';
export type { LoadedTrace, LoadOptions } from './load.js';
export { loadIoTable } from './load.js';
export { QUANT_SCALE, QuantizedMlp } from './quantized-mlp.js';
export type { LabelledRows, RefitModel, RefitOptions, RefitResult, ServedRows } from './refit.js';
export {
  DEFAULT_REFIT_DELAY_US,
  DEFAULT_REFIT_MAX_ROWS,
  periodLabelKnownUs,
  scoreWithRefits,
} from './refit.js';
export type { FeatureTime, ServingTime } from './serving-time.js';
export { timeFeatures, timeServing } from './serving-time.js';
export type { SimulatedLatencyOptions } from './simulated-latencies.js';
export { simulateLatencies } from './simulated-latencies.js';
