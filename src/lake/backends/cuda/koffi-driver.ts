import { createRequire } from 'node:module';
import {
  type CudaDriver,
  CudaDriverError,
  type CudaHandle,
  cuResultName,
  type DevicePointer,
  type KernelArg,
  type LaunchShape,
  packKernelParams,
} from './driver.js';

/** What lake uses of koffi (typed here so that lake typechecks and runs without the optional package). */
export interface KoffiModule {
  load(path: string): KoffiLibrary;
  address(value: unknown): bigint;
}

export interface KoffiLibrary {
  func(signature: string): (...args: unknown[]) => unknown;
  unload(): void;
}

/** The optional koffi package, or why it cannot be loaded. */
export function loadKoffi(): KoffiModule | string {
  try {
    return createRequire(import.meta.url)('koffi') as KoffiModule;
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return `koffi not installed (the optional FFI package that opens the CUDA driver): ${message}`;
  }
}

/** Opens a shared library, or says why not ("libcuda.so.1 not found: ..."). */
export function openLibrary(koffi: KoffiModule, path: string): KoffiLibrary | string {
  try {
    return koffi.load(path);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return /No such file|cannot open shared object/i.test(message)
      ? `${path} not found (no NVIDIA driver installed): ${message}`
      : `${path} cannot be loaded: ${message}`;
  }
}

const CU_MEMHOSTREGISTER_PORTABLE = 1;
const CU_STREAM_NON_BLOCKING = 1;
const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
const CU_JIT_ERROR_LOG_BUFFER = 5;
const CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
const CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED = 712;
const JIT_LOG_BYTES = 8192;
const MAX_KERNEL_ARGS = 16;

/** The driver entry points, by their exported (versioned) names: cuCtxCreate is cuCtxCreate_v2, etc. */
const SIGNATURES = {
  cuGetErrorName: 'int cuGetErrorName(int error, _Out_ const char **pStr)',
  cuInit: 'int cuInit(unsigned int flags)',
  cuDeviceGetCount: 'int cuDeviceGetCount(_Out_ int *count)',
  cuDeviceGet: 'int cuDeviceGet(_Out_ int *device, int ordinal)',
  cuDeviceGetName: 'int cuDeviceGetName(_Out_ uint8_t *name, int len, int dev)',
  cuDeviceGetAttribute: 'int cuDeviceGetAttribute(_Out_ int *pi, int attrib, int dev)',
  cuDeviceGetPCIBusId: 'int cuDeviceGetPCIBusId(_Out_ uint8_t *pciBusId, int len, int dev)',
  cuCtxCreate: 'int cuCtxCreate_v2(_Out_ void **pctx, unsigned int flags, int dev)',
  cuCtxDestroy: 'int cuCtxDestroy_v2(void *ctx)',
  cuCtxSetCurrent: 'int cuCtxSetCurrent(void *ctx)',
  cuCtxGetStreamPriorityRange: 'int cuCtxGetStreamPriorityRange(_Out_ int *least, _Out_ int *greatest)',
  cuStreamCreateWithPriority:
    'int cuStreamCreateWithPriority(_Out_ void **phStream, unsigned int flags, int priority)',
  cuStreamDestroy: 'int cuStreamDestroy_v2(void *hStream)',
  cuStreamSynchronize: 'int cuStreamSynchronize(void *hStream)',
  cuModuleLoadDataEx:
    'int cuModuleLoadDataEx(_Out_ void **module, const char *image, unsigned int numOptions, int *options, void *optionValues)',
  cuModuleGetFunction: 'int cuModuleGetFunction(_Out_ void **hfunc, void *hmod, const char *name)',
  cuModuleUnload: 'int cuModuleUnload(void *hmod)',
  cuMemAlloc: 'int cuMemAlloc_v2(_Out_ uint64_t *dptr, size_t bytesize)',
  cuMemFree: 'int cuMemFree_v2(uint64_t dptr)',
  cuMemsetD32Async: 'int cuMemsetD32Async(uint64_t dst, unsigned int ui, size_t n, void *hStream)',
  cuMemcpyHtoDAsync: 'int cuMemcpyHtoDAsync_v2(uint64_t dst, void *src, size_t bytes, void *hStream)',
  cuMemcpyDtoHAsync: 'int cuMemcpyDtoHAsync_v2(void *dst, uint64_t src, size_t bytes, void *hStream)',
  cuMemcpyDtoDAsync: 'int cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t bytes, void *hStream)',
  cuMemHostRegister: 'int cuMemHostRegister_v2(void *p, size_t bytesize, unsigned int flags)',
  cuMemHostUnregister: 'int cuMemHostUnregister(void *p)',
  cuLaunchKernel:
    'int cuLaunchKernel(void *f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by, unsigned int bz, unsigned int sharedMemBytes, void *hStream, void *kernelParams, void *extra)',
} as const;

