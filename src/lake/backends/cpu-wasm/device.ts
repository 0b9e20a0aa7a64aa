import { LakeError } from '../../../errors.js';
import { createPredictor } from '../../../kernels/create.js';
import type { Predictor } from '../../../kernels/types.js';
import { wasmAvailable } from '../../../kernels/wasm/module.js';
import type { DenseModel } from '../../../models/dense.js';
import type { ShmArena } from '../../shm/arena.js';
import { type KernelSetName, kernelSetByName } from '../kernel-sets.js';
import type { BackendDevice, BackendReport, ComputeBackend, DeviceModule, DeviceRange } from '../types.js';
import { DenseForward } from './dense-forward.js';

const NAME = 'cpu-wasm';

/**
 * The co-processor backend: kernels run on the thread that owns the device (lakeD's worker, i.e. another
 * core; LinnOS cut 6 us to 4 us with a second core). Device memory is lakeShm itself, so copies are moves
 * inside the arena and kernels read and write it in place. LinnOS modules run src/kernels' int16 WASM SIMD
 * predictor (the js reference where SIMD is missing); dense-f32 modules run DenseForward.
 */
export class CpuWasmBackend implements ComputeBackend {
  readonly name = NAME;
  readonly kind = 'cpu';

  probe(): BackendReport {
    const simd = wasmAvailable();
    return {
      name: NAME,
      kind: 'cpu',
      available: true,
      capabilities: [simd ? 'wasm-simd' : 'js', 'int16', 'f32', 'linnos', 'dense-f32', 'shared-memory'],
      description: simd
        ? "kernels on lakeD's own core: int16 WASM SIMD (LinnOS) and f32 loops (dense)"
        : "kernels on lakeD's own core: WebAssembly SIMD missing, LinnOS runs the js reference",
    };
  }

  open(arena: ShmArena): BackendDevice {
    return new CpuWasmDevice(arena, wasmAvailable());
  }
}

class CpuWasmDevice implements BackendDevice {
  readonly backend = NAME;
  readonly kind = 'cpu';
  readonly name: string;
  readonly capabilities: readonly string[];
  readonly #arena: ShmArena;
  readonly #simd: boolean;

  constructor(arena: ShmArena, simd: boolean) {
    this.#arena = arena;
    this.#simd = simd;
    this.name = simd ? 'cpu-wasm (WebAssembly SIMD, lakeD core)' : 'cpu-wasm (js reference, lakeD core)';
    this.capabilities = [simd ? 'wasm-simd' : 'js', 'int16', 'f32', 'linnos', 'dense-f32', 'shared-memory'];
  }

  adoptMemory(): void {
    // Device memory is the lakeShm region itself.
  }

  releaseMemory(): void {}

  copyToDevice(devicePtr: number, hostPtr: number, bytes: number): void {
    this.#arena.copy(devicePtr, hostPtr, bytes);
  }

  copyFromDevice(hostPtr: number, devicePtr: number, bytes: number): void {
    this.#arena.copy(hostPtr, devicePtr, bytes);
  }

  copyOnDevice(destination: number, source: number, bytes: number): void {
    this.#arena.copy(destination, source, bytes);
  }

  loadModule(kernelSet: KernelSetName, model: DenseModel): DeviceModule {
    kernelSetByName(kernelSet);
    if (kernelSet === 'linnos') {
      return new LinnosModule(this.#arena, createPredictor(model, { backend: this.#simd ? 'wasm' : 'js' }));
    }
    return new DenseF32Module(this.#arena, new DenseForward(model));
  }

  close(): void {}
}

/** Block `block` of `blocks` over n items: [from, to) (the cuda and webgpu backends split batches alike). */
export function share(n: number, block: number, blocks: number): [number, number] {
  return [Math.floor((block * n) / blocks), Math.floor(((block + 1) * n) / blocks)];
}

/** A kernel's batch size, argument n (args[2]), refused unless a count. */
export function batchCount(args: Float64Array): number {
  const n = args[2]!;
  if (!Number.isSafeInteger(n) || n < 0)
    throw new LakeError('LAKE_E_USAGE', `kernel argument n must be a count, got ${n}`);
  return n;
}

class LinnosModule implements DeviceModule {
  readonly kernelSet = 'linnos';
  readonly #arena: ShmArena;
  readonly #predictor: Predictor;

  constructor(arena: ShmArena, predictor: Predictor) {
    this.#arena = arena;
    this.#predictor = predictor;
  }

  ranges(fn: number, args: Float64Array): readonly DeviceRange[] {
    const n = batchCount(args);
    const outBytes = fn === 0 ? n : n * 2 * 4;
    return [
      { param: 'xs', ptr: args[0]!, bytes: n * this.#predictor.inputs },
      { param: fn === 0 ? 'decisions' : 'logits', ptr: args[1]!, bytes: outBytes },
    ];
  }

  runBlock(fn: number, args: Float64Array, block: number, blocks: number): void {
    const n = batchCount(args);
    const [from, to] = share(n, block, blocks);
    if (to <= from) return;
    const inputs = this.#predictor.inputs;
    const xs = this.#arena.bytes(args[0]! + from * inputs, (to - from) * inputs);
    if (fn === 0) {
      this.#predictor.predictBatch(xs, to - from, this.#arena.bytes(args[1]! + from, to - from));
    } else {
      this.#predictor.scoresBatch(xs, to - from, this.#arena.f32(args[1]! + from * 8, (to - from) * 2));
    }
  }

  unload(): void {
    this.#predictor.dispose();
  }
}

class DenseF32Module implements DeviceModule {
  readonly kernelSet = 'dense-f32';
  readonly #arena: ShmArena;
  readonly #forward: DenseForward;

  constructor(arena: ShmArena, forward: DenseForward) {
    this.#arena = arena;
    this.#forward = forward;
  }

  ranges(_fn: number, args: Float64Array): readonly DeviceRange[] {
    const n = batchCount(args);
    return [
      { param: 'xs', ptr: args[0]!, bytes: n * this.#forward.inputs * 4 },
      { param: 'ys', ptr: args[1]!, bytes: n * this.#forward.outputs * 4 },
    ];
  }

  runBlock(_fn: number, args: Float64Array, block: number, blocks: number): void {
    const n = batchCount(args);
    const [from, to] = share(n, block, blocks);
    if (to <= from) return;
    const { inputs, outputs } = this.#forward;
    const xs = this.#arena.f32(args[0]! + from * inputs * 4, (to - from) * inputs);
    const ys = this.#arena.f32(args[1]! + from * outputs * 4, (to - from) * outputs);
    this.#forward.run(xs, ys, 0, to - from);
  }

  unload(): void {}
}
