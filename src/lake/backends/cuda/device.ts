import { LakeError } from '../../../errors.js';
import type { DenseModel } from '../../../models/dense.js';
import type { GpuSharingMode } from '../../policy/gpu-mode.js';
import type { ShmArena } from '../../shm/arena.js';
import { CpuWasmBackend } from '../cpu-wasm/device.js';
import { type KernelSetName, kernelSetByName } from '../kernel-sets.js';
import type { BackendDevice, DeviceModule } from '../types.js';
import type { CudaDriver, CudaHandle, DevicePointer, KernelArg } from './driver.js';
import {
  CudaModule,
  type CudaModuleHost,
  deviceImageFor,
  type LaunchOutput,
  MAX_GRID_BLOCKS,
  sharedBytesFor,
  type VectorGrid,
} from './module.js';
import { PTX_ENTRIES, ptxModule, STATUS_CLEAN } from './ptx.js';

/** The CUDA device found by detection. */
export interface CudaDeviceFound {
  readonly ordinal: number;
  readonly device: number;
  readonly name: string;
  readonly computeCapability: readonly [number, number];
  readonly pciBusId: string;
}

interface Region {
  readonly ptr: number;
  readonly bytes: number;
  /** Its mirror in device memory; undefined once the device faulted before allocating it. */
  pointer: DevicePointer | undefined;
}

interface LoadedKernels {
  readonly module: CudaHandle;
  readonly functions: Map<string, CudaHandle>;
}

/** The context current on this thread (contexts are per thread; several devices may share one thread). */
let currentContext: CudaHandle | undefined;
/** The first fault of a CUDA device on this thread: detection reports the backend unusable after it. */
let threadFault: string | undefined;

export function cudaThreadFault(): string | undefined {
  return threadFault;
}

/**
 * lakeD's CUDA device. Device memory mirrors adopted lakeShm regions in cuMemAlloc'd buffers and the
 * regions are kept current: a copy to the device writes the region then DMAs it (the arena is pinned with
 * cuMemHostRegister), a launch copies its output back into the region before it returns, so a copy from
 * the device is a copy inside lakeShm, and lakeLib can finish work inline from the regions if lakeD dies.
 *
 * Any failure of the driver (at open, load, copy or launch; a missing driver mid-run looks the same)
 * faults the device: the work in hand and every later launch run on the cpu-wasm twin of each module over
 * the same regions, bit-exact, and detection reports the backend unusable on this thread from then on.
 */
export class CudaDevice implements BackendDevice, CudaModuleHost {
  readonly backend = 'cuda';
  readonly kind = 'gpu';
  readonly #arena: ShmArena;
  readonly #driver: CudaDriver;
  readonly #found: CudaDeviceFound;
  readonly #mode: GpuSharingMode;
  readonly #cpu: BackendDevice;
  readonly #regions = new Map<number, Region>();
  readonly #kernels = new Map<KernelSetName, LoadedKernels>();
  /** Every cuMemAlloc not yet freed: after a fault frees are not attempted until close(). */
  readonly #allocations = new Set<DevicePointer>();
  readonly #statusWord = new Int32Array(new SharedArrayBuffer(4));
  #context: CudaHandle | undefined;
  #stream: CudaHandle | undefined;
  #statusPointer: DevicePointer | undefined;
  #pinned: 'by-this-device' | 'already' | 'no' = 'no';
  #fault: string | undefined;
  #inlineRole = false;
  #closed = false;

  /**
   * `onGpu` false: the device serves lakeLib's inline path on the storage caller's thread after lakeD
   * died; it creates no context there (a context costs the caller ~100 ms and GPU memory) and runs every
   * launch on the CPU twins, which give the same bytes.
   */
  constructor(
    arena: ShmArena,
    driver: CudaDriver,
    found: CudaDeviceFound,
    options: { readonly mode: GpuSharingMode; readonly onGpu: boolean },
  ) {
    this.#arena = arena;
    this.#driver = driver;
    this.#found = found;
    this.#mode = options.mode;
    this.#cpu = new CpuWasmBackend().open(arena);
    if (options.onGpu) this.#guard('open', () => this.#open());
    else this.#inlineRole = true;
  }

