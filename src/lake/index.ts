/** The LAKE runtime: lakeShm, lakeLib, lakeD and its backends, the feature registry, the placement policy. */

export { BACKENDS, backendByName, listBackends, openDevices } from './backends/catalog.js';
export { DenseForward } from './backends/cpu-wasm/dense-forward.js';
export { CpuWasmBackend } from './backends/cpu-wasm/device.js';
export type {
  KernelFunctionSpec,
  KernelParam,
  KernelParamKind,
  KernelSetName,
  KernelSetSpec,
} from './backends/kernel-sets.js';
export { KERNEL_SETS, kernelSetById, kernelSetByName } from './backends/kernel-sets.js';
export {
  decodeModelImage,
  encodeModelImage,
  modelImageBytes,
  writeModelImage,
} from './backends/model-image.js';
export type {
  BackendDevice,
  BackendKind,
  BackendName,
  BackendReport,
  ComputeBackend,
  DeviceInfo,
  DeviceModule,
  DeviceRange,
} from './backends/types.js';
export { WebGpuBackend } from './backends/webgpu/backend.js';
export type { BackendSummary, BackendsReport, BackendsReportOptions } from './backends-report.js';
export { backendsReport } from './backends-report.js';
export { Api, MAX_IN_FLIGHT, RING_SLOTS } from './daemon/protocol.js';
export { RingFullError } from './lib/errors.js';
export { LakeLib } from './lib/lake-lib.js';
export type {
  ContextHandle,
  DaemonFailure,
  DevicePtr,
  FunctionHandle,
  Grid,
  HostPtr,
  KernelArg,
  LakeLibMode,
  LakeLibOptions,
  LakeLibStats,
  ModuleHandle,
  StreamHandle,
  UtilisationSample,
} from './lib/types.js';
export { DEFAULT_STREAM, ptrArg, scalarArg } from './lib/types.js';
export type { LinnosBatchRunnerOptions } from './linnos/batch-runner.js';
export { LinnosBatchRunner } from './linnos/batch-runner.js';
export type { CalibrateLinnosOptions } from './linnos/calibrate.js';
export { calibrateLinnos, syntheticLinnosModel } from './linnos/calibrate.js';
export type { LakeBatchEvent, LakeLinnosPolicyOptions, LakeLinnosStats } from './linnos/policy.js';
export { LakeLinnosPolicy } from './linnos/policy.js';
export { lakeResultJson } from './linnos/result-json.js';
export type {
  LakeLinnosResult,
  LakeShapeModels,
  LakeShapeResult,
  LakeVariant,
  LakeVariantRun,
  RunLakeLinnosOptions,
} from './linnos/run.js';
export { LAKE_VARIANTS, lakeTable, runLakeLinnos } from './linnos/run.js';
export { parseCrossovers, parseShapeList } from './linnos/shape-options.js';
export type { BatchClose, BatchCloser, BatchingOptions, HoldRule, VirtualTimers } from './policy/batcher.js';
export { VirtualBatcher } from './policy/batcher.js';
export type {
  BackendCalibration,
  BatchMode,
  BatchRunner,
  CalibrateOptions,
  CalibrationInput,
  CalibrationTable,
  NominalCalibrationInput,
} from './policy/calibration.js';
export {
  batchCostUs,
  calibrate,
  calibrationTable,
  crossoverFrom,
  DEFAULT_CALIBRATION_SIZES,
  NOMINAL_NS_PER_MAC,
  nominalCalibration,
  paddedEnvelope,
} from './policy/calibration.js';
export type { LakeBatchingDefaults } from './policy/constants.js';
export {
  INLINE,
  LAKE_BATCHING,
  LINNOS_SHAPES,
  UTILISATION_PERIOD_MS,
  UTILISATION_THRESHOLD,
} from './policy/constants.js';
export type { ContentionPolicyOptions, PlacementChoice } from './policy/contention.js';
export { ContentionPolicy } from './policy/contention.js';
export type {
  BackendState,
  GuardedPlacement,
  PlacementFault,
  PlacementFunction,
  PlacementInput,
  PlacementReason,
} from './policy/placement.js';
export {
  DescribedValue,
  defaultPlacement,
  PlacementGuard,
  PolicyStoppedError,
} from './policy/placement.js';
export type {
  ForeignProcessSource,
  SlowdownClear,
  SlowdownReport,
  SlowdownSignalOptions,
} from './policy/slowdown.js';
export {
  SLOWDOWN_MIN_EXCESS_US,
  SLOWDOWN_RATIO,
  SLOWDOWN_RUN,
  SlowdownSignal,
} from './policy/slowdown.js';
export type { UserPolicyOptions, UserPolicyStats } from './policy/user-policy.js';
export {
  DEFAULT_POLICY_BUDGET_US,
  DEFAULT_POLICY_LOAD_BUDGET_MS,
  IsolatedPolicy,
  loadUserPolicy,
} from './policy/user-policy.js';
export type {
  UtilisationMonitorOptions,
  UtilisationReading,
  UtilisationSource,
} from './policy/utilisation.js';
export { UtilisationMonitor } from './policy/utilisation.js';
export type {
  CaptureRingShared,
  CaptureRingStats,
  FeatureEntry,
  FieldValues,
} from './registry/capture-ring.js';
export { CaptureRing, CaptureWriter, EntryReader, sharedClock } from './registry/capture-ring.js';
export type {
  Classifier,
  FeatureWindow,
  FunctionClassifier,
  ModelClassifier,
  RegistryShared,
  WindowScore,
} from './registry/feature-registry.js';
export { FeatureRegistry } from './registry/feature-registry.js';
export type {
  ModelStoreOptions,
  ModelStoreShared,
  ModelVersion,
  StoredModel,
} from './registry/model-store.js';
export { ModelStore, sha256Hex } from './registry/model-store.js';
export type { CompiledField, FeatureSchema, FieldSpec, FieldType, SchemaLayout } from './registry/schema.js';
export { compileSchema } from './registry/schema.js';
export type { ShmBlock, ShmHandle, ShmStats } from './shm/arena.js';
export { ShmArena } from './shm/arena.js';
export { isShmExhausted, SHM_EXHAUSTED_CODE, ShmExhaustedError } from './shm/errors.js';
export { ShmLock } from './shm/lock.js';
