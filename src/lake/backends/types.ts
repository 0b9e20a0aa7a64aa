import type { DenseModel } from '../../models/dense.js';
import type { ShmArena } from '../shm/arena.js';
import type { KernelSetName } from './kernel-sets.js';

/**
 * The interface every compute backend of lakeD implements (LAKE's daemon calls the CUDA driver; lakeD calls
 * one of these). cpu-wasm implements it here; GPU backends (WebGPU via Dawn, CUDA) implement the same
 * interface in a later issue. Device memory is always a region of lakeShm that the backend owns once
 * adopted: a CPU backend works on it in place, a GPU backend mirrors it into its own buffers and keeps the
 * region current after each launch, so that lakeLib can finish work inline from it if lakeD dies.
 */
export type BackendName = 'cpu-wasm' | 'webgpu' | 'cuda';
export type BackendKind = 'cpu' | 'gpu';

/** What capability detection found, for `lake backends` and getDevice(). */
export interface BackendReport {
  readonly name: BackendName;
  readonly kind: BackendKind;
  readonly available: boolean;
  /** Why it cannot run here ("not available here: ..."); absent when available. */
  readonly reason?: string;
  /** e.g. 'wasm-simd', 'int16', 'f32', and the kernel sets it serves. */
  readonly capabilities: readonly string[];
  readonly description: string;
  /**
   * Its kernels can run here for correctness checks (`lake backends --verify`) although lakeD does not use
   * it (a software GPU adapter, e.g. Mesa's llvmpipe).
   */
  readonly verifiable?: boolean;
}

/** How a device is opened. */
export interface OpenOptions {
  /**
   * On lakeD's own thread, where a backend may start its accelerator runtime. Otherwise (the default) the
   * device serves lakeLib's inline path on the storage caller's thread after lakeD died: a GPU backend that
   * cannot run there without costing the caller (Dawn's event pump) serves with its CPU path.
   */
  readonly onLakeD?: boolean;
  /** For `lake backends --verify`: open where the report says `verifiable` (a software adapter) too. */
  readonly forVerification?: boolean;
  /** lakeD's heartbeat: a device that waits on its accelerator calls it, so a long batch is no hang. */
  readonly beat?: () => void;
}

/** A device as lakeLib's getDevice() describes it. */
export interface DeviceInfo {
  readonly index: number;
  readonly name: string;
  readonly backend: BackendName;
  readonly kind: BackendKind;
  readonly capabilities: readonly string[];
  /** Why the device serves on its CPU path (BackendDevice.fault); absent while its accelerator serves. */
  readonly fault?: string;
}

export interface ComputeBackend {
  readonly name: BackendName;
  readonly kind: BackendKind;
  /** Capability detection; cheap and side-effect free. */
  probe(): BackendReport;
  /**
   * A deeper detection that starts the backend's runtime (an adapter, a driver), for `lake backends`;
   * absent where probe() already knows everything.
   */
  detect?(): BackendReport;
  /** Opens the device over the arena; throws LAKE_E_USAGE when probe() says unavailable. */
  open(arena: ShmArena, options?: OpenOptions): BackendDevice;
}

/** A range of device memory a launch touches, checked against the adopted regions before it runs. */
export interface DeviceRange {
  readonly param: string;
  readonly ptr: number;
  readonly bytes: number;
}

export interface DeviceModule {
  readonly kernelSet: KernelSetName;
  /** The device ranges function `fn` (index in its kernel set) touches with these arguments. */
  ranges(fn: number, args: Float64Array): readonly DeviceRange[];
  /** Runs block `block` of `blocks` (each a contiguous share of the batch). */
  runBlock(fn: number, args: Float64Array, block: number, blocks: number): void;
  unload(): void;
}

export interface BackendDevice {
  readonly backend: BackendName;
  readonly kind: BackendKind;
  readonly name: string;
  readonly capabilities: readonly string[];
  /**
   * Why an accelerator device serves on its CPU path (no runtime, a fault, lakeLib's inline path); absent
   * or undefined while the accelerator itself runs the kernels.
   */
  readonly fault?: string | undefined;
  /** The region [ptr, ptr + bytes) of lakeShm is device memory from now on. */
  adoptMemory(ptr: number, bytes: number): void;
  releaseMemory(ptr: number): void;
  copyToDevice(devicePtr: number, hostPtr: number, bytes: number): void;
  copyFromDevice(hostPtr: number, devicePtr: number, bytes: number): void;
  copyOnDevice(destination: number, source: number, bytes: number): void;
  loadModule(kernelSet: KernelSetName, model: DenseModel): DeviceModule;
  close(): void;
}