  get name(): string {
    const [major, minor] = this.#found.computeCapability;
    const base = `${this.#found.name} (cuda ${this.#found.ordinal}, sm_${major}${minor})`;
    if (this.#inlineRole) return `${base}, lakeLib inline: runs on the CPU path`;
    return this.#fault === undefined ? base : `${base}, faulted: runs on the CPU path`;
  }

  get capabilities(): readonly string[] {
    if (this.onCpuPath)
      return [this.#inlineRole ? 'inline' : 'faulted', 'cpu-path', 'int16', 'f32', 'linnos', 'dense-f32'];
    return [
      'cuda',
      'int16',
      'f32',
      'linnos',
      'dense-f32',
      this.#pinned === 'no' ? 'pageable-copies' : 'pinned-shm',
      this.#mode === 'priority' ? 'high-priority-stream' : 'normal-priority-stream',
    ];
  }

  get onCpuPath(): boolean {
    return this.#fault !== undefined || this.#inlineRole;
  }

  /** Why the device serves on its CPU path (a fault, or lakeLib's inline role); undefined on the GPU. */
  get fault(): string | undefined {
    if (this.#inlineRole) return "serves lakeLib's inline path on the CPU (the GPU runs on lakeD's thread)";
    return this.#fault;
  }

  #open(): void {
    const driver = this.#driver;
    this.#context = driver.contextCreate(this.#found.device);
    currentContext = this.#context;
    try {
      this.#pinned = driver.hostRegister(new Uint8Array(this.#arena.buffer)) ? 'by-this-device' : 'already';
    } catch {
      // Unpinned lakeShm still works: the driver stages each copy through its own pinned buffer.
      this.#pinned = 'no';
    }
    // Numerically lower is higher priority: 'greatest' is the highest the device offers.
    const [least, greatest] = driver.streamPriorityRange();
    this.#stream = driver.streamCreate(this.#mode === 'priority' ? greatest : least);
    this.#statusPointer = this.#alloc(4);
  }

  #alloc(bytes: number): DevicePointer {
    const pointer = this.#driver.memAlloc(bytes);
    this.#allocations.add(pointer);
    return pointer;
  }

  #free(pointer: DevicePointer): void {
    this.#guard('memFree', () => {
      this.#driver.memFree(pointer);
      this.#allocations.delete(pointer);
    });
  }

  /** Runs driver work; a failure faults the device (once, keeping the first cause) and returns false. */
  #guard<T>(what: string, work: () => T): T | false {
    if (this.onCpuPath) return false;
    try {
      if (this.#context !== undefined && currentContext !== this.#context) {
        this.#driver.contextSetCurrent(this.#context);
        currentContext = this.#context;
      }
      return work();
    } catch (error) {
      const message = `${what}: ${error instanceof Error ? error.message : String(error)}`;
      this.#fault = message;
      threadFault ??= `${this.#found.name}: ${message}`;
      return false;
    }
  }

  devicePointer(ptr: number): DevicePointer {
    for (const region of this.#regions.values()) {
      if (ptr >= region.ptr && ptr < region.ptr + region.bytes && region.pointer !== undefined)
        return region.pointer + BigInt(ptr - region.ptr);
    }
    throw new LakeError('LAKE_E_INTERNAL', `lakeShm offset ${ptr} has no device mirror`);
  }

  adoptMemory(ptr: number, bytes: number): void {
    const region: Region = { ptr, bytes, pointer: undefined };
    this.#regions.set(ptr, region);
    this.#guard('memAlloc', () => {
      region.pointer = this.#alloc(bytes);
      this.#driver.memcpyHtoDAsync(region.pointer, this.#arena.bytes(ptr, bytes), this.#stream!);
    });
  }

  releaseMemory(ptr: number): void {
    const region = this.#regions.get(ptr);
    this.#regions.delete(ptr);
    if (region?.pointer !== undefined) this.#free(region.pointer);
  }

  copyToDevice(devicePtr: number, hostPtr: number, bytes: number): void {
    this.#arena.copy(devicePtr, hostPtr, bytes);
    if (bytes === 0) return;
    this.#guard('memcpyHtoD', () =>
      this.#driver.memcpyHtoDAsync(
        this.devicePointer(devicePtr),
        this.#arena.bytes(devicePtr, bytes),
        this.#stream!,
      ),
    );
  }

  copyFromDevice(hostPtr: number, devicePtr: number, bytes: number): void {
    // The region is current (launches copy their output back before returning).
    this.#arena.copy(hostPtr, devicePtr, bytes);
  }

  copyOnDevice(destination: number, source: number, bytes: number): void {
    this.#arena.copy(destination, source, bytes);
    if (bytes === 0) return;
    this.#guard('memcpyDtoD', () =>
      this.#driver.memcpyDtoDAsync(
        this.devicePointer(destination),
        this.devicePointer(source),
        bytes,
        this.#stream!,
      ),
    );
  }

  loadModule(kernelSet: KernelSetName, model: DenseModel): DeviceModule {
    kernelSetByName(kernelSet);
    const cpu = this.#cpu.loadModule(kernelSet, model);
    if (this.onCpuPath) return cpu;
    const image = deviceImageFor(kernelSet, model);
    try {
      sharedBytesFor(kernelSet, image);
    } catch (error) {
      cpu.unload();
      throw error;
    }
    const pointer = this.#guard(`module load (${kernelSet})`, () => {
      this.#functions(kernelSet);
      const at = this.#alloc(image.bytes.length);
      // From SharedArrayBuffer memory, whose address never moves while the copy is in flight.
      const staged = new Uint8Array(new SharedArrayBuffer(image.bytes.length));
      staged.set(image.bytes);
      this.#driver.memcpyHtoDAsync(at, staged, this.#stream!);
      this.#driver.streamSynchronize(this.#stream!);
      return at;
    });
    if (pointer === false) return cpu;
    return new CudaModule(kernelSet, this, cpu, image, pointer, this.#statusPointer!);
  }

  /** The kernel set's module, JIT-compiled from PTX on first use, and its functions. */
  #functions(kernelSet: KernelSetName): Map<string, CudaHandle> {
    const loaded = this.#kernels.get(kernelSet);
    if (loaded !== undefined) return loaded.functions;
    const module = this.#driver.moduleLoadPtx(ptxModule(kernelSet));
    const functions = new Map<string, CudaHandle>();
    this.#kernels.set(kernelSet, { module, functions });
    for (const entry of PTX_ENTRIES[kernelSet])
      functions.set(entry, this.#driver.moduleGetFunction(module, entry));
    return functions;
  }

  launch(
    kernelSet: KernelSetName,
    entry: string,
    shape: VectorGrid,
    args: readonly KernelArg[],
    output: LaunchOutput,
    status: DevicePointer | undefined,
  ): number | false {
    return this.#guard(`launch ${entry}`, () => {
      const driver = this.#driver;
      const stream = this.#stream!;
      const fn = this.#functions(kernelSet).get(entry)!;
      if (status !== undefined) driver.memsetD32Async(status, STATUS_CLEAN, 1, stream);
      const gridX = Math.min(shape.count, MAX_GRID_BLOCKS);
      driver.launch(fn, { gridX, blockX: shape.blockX, sharedBytes: shape.sharedBytes }, stream, args);
      const outputBytes = this.#arena.bytes(output.ptr, output.bytes);
      driver.memcpyDtoHAsync(outputBytes, this.devicePointer(output.ptr), stream);
      const word = new Uint8Array(this.#statusWord.buffer);
      if (status !== undefined) driver.memcpyDtoHAsync(word, status, stream);
      driver.streamSynchronize(stream);
      return status === undefined ? STATUS_CLEAN : this.#statusWord[0]!;
    });
  }

  freeImage(pointer: DevicePointer): void {
    this.#free(pointer);
  }

  /** Releases everything open() made, in reverse; after a fault each step is still tried, errors ignored. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const driver = this.#driver;
    const attempt = (work: () => void): void => {
      try {
        work();
      } catch {
        // A faulted or vanished driver cannot do more; the process exit releases the rest.
      }
    };
    if (this.#context === undefined) return;
    attempt(() => driver.contextSetCurrent(this.#context!));
    for (const pointer of this.#allocations) attempt(() => driver.memFree(pointer));
    this.#allocations.clear();
    this.#regions.clear();
    for (const loaded of this.#kernels.values()) attempt(() => driver.moduleUnload(loaded.module));
    this.#kernels.clear();
    if (this.#stream !== undefined) attempt(() => driver.streamDestroy(this.#stream!));
    if (this.#pinned === 'by-this-device')
      attempt(() => driver.hostUnregister(new Uint8Array(this.#arena.buffer)));
    attempt(() => driver.contextDestroy(this.#context!));
    if (currentContext === this.#context) currentContext = undefined;
    this.#cpu.close();
  }
}
