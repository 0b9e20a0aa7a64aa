/** The LAKE runtime: lakeShm, lakeLib, lakeD and its backends, the feature registry, benchmarks. */

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
export { WebGpuBackend } from './backends/webgpu.js';
export type { RegistryBench, RemotingBench, TimingSummary } from './bench.js';
export { benchRegistry, benchRemoting } from './bench.js';
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
