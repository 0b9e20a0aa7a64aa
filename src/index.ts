/**
 * lake's public API: one export list, values by name, types apart (after tinybench). Each concern keeps
 * its own index; this file names what a user of the library needs.
 */

export type { DeviceView } from './array/device-state.js';
export { DeviceState, pagesOf, RECENT_READS } from './array/device-state.js';
export type { LatencySink, ReplayEngine, ReplayOptions, ReplayResult } from './array/engine.js';
// Replay engine, admission policies, runs
export {
  createReplayEngine,
  mergeBatchStreams,
  mergeStreams,
  replay,
  replayBatches,
} from './array/engine.js';
export type { PolicySpec } from './array/policies.js';
export {
  baselinePolicy,
  greedyOraclePolicy,
  hedgingPolicy,
  parsePolicyList,
  parsePolicySpec,
  randomPolicy,
} from './array/policies.js';
export type { AdmissionPolicy, ArrayContext, ReadTry } from './array/policy.js';
export type { PolicyRun, Workload } from './array/run.js';
export { builtinPolicy, policyReport, runPolicies } from './array/run.js';
export type { IoRecord } from './array/types.js';
// Benchmarks
export { benchInference, benchReplayOverhead } from './bench/index.js';
export type { LakeErrorCode } from './errors.js';
// Errors and randomness
export { LakeError, TraceParseError } from './errors.js';
export type { Device, FlashCounters, FlashOptions, SlowCause, SubmitResult } from './flash/index.js';
// Simulated flash
export {
  createFlashDevice,
  describeFlash,
  flashProfileNames,
  flashProfiles,
  SimulatedSsd,
} from './flash/index.js';
export type { Backend, Decision, Predictor, PredictorOptions } from './kernels/index.js';
// Inference kernels and models
export { createPredictor } from './kernels/index.js';
// The LAKE runtime: lakeShm, lakeLib, lakeD, the feature registry and model store
export { CaptureRing, FeatureRegistry, LakeLib, listBackends, ModelStore, ShmArena } from './lake/index.js';
export type { DriftCheck, DriftTrigger, DriftWatchOptions } from './learn/drift-watch.js';
export { DriftWatch } from './learn/drift-watch.js';
// Learning: generic metrics; LinnOS features, labels and training
export { rocAuc } from './learn/index.js';
export type { DriftRunResult, LinnosDriftOptions, LinnosDriftResult } from './linnos/drift-demo.js';
export { runLinnosDrift } from './linnos/drift-demo.js';
export type { LinnosEndToEndOptions, LinnosEndToEndResult } from './linnos/end-to-end.js';
export { runLinnosEndToEnd } from './linnos/end-to-end.js';
export {
  extractLinnosDataset,
  fixedPercentileThreshold,
  inflectionPoint,
  labelByThreshold,
  linnosFeatures,
  refineThreshold,
  trainLinnos,
} from './linnos/index.js';
export type {
  BackgroundTrainer,
  DeviceOnlineReport,
  OnlineRetrainOptions,
  RetrainRecord,
} from './linnos/online.js';
export { OnlineLinnos } from './linnos/online.js';
export type { DeviceModel, ShapeModels, TrainArrayOptions, TrainShapesOptions } from './linnos/pipeline.js';
export { measureInferenceNs, trainLinnosArray, trainShapeModels } from './linnos/pipeline.js';
export type { FalseSubmitCount, LinnosPolicyFactory } from './linnos/policies.js';
export {
  linnosHedgePercentile,
  linnosPolicyFactory,
  pooledFalseSubmitPct,
} from './linnos/policies.js';
export type { LinnosOnlineStats, LinnosPolicyOptions } from './linnos/policy.js';
// LinnOS assembled
export { LinnosPolicy } from './linnos/policy.js';
export type { DenseLayer, DenseModel, LinnosShape } from './models/index.js';
export {
  exportOnnx,
  linnosLayerSizes,
  loadModel,
  ModelSlot,
  parseLinnosHeader,
  quantizeLinnos,
  readLinnosHeader,
  saveModel,
  writeLinnosHeader,
} from './models/index.js';
export { Random } from './random.js';
// Real devices: O_DIRECT replay, capture and admission
export { openDevices, replayReal, runRealPolicies } from './realdev/index.js';
// Causal learning on recorded traces (LinnOS, Heimdall, lake pipelines)
export { auditCausality, evaluatePipeline, runHeimdall, runLake, runLinnos } from './realtrace/index.js';
// Reports
export {
  cdfSpec,
  LatencyRecorder,
  latencyTables,
  renderSvg,
  reportHtml,
  svgToPng,
  writeReportFiles,
} from './report/index.js';
export type { CdfPoint, LatencySummary, PolicyReport } from './report/types.js';
// Traces and workloads
export {
  openTrace,
  readBlkparseRecords,
  readBlktraceRecords,
  readTrace,
  readTraceAll,
  traceStats,
  writeTrace,
} from './trace/index.js';
export { profileNames, profiles, synthesize, synthesizeMix } from './trace/synth.js';
export type { TraceFormat, TraceRecord } from './trace/types.js';
