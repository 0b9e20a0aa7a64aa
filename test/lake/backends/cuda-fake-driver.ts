import {
  type CudaDriver,
  CudaDriverError,
  type CudaHandle,
  cuResultName,
  type DevicePointer,
  type KernelArg,
  type LaunchShape,
} from '../../../src/lake/backends/cuda/driver.js';
import {
  DENSE_DESCRIPTOR,
  denseSharedBytes,
  LINNOS_DESCRIPTOR,
  linnosSharedBytes,
  PTX_ENTRIES,
  STATUS_CLEAN,
} from '../../../src/lake/backends/cuda/ptx.js';
import { type LaunchReport, PtxFault, ptxProgram } from './ptx-sim.js';

/**
 * A CUDA driver without a GPU, for the backend's host side: device memory is host memory behind fake
 * pointers. A launch either runs an emulation of the PTX kernel (`execute: 'emulate'`, the default, fast),
 * step by step in the kernel's arithmetic (int32 wrap-around, the int16 wrap of layer 0, the shift and
 * saturation of hidden layers, the warp-tree sum of the output layer, f64 sums rounded to f32), reading
 * the same device image; or (`execute: 'ptx'`) runs the PTX text the module was loaded with through the
 * PTX interpreter (ptx-sim.ts), which also checks bounds, races, barriers and shuffles. A call can be made
 * to fail (`failAt`); by default the failure is sticky, as a lost device's is: every later call fails too.
 */
export interface FakeDriverOptions {
  /** Fail the nth call (1-based) of this method. */
  failAt?: { method: keyof CudaDriver; nth?: number; result?: number; sticky?: boolean };
  deviceCount?: number;
  computeCapability?: readonly [number, number];
  initResult?: number;
  /** How launches compute: the JS emulation (default) or the loaded PTX through the interpreter. */
  execute?: 'emulate' | 'ptx';
  /** 'ptx' only: run launches with this many threads per block instead of the backend's choice. */
  blockX?: number;
  /** 'ptx' only: cap every launch's grid (fewer blocks than vectors: the kernels' grid-stride loop). */
  maxGridX?: number;
  /**
   * From the `from`th launch (1-based) on, every launch takes `ms` longer (the thread sleeps), as a launch
   * queued behind another process's kernels does.
   */
  slowLaunch?: { from: number; ms: number };
}

/** What a slowed launch sleeps on (never notified: the wait times out). */
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

interface Allocation {
  readonly base: bigint;
  readonly bytes: Uint8Array;
}

export class FakeCudaDriver implements CudaDriver {
  readonly source = 'fake libcuda';
  readonly calls: string[] = [];
  readonly live = { contexts: 0, streams: 0, modules: 0, allocations: 0, registrations: 0 };
  launches = 0;
  /** 'ptx': every fault the interpreter raised (a launch that faults also fails, as on a GPU). */
  readonly ptxFaults: PtxFault[] = [];
  /** 'ptx': what each launch executed, with the shape it ran. */
  readonly ptxLaunches: (LaunchReport & { entry: string; gridX: number; blockX: number })[] = [];
  streamPriority: number | undefined;
  readonly #options: FakeDriverOptions;
  readonly #memory = new Map<bigint, Allocation>();
  readonly #counts = new Map<string, number>();
  #next = 0x7f00_0000_0000n;
  #stuck: number | undefined;
  #handles = 0;

  constructor(options: FakeDriverOptions = {}) {
    this.#options = options;
  }

  #call(method: keyof CudaDriver): void {
    this.calls.push(method);
    if (this.#stuck !== undefined) throw new CudaDriverError(method, this.#stuck, cuResultName(this.#stuck));
    const count = (this.#counts.get(method) ?? 0) + 1;
    this.#counts.set(method, count);
    const fail = this.#options.failAt;
    if (fail !== undefined && fail.method === method && count === (fail.nth ?? 1)) {
      const result = fail.result ?? 719;
      if (fail.sticky ?? true) this.#stuck = result;
      throw new CudaDriverError(method, result, cuResultName(result));
    }
  }

  #handle(kind: string): CudaHandle {
    this.#handles++;
    return { kind, id: this.#handles };
  }

  #resolve(pointer: DevicePointer, bytes: number): Uint8Array {
    for (const allocation of this.#memory.values()) {
      const offset = pointer - allocation.base;
      if (offset >= 0n && offset + BigInt(bytes) <= BigInt(allocation.bytes.length))
        return allocation.bytes.subarray(Number(offset), Number(offset) + bytes);
    }
    throw new CudaDriverError('resolve', 1, 'CUDA_ERROR_INVALID_VALUE', ` (fake: ${pointer} +${bytes})`);
  }