type Entry = keyof typeof SIGNATURES;

/** A NUL-terminated string from a byte buffer. */
function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(bytes.subarray(0, end < 0 ? bytes.length : end));
}
type NativeCall = (...args: unknown[]) => unknown;

/**
 * Opens the CUDA driver (libcuda.so.1) through koffi: every entry point is bound at open (a driver too old
 * to export one fails here, naming it), nothing is called until init(). Returns why not as a string.
 */
export function openKoffiDriver(path = 'libcuda.so.1'): CudaDriver | string {
  const koffi = loadKoffi();
  if (typeof koffi === 'string') return koffi;
  const library = openLibrary(koffi, path);
  if (typeof library === 'string') return library;
  const calls = {} as Record<Entry, NativeCall>;
  for (const [entry, signature] of Object.entries(SIGNATURES) as [Entry, string][]) {
    try {
      calls[entry] = library.func(signature);
    } catch (error) {
      library.unload();
      return `${path} lacks ${entry} (driver too old?): ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  return new KoffiCudaDriver(koffi, library, calls, path);
}

/**
 * Host memory handed to the driver is always backed by a SharedArrayBuffer (lakeShm, or the scratch below):
 * its backing store never moves, unlike an ordinary ArrayBuffer's, so an address taken once stays valid
 * for an async copy that runs after the call returned.
 */
class KoffiCudaDriver implements CudaDriver {
  readonly source: string;
  readonly #koffi: KoffiModule;
  readonly #library: KoffiLibrary;
  readonly #calls: Record<Entry, NativeCall>;
  readonly #paramSlots = new Uint8Array(new SharedArrayBuffer(MAX_KERNEL_ARGS * 8));
  readonly #paramPointers = new BigUint64Array(new SharedArrayBuffer(MAX_KERNEL_ARGS * 8));
  readonly #jitLog = new Uint8Array(new SharedArrayBuffer(JIT_LOG_BYTES));
  readonly #jitValues = new BigUint64Array(new SharedArrayBuffer(16));
  readonly #jitOptions = new Int32Array([CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES]);

  constructor(koffi: KoffiModule, library: KoffiLibrary, calls: Record<Entry, NativeCall>, source: string) {
    this.#koffi = koffi;
    this.#library = library;
    this.#calls = calls;
    this.source = source;
  }

  /** Calls an entry point; a CUresult other than 0 throws, named by the driver (cuGetErrorName). */
  #check(entry: Entry, args: unknown[], detail?: () => string): void {
    const result = this.#calls[entry](...args) as number;
    if (result !== 0) this.#fail(entry, result, detail);
  }

  #fail(entry: Entry, result: number, detail?: () => string): never {
    const name = cuResultName(result, (code) => {
      const out: unknown[] = [null];
      return this.#calls.cuGetErrorName(code, out) === 0 && typeof out[0] === 'string' ? out[0] : undefined;
    });
    throw new CudaDriverError(entry, result, name, detail?.() ?? '');
  }

  #outHandle(entry: Entry, args: unknown[], detail?: () => string): CudaHandle {
    const out: unknown[] = [null];
    this.#check(entry, [out, ...args], detail);
    const handle = out[0];
    if (typeof handle === 'bigint' || (typeof handle === 'object' && handle !== null)) return handle;
    throw new CudaDriverError(entry, 0, 'CUDA_SUCCESS', ' but returned a null handle');
  }

  #outInt(entry: Entry, args: unknown[]): number {
    const out: unknown[] = [0];
    this.#check(entry, [out, ...args]);
    return Number(out[0]);
  }

  init(): void {
    this.#check('cuInit', [0]);
  }

  deviceCount(): number {
    return this.#outInt('cuDeviceGetCount', []);
  }

  device(ordinal: number): number {
    return this.#outInt('cuDeviceGet', [ordinal]);
  }

  deviceName(device: number): string {
    const name = new Uint8Array(256);
    this.#check('cuDeviceGetName', [name, name.length, device]);
    return cString(name);
  }

  pciBusId(device: number): string {
    const id = new Uint8Array(64);
    this.#check('cuDeviceGetPCIBusId', [id, id.length, device]);
    return cString(id);
  }

  computeCapability(device: number): readonly [number, number] {
    return [
      this.#outInt('cuDeviceGetAttribute', [CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device]),
      this.#outInt('cuDeviceGetAttribute', [CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device]),
    ];
  }

  contextCreate(device: number): CudaHandle {
    return this.#outHandle('cuCtxCreate', [0, device]);
  }

  contextDestroy(context: CudaHandle): void {
    this.#check('cuCtxDestroy', [context]);
  }

  contextSetCurrent(context: CudaHandle): void {
    this.#check('cuCtxSetCurrent', [context]);
  }

  streamPriorityRange(): readonly [number, number] {
    const least: unknown[] = [0];
    const greatest: unknown[] = [0];
    this.#check('cuCtxGetStreamPriorityRange', [least, greatest]);
    return [Number(least[0]), Number(greatest[0])];
  }

  streamCreate(priority: number): CudaHandle {
    return this.#outHandle('cuStreamCreateWithPriority', [CU_STREAM_NON_BLOCKING, priority]);
  }

  streamDestroy(stream: CudaHandle): void {
    this.#check('cuStreamDestroy', [stream]);
  }

  streamSynchronize(stream: CudaHandle): void {
    this.#check('cuStreamSynchronize', [stream]);
  }

  moduleLoadPtx(ptx: string): CudaHandle {
    this.#jitLog.fill(0);
    this.#jitValues[0] = this.#koffi.address(this.#jitLog);
    this.#jitValues[1] = BigInt(JIT_LOG_BYTES);
    return this.#outHandle('cuModuleLoadDataEx', [ptx, 2, this.#jitOptions, this.#jitValues], () => {
      const end = this.#jitLog.indexOf(0);
      const log = new TextDecoder().decode(this.#jitLog.slice(0, end < 0 ? JIT_LOG_BYTES : end)).trim();
      return log === '' ? '' : `; JIT log: ${log}`;
    });
  }

  moduleGetFunction(module: CudaHandle, name: string): CudaHandle {
    return this.#outHandle('cuModuleGetFunction', [module, name], () => ` (function ${name})`);
  }

  moduleUnload(module: CudaHandle): void {
    this.#check('cuModuleUnload', [module]);
  }

  memAlloc(bytes: number): DevicePointer {
    const out: unknown[] = [0];
    this.#check('cuMemAlloc', [out, bytes], () => ` (${bytes} bytes)`);
    return BigInt(out[0] as number | bigint);
  }

  memFree(pointer: DevicePointer): void {
    this.#check('cuMemFree', [pointer]);
  }

  memsetD32Async(pointer: DevicePointer, value: number, count: number, stream: CudaHandle): void {
    this.#check('cuMemsetD32Async', [pointer, value >>> 0, count, stream]);
  }

  memcpyHtoDAsync(destination: DevicePointer, source: Uint8Array, stream: CudaHandle): void {
    this.#check('cuMemcpyHtoDAsync', [destination, source, source.byteLength, stream]);
  }

  memcpyDtoHAsync(destination: Uint8Array, source: DevicePointer, stream: CudaHandle): void {
    this.#check('cuMemcpyDtoHAsync', [destination, source, destination.byteLength, stream]);
  }

  memcpyDtoDAsync(
    destination: DevicePointer,
    source: DevicePointer,
    bytes: number,
    stream: CudaHandle,
  ): void {
    this.#check('cuMemcpyDtoDAsync', [destination, source, bytes, stream]);
  }

  hostRegister(memory: Uint8Array): boolean {
    const result = this.#calls.cuMemHostRegister(
      memory,
      memory.byteLength,
      CU_MEMHOSTREGISTER_PORTABLE,
    ) as number;
    // Portable pinning serves every context: lakeLib's inline device finds the arena pinned by lakeD's.
    if (result === CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED) return false;
    if (result !== 0) this.#fail('cuMemHostRegister', result);
    return true;
  }

  hostUnregister(memory: Uint8Array): void {
    this.#check('cuMemHostUnregister', [memory]);
  }

  launch(fn: CudaHandle, shape: LaunchShape, stream: CudaHandle, args: readonly KernelArg[]): void {
    const slots = this.#paramSlots;
    packKernelParams(
      args,
      new DataView(slots.buffer, slots.byteOffset, slots.byteLength),
      this.#paramPointers,
      this.#koffi.address(slots),
    );
    this.#check(
      'cuLaunchKernel',
      [fn, shape.gridX, 1, 1, shape.blockX, 1, 1, shape.sharedBytes, stream, this.#paramPointers, null],
      () => ` (grid ${shape.gridX}, block ${shape.blockX}, ${shape.sharedBytes} B shared)`,
    );
  }

  unload(): void {
    this.#library.unload();
  }
}
