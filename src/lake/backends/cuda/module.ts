import { LakeError } from '../../../errors.js';
import { planInt16 } from '../../../kernels/wasm/int16-plan.js';
import type { DenseModel } from '../../../models/dense.js';
import { batchCount, share } from '../cpu-wasm/device.js';
import type { KernelSetName } from '../kernel-sets.js';
import type { DeviceModule, DeviceRange } from '../types.js';
import { type DeviceImage, denseDeviceImage, linnosDeviceImage } from './device-image.js';
import type { DevicePointer, KernelArg } from './driver.js';
import { denseSharedBytes, linnosSharedBytes, PTX_ENTRIES, STATUS_CLEAN } from './ptx.js';

/** The most shared memory a block gets without opting in (every GPU since sm_20). */
export const MAX_SHARED_BYTES = 48 * 1024;
/** Blocks per launch; more vectors than this loop inside the grid. */
export const MAX_GRID_BLOCKS = 65_535;

/** A launch's grid: `count` vectors in blocks of `blockX` threads with `sharedBytes` of shared memory each. */
export interface VectorGrid {
  readonly count: number;
  readonly sharedBytes: number;
  readonly blockX: number;
}

/** The bytes of lakeShm a launch writes (`bytes` at offset `ptr`), copied back after it. */
export interface LaunchOutput {
  readonly ptr: number;
  readonly bytes: number;
}

/** What a CUDA module needs of its device: checked driver work that faults over to the CPU path. */
export interface CudaModuleHost {
  /** The device pointer mirroring lakeShm offset `ptr` (inside an adopted region). */
  devicePointer(ptr: number): DevicePointer;
  /**
   * Launches entry `entry` of the module's kernel set over `count` vectors, then copies `outBytes` of the
   * output at lakeShm `output.ptr` back (the region stays current) and returns the kernel's status word
   * (`status` is reset to STATUS_CLEAN first; STATUS_CLEAN when there is none); false when the device
   * faulted (the caller finishes on the CPU).
   */
  launch(
    kernelSet: KernelSetName,
    entry: string,
    shape: VectorGrid,
    args: readonly KernelArg[],
    output: LaunchOutput,
    status: DevicePointer | undefined,
  ): number | false;
  /** Whether the device runs on the CPU path (it faulted, or serves lakeLib's inline path). */
  readonly onCpuPath: boolean;
  /** Frees a model image (no-op after a fault). */
  freeImage(pointer: DevicePointer): void;
}

/** Threads per block: the widest layer rounded to a warp, at least 2 warps (one per output class), at most 256. */
export function threadsPerBlock(widest: number): number {
  return Math.min(256, Math.max(64, Math.ceil(widest / 32) * 32));
}

/**
 * The shared memory a model's kernels need, or a LakeError when it is more than a block gets: the kernels
 * keep two activation rows per block in shared memory, so layers wider than ~6,000 units do not fit.
 */
export function sharedBytesFor(kernelSet: KernelSetName, image: DeviceImage): number {
  const bytes =
    kernelSet === 'linnos' ? linnosSharedBytes(image.inputs, image.widest) : denseSharedBytes(image.widest);
  if (bytes > MAX_SHARED_BYTES) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `the cuda ${kernelSet} kernels keep two rows of ${image.widest} units in shared memory: ${bytes} bytes, more than the ${MAX_SHARED_BYTES} a block gets`,
    );
  }
  return bytes;
}

/** The device image of a model for a kernel set: linnos quantises exactly as cpu-wasm's predictor does. */
export function deviceImageFor(kernelSet: KernelSetName, model: DenseModel): DeviceImage {
  return kernelSet === 'linnos' ? linnosDeviceImage(planInt16(model)) : denseDeviceImage(model);
}

/**
 * A kernel set bound to a model on a CUDA device. Every launch keeps a CPU twin ready (the cpu-wasm module
 * of the same model over the same lakeShm): after a device fault the batch, and every later one, runs
 * there, giving the same bytes (the kernels are bit-exact with it), so no decision is lost. A vector with
 * a digit above 9 is handed to the twin too, which refuses it with cpu-wasm's own error.
 */
export class CudaModule implements DeviceModule {
  readonly kernelSet: KernelSetName;
  readonly #host: CudaModuleHost;
  readonly #cpu: DeviceModule;
  readonly #image: DeviceImage;
  readonly #imagePointer: DevicePointer;
  readonly #sharedBytes: number;
  readonly #status: DevicePointer;

  constructor(
    kernelSet: KernelSetName,
    host: CudaModuleHost,
    cpu: DeviceModule,
    image: DeviceImage,
    imagePointer: DevicePointer,
    status: DevicePointer,
  ) {
    this.kernelSet = kernelSet;
    this.#host = host;
    this.#cpu = cpu;
    this.#image = image;
    this.#imagePointer = imagePointer;
    this.#sharedBytes = sharedBytesFor(kernelSet, image);
    this.#status = status;
  }

  ranges(fn: number, args: Float64Array): readonly DeviceRange[] {
    return this.#cpu.ranges(fn, args);
  }

  /** Bytes of input and output per vector for function `fn`. */
  #rowBytes(fn: number): { input: number; output: number } {
    if (this.kernelSet === 'linnos') return { input: this.#image.inputs, output: fn === 0 ? 1 : 8 };
    return { input: this.#image.inputs * 4, output: this.#image.outputs * 4 };
  }

  runBlock(fn: number, args: Float64Array, block: number, blocks: number): void {
    const n = batchCount(args);
    const [from, to] = share(n, block, blocks);
    if (to <= from) return;
    if (this.#host.onCpuPath) {
      this.#cpu.runBlock(fn, args, block, blocks);
      return;
    }
    const rows = this.#rowBytes(fn);
    const xs = args[0]! + from * rows.input;
    const out = args[1]! + from * rows.output;
    const count = to - from;
    const kernelArgs: KernelArg[] = [
      { type: 'u64', value: this.#imagePointer },
      { type: 'u64', value: this.#host.devicePointer(xs) },
      { type: 'u64', value: this.#host.devicePointer(out) },
      { type: 'u32', value: count },
    ];
    const status = this.kernelSet === 'linnos' ? this.#status : undefined;
    if (status !== undefined) kernelArgs.push({ type: 'u64', value: status });
    const word = this.#host.launch(
      this.kernelSet,
      PTX_ENTRIES[this.kernelSet][fn]!,
      { count, sharedBytes: this.#sharedBytes, blockX: threadsPerBlock(this.#image.widest) },
      kernelArgs,
      { ptr: out, bytes: count * rows.output },
      status,
    );
    // A fault (false) or a rejected vector: the CPU twin computes the block (and refuses the bad vector).
    if (word === false || word !== STATUS_CLEAN) this.#cpu.runBlock(fn, args, block, blocks);
  }

  unload(): void {
    this.#cpu.unload();
    this.#host.freeImage(this.#imagePointer);
  }
}