  init(): void {
    this.#call('init');
    if ((this.#options.initResult ?? 0) !== 0) {
      const result = this.#options.initResult!;
      throw new CudaDriverError('cuInit', result, cuResultName(result));
    }
  }
  deviceCount(): number {
    this.#call('deviceCount');
    return this.#options.deviceCount ?? 1;
  }
  device(ordinal: number): number {
    this.#call('device');
    return ordinal;
  }
  deviceName(): string {
    this.#call('deviceName');
    return 'Fake GPU';
  }
  computeCapability(): readonly [number, number] {
    this.#call('computeCapability');
    return this.#options.computeCapability ?? [9, 0];
  }
  pciBusId(): string {
    this.#call('pciBusId');
    return '0000:3B:00.0';
  }
  contextCreate(): CudaHandle {
    this.#call('contextCreate');
    this.live.contexts++;
    return this.#handle('context');
  }
  contextDestroy(): void {
    this.#call('contextDestroy');
    this.live.contexts--;
  }
  contextSetCurrent(): void {
    this.#call('contextSetCurrent');
  }
  streamPriorityRange(): readonly [number, number] {
    this.#call('streamPriorityRange');
    return [0, -5];
  }
  streamCreate(priority: number): CudaHandle {
    this.#call('streamCreate');
    this.streamPriority = priority;
    this.live.streams++;
    return this.#handle('stream');
  }
  streamDestroy(): void {
    this.#call('streamDestroy');
    this.live.streams--;
  }
  streamSynchronize(): void {
    this.#call('streamSynchronize');
  }
  moduleLoadPtx(ptx: string): CudaHandle {
    this.#call('moduleLoadPtx');
    if (!ptx.includes('.target sm_70'))
      throw new CudaDriverError('cuModuleLoadDataEx', 218, 'CUDA_ERROR_INVALID_PTX');
    // Interpreted launches: parse and decode now, as the JIT would reject bad PTX at load.
    if (this.#options.execute === 'ptx') {
      try {
        ptxProgram(ptx);
      } catch (error) {
        if (error instanceof PtxFault) this.ptxFaults.push(error);
        throw error;
      }
    }
    this.live.modules++;
    return { kind: 'module', ptx };
  }
  moduleGetFunction(module: CudaHandle, name: string): CudaHandle {
    this.#call('moduleGetFunction');
    const ptx = (module as { ptx: string }).ptx;
    if (!ptx.includes(`.visible .entry ${name}(`))
      throw new CudaDriverError('cuModuleGetFunction', 500, 'CUDA_ERROR_NOT_FOUND');
    return { kind: 'function', name, ptx };
  }
  moduleUnload(): void {
    this.#call('moduleUnload');
    this.live.modules--;
  }
  memAlloc(bytes: number): DevicePointer {
    this.#call('memAlloc');
    const base = this.#next;
    this.#next += BigInt(Math.ceil(bytes / 256) * 256 + 256);
    this.#memory.set(base, { base, bytes: new Uint8Array(bytes) });
    this.live.allocations++;
    return base;
  }
  memFree(pointer: DevicePointer): void {
    this.#call('memFree');
    if (!this.#memory.delete(pointer)) throw new CudaDriverError('cuMemFree', 1, 'CUDA_ERROR_INVALID_VALUE');
    this.live.allocations--;
  }
  memsetD32Async(pointer: DevicePointer, value: number, count: number): void {
    this.#call('memsetD32Async');
    const target = this.#resolve(pointer, count * 4);
    new DataView(target.buffer, target.byteOffset, target.byteLength).setInt32(0, value | 0, true);
  }
  memcpyHtoDAsync(destination: DevicePointer, source: Uint8Array): void {
    this.#call('memcpyHtoDAsync');
    this.#resolve(destination, source.length).set(source);
  }
  memcpyDtoHAsync(destination: Uint8Array, source: DevicePointer): void {
    this.#call('memcpyDtoHAsync');
    destination.set(this.#resolve(source, destination.length));
  }
  memcpyDtoDAsync(destination: DevicePointer, source: DevicePointer, bytes: number): void {
    this.#call('memcpyDtoDAsync');
    this.#resolve(destination, bytes).set(this.#resolve(source, bytes));
  }
  hostRegister(): boolean {
    this.#call('hostRegister');
    this.live.registrations++;
    return true;
  }
  hostUnregister(): void {
    this.#call('hostUnregister');
    this.live.registrations--;
  }
  launch(fn: CudaHandle, shape: LaunchShape, _stream: CudaHandle, args: readonly KernelArg[]): void {
    this.#call('launch');
    this.launches++;
    const slow = this.#options.slowLaunch;
    if (slow !== undefined && this.launches >= slow.from) Atomics.wait(SLEEPER, 0, 0, slow.ms);
    const { name, ptx } = fn as { name: string; ptx: string };
    const u64 = (i: number): bigint => (args[i] as { value: bigint }).value;
    const u32 = (i: number): number => (args[i] as { value: number }).value;
    if (shape.blockX % 32 !== 0 || shape.blockX < 64 || shape.gridX < 1)
      throw new CudaDriverError('cuLaunchKernel', 1, 'CUDA_ERROR_INVALID_VALUE', ' (fake: shape)');
    if (this.#options.execute === 'ptx') {
      this.#interpret(name, ptx, shape, args);
      return;
    }
    const image = this.#imageAt(u64(0));
    if (name === PTX_ENTRIES['dense-f32'][0]) {
      if (shape.sharedBytes < denseSharedBytes(image.getUint32(DENSE_DESCRIPTOR.widest, true)))
        throw new CudaDriverError('cuLaunchKernel', 1, 'CUDA_ERROR_INVALID_VALUE', ' (fake: shared)');
      emulateDense(image, (p, n) => this.#resolve(p, n), u64(1), u64(2), u32(3));
      return;
    }
    const d = LINNOS_DESCRIPTOR;
    const need = linnosSharedBytes(image.getUint32(d.inputs, true), image.getUint32(d.widest, true));
    if (shape.sharedBytes < need || args.length !== 5)
      throw new CudaDriverError('cuLaunchKernel', 1, 'CUDA_ERROR_INVALID_VALUE', ' (fake: shared/args)');
    emulateLinnos(image, (p, n) => this.#resolve(p, n), name === 'linnos_scores', {
      xs: u64(1),
      out: u64(2),
      n: u32(3),
      status: u64(4),
    });
  }
  unload(): void {}

  #interpret(name: string, ptx: string, shape: LaunchShape, args: readonly KernelArg[]): void {
    const gridX = Math.min(shape.gridX, this.#options.maxGridX ?? shape.gridX);
    const blockX = this.#options.blockX ?? shape.blockX;
    const memory = [...this.#memory.values()].map((a) => ({ base: Number(a.base), bytes: a.bytes }));
    try {
      const report = ptxProgram(ptx).launch(name, {
        gridX,
        blockX,
        sharedBytes: shape.sharedBytes,
        args,
        memory,
      });
      this.ptxLaunches.push({ ...report, entry: name, gridX, blockX });
    } catch (error) {
      if (error instanceof PtxFault) this.ptxFaults.push(error);
      throw error;
    }
  }

  #imageAt(pointer: DevicePointer): DataView {
    const allocation = this.#memory.get(pointer);
    if (allocation === undefined) throw new CudaDriverError('cuLaunchKernel', 1, 'CUDA_ERROR_INVALID_VALUE');
    return new DataView(allocation.bytes.buffer, allocation.bytes.byteOffset, allocation.bytes.length);
  }
}

type Resolve = (pointer: DevicePointer, bytes: number) => Uint8Array;

/** linnos_predict / linnos_scores as the PTX computes them, one block (vector) after another. */
export function emulateLinnos(
  image: DataView,
  resolve: Resolve,
  scores: boolean,
  p: { xs: bigint; out: bigint; n: number; status: bigint },
): void {
  const d = LINNOS_DESCRIPTOR;
  const u32 = (at: number): number => image.getUint32(at, true);
  const s16 = (at: number): number => image.getInt16(at, true);
  const inputs = u32(d.inputs);
  const width0 = u32(d.width0);
  const outIn = u32(d.outputInputs);
  const statusView = resolve(p.status, 4);
  const status = new DataView(statusView.buffer, statusView.byteOffset, 4);
  const xs = resolve(p.xs, p.n * inputs);
  const out = resolve(p.out, p.n * (scores ? 8 : 1));
  const outView = new DataView(out.buffer, out.byteOffset, out.length);
  for (let v = 0; v < p.n; v++) {
    const digits = xs.subarray(v * inputs, (v + 1) * inputs);
    if (digits.some((digit) => digit > 9)) {
      status.setInt32(0, Math.min(status.getInt32(0, true), v), true);
      continue;
    }
    let h = new Int32Array(width0);
    for (let j = 0; j < width0; j++) {
      let acc = s16(u32(d.bias0Offset) + 2 * j);
      for (let i = 0; i < inputs; i++)
        acc = (acc + s16(u32(d.tableOffset) + ((i * 10 + digits[i]!) * width0 + j) * 2)) | 0;
      h[j] = Math.max((acc << 16) >> 16, 0);
    }
    for (let l = 0; l < u32(d.hiddenCount); l++) {
      const at = d.hidden + l * d.hiddenBytes;
      const [inW, outW, shift, weights, bias] = [0, 4, 8, 12, 16].map((o) => u32(at + o)) as [
        number,
        number,
        number,
        number,
        number,
      ];
      const next = new Int32Array(outW);
      for (let j = 0; j < outW; j++) {
        let acc = 0;
        for (let k = 0; k < inW; k++) acc = (acc + Math.imul(h[k]!, s16(weights + (k * outW + j) * 2))) | 0;
        acc = (acc + image.getInt32(bias + 4 * j, true)) | 0;
        next[j] = Math.max(Math.min(acc >> shift, 32767), 0);
      }
      h = next;
    }
    const o = [0, 1].map((c) => {
      const lanes = new Int32Array(32);
      for (let lane = 0; lane < 32; lane++)
        for (let k = lane; k < outIn; k += 32)
          lanes[lane] =
            (lanes[lane]! + Math.imul(h[k]!, s16(u32(d.outputWeightsOffset) + (c * outIn + k) * 2))) | 0;
      for (const delta of [16, 8, 4, 2, 1])
        for (let lane = 0; lane + delta < 32; lane++) lanes[lane] = (lanes[lane]! + lanes[lane + delta]!) | 0;
      return (lanes[0]! + image.getInt32(u32(d.outputBiasOffset) + 4 * c, true)) | 0;
    }) as [number, number];
    if (!scores) out[v] = o[1] > o[0] ? 1 : 0;
    else {
      const scale = image.getFloat64(d.outputScale, true);
      outView.setFloat32(v * 8, o[0] / scale, true);
      outView.setFloat32(v * 8 + 4, o[1] / scale, true);
    }
  }
}

/** dense_forward as the PTX computes it. */
export function emulateDense(image: DataView, resolve: Resolve, xsAt: bigint, ysAt: bigint, n: number): void {
  const d = DENSE_DESCRIPTOR;
  const u32 = (at: number): number => image.getUint32(at, true);
  const f32 = (at: number): number => image.getFloat32(at, true);
  const layers = u32(d.layerCount);
  const inputs = u32(d.inputs);
  const outputs = u32(d.outputs);
  const xsBytes = resolve(xsAt, n * inputs * 4);
  const ysBytes = resolve(ysAt, n * outputs * 4);
  const xs = new DataView(xsBytes.buffer, xsBytes.byteOffset, xsBytes.length);
  const ys = new DataView(ysBytes.buffer, ysBytes.byteOffset, ysBytes.length);
  for (let v = 0; v < n; v++) {
    let a = Float32Array.from({ length: inputs }, (_, i) => xs.getFloat32((v * inputs + i) * 4, true));
    for (let l = 0; l < layers; l++) {
      const at = d.layers + l * d.layerBytes;
      const [inW, outW, weights, bias] = [u32(at), u32(at + 4), u32(at + 8), u32(at + 12)];
      const b = new Float32Array(outW);
      for (let j = 0; j < outW; j++) {
        let sum = f32(bias + 4 * j);
        for (let k = 0; k < inW; k++) sum += f32(weights + (k * outW + j) * 4) * a[k]!;
        if (l + 1 < layers && sum < 0) sum = 0;
        if (l + 1 === layers) ys.setFloat32((v * outW + j) * 4, sum, true);
        else b[j] = sum;
      }
      a = b;
    }
  }
}

export { STATUS_CLEAN };
