import { LakeError } from '../../../errors.js';

/**
 * The part of the CUDA driver API lake's CUDA backend uses, one method per driver call, each checked: a
 * call that does not return CUDA_SUCCESS throws a CudaDriverError naming the call and the CUresult. The
 * real implementation opens libcuda.so.1 through koffi (koffi-driver.ts); tests implement it with a fake
 * that fails at a chosen call, so the backend's host side runs without a GPU.
 *
 * Handles (contexts, modules, functions, streams) are opaque to lake; device pointers are CUdeviceptr
 * values as bigints. Host memory is always a view of lakeShm, which open() pins with hostRegister.
 */
export type CudaHandle = bigint | object;
export type DevicePointer = bigint;

/** One kernel argument: its PTX parameter type and value. */
export type KernelArg =
  | { readonly type: 'u64'; readonly value: bigint }
  | { readonly type: 'u32'; readonly value: number }
  | { readonly type: 'f64'; readonly value: number };

export interface LaunchShape {
  readonly gridX: number;
  readonly blockX: number;
  readonly sharedBytes: number;
}

export interface CudaDriver {
  /** Where the driver came from (e.g. 'libcuda.so.1'), for messages. */
  readonly source: string;
  init(): void;
  deviceCount(): number;
  device(ordinal: number): number;
  deviceName(device: number): string;
  /** [major, minor]. */
  computeCapability(device: number): readonly [number, number];
  /** The device's PCI address, e.g. '0000:3B:00.0' (how NVML is told which GPU lake's is). */
  pciBusId(device: number): string;
  contextCreate(device: number): CudaHandle;
  contextDestroy(context: CudaHandle): void;
  /** Makes the context current on the calling thread (lakeD's worker, or lakeLib's inline thread). */
  contextSetCurrent(context: CudaHandle): void;
  /** The [least, greatest] stream priorities (numerically greatest is lowest priority: e.g. [0, -5]). */
  streamPriorityRange(): readonly [number, number];
  streamCreate(priority: number): CudaHandle;
  streamDestroy(stream: CudaHandle): void;
  streamSynchronize(stream: CudaHandle): void;
  /** JIT-compiles PTX text; a failure's message carries the JIT's error log. */
  moduleLoadPtx(ptx: string): CudaHandle;
  moduleGetFunction(module: CudaHandle, name: string): CudaHandle;
  moduleUnload(module: CudaHandle): void;
  memAlloc(bytes: number): DevicePointer;
  memFree(pointer: DevicePointer): void;
  memsetD32Async(pointer: DevicePointer, value: number, count: number, stream: CudaHandle): void;
  /** Host side: a view of pinned lakeShm (registered with hostRegister). */
  memcpyHtoDAsync(destination: DevicePointer, source: Uint8Array, stream: CudaHandle): void;
  memcpyDtoHAsync(destination: Uint8Array, source: DevicePointer, stream: CudaHandle): void;
  memcpyDtoDAsync(destination: DevicePointer, source: DevicePointer, bytes: number, stream: CudaHandle): void;
  /**
   * Pins host memory (the lakeShm arena) so copies from and to it are DMA; false when it was already
   * pinned (by another context of this process, e.g. lakeD's while lakeLib's inline device opens).
   */
  hostRegister(memory: Uint8Array): boolean;
  hostUnregister(memory: Uint8Array): void;
  launch(fn: CudaHandle, shape: LaunchShape, stream: CudaHandle, args: readonly KernelArg[]): void;
  /** Releases the library (after every context is destroyed). */
  unload(): void;
}

/** CUresult values lake names without asking the driver (cuGetErrorName covers the rest). */
export const CU_RESULT_NAMES: Readonly<Record<number, string>> = {
  0: 'CUDA_SUCCESS',
  1: 'CUDA_ERROR_INVALID_VALUE',
  2: 'CUDA_ERROR_OUT_OF_MEMORY',
  3: 'CUDA_ERROR_NOT_INITIALIZED',
  4: 'CUDA_ERROR_DEINITIALIZED',
  34: 'CUDA_ERROR_STUB_LIBRARY',
  35: 'CUDA_ERROR_INSUFFICIENT_DRIVER',
  100: 'CUDA_ERROR_NO_DEVICE',
  101: 'CUDA_ERROR_INVALID_DEVICE',
  200: 'CUDA_ERROR_INVALID_IMAGE',
  201: 'CUDA_ERROR_INVALID_CONTEXT',
  209: 'CUDA_ERROR_NO_BINARY_FOR_GPU',
  218: 'CUDA_ERROR_INVALID_PTX',
  222: 'CUDA_ERROR_UNSUPPORTED_PTX_VERSION',
  400: 'CUDA_ERROR_INVALID_HANDLE',
  500: 'CUDA_ERROR_NOT_FOUND',
  701: 'CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES',
  702: 'CUDA_ERROR_LAUNCH_TIMEOUT',
  712: 'CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED',
  719: 'CUDA_ERROR_LAUNCH_FAILED',
  999: 'CUDA_ERROR_UNKNOWN',
};

/** A driver call that failed: which call, its CUresult and the result's name. */
export class CudaDriverError extends LakeError {
  readonly call: string;
  readonly result: number;
  readonly resultName: string;

  constructor(call: string, result: number, resultName: string, detail = '') {
    super('LAKE_E_IO', `CUDA driver: ${call} failed: ${resultName} (${result})${detail}`);
    this.name = 'CudaDriverError';
    this.call = call;
    this.result = result;
    this.resultName = resultName;
  }
}

/** The name of a CUresult: the driver's own (cuGetErrorName) when it knows one, else lake's table. */
export function cuResultName(result: number, fromDriver?: (result: number) => string | undefined): string {
  return fromDriver?.(result) ?? CU_RESULT_NAMES[result] ?? `CUresult ${result}`;
}

/**
 * cuLaunchKernel's kernelParams: one 8-byte slot per argument in `slots` (u64 and f64 fill it, u32 its
 * low 4 bytes, little-endian as every CUDA host is), and in `pointers` the address of each slot, given
 * the address `slotsAddress` at which `slots` lies. The driver copies the values during the call.
 */
export function packKernelParams(
  args: readonly KernelArg[],
  slots: DataView,
  pointers: BigUint64Array,
  slotsAddress: bigint,
): void {
  if (slots.byteLength < args.length * 8 || pointers.length < args.length) {
    throw new LakeError(
      'LAKE_E_INTERNAL',
      `kernel parameters: ${args.length} arguments, room for ${Math.min(slots.byteLength >> 3, pointers.length)}`,
    );
  }
  args.forEach((arg, i) => {
    const at = i * 8;
    slots.setBigUint64(at, 0n, true);
    if (arg.type === 'u64') slots.setBigUint64(at, BigInt.asUintN(64, arg.value), true);
    else if (arg.type === 'u32') {
      if (!Number.isInteger(arg.value) || arg.value < 0 || arg.value > 0xffffffff)
        throw new LakeError('LAKE_E_INTERNAL', `kernel parameter ${i}: ${arg.value} is not a u32`);
      slots.setUint32(at, arg.value, true);
    } else slots.setFloat64(at, arg.value, true);
    pointers[i] = slotsAddress + BigInt(at);
  });
}
