import { LakeError } from '../../../errors.js';
import type { DenseModel } from '../../../models/dense.js';
import type { ShmArena } from '../../shm/arena.js';
import { CpuWasmBackend, share } from '../cpu-wasm/device.js';
import { type KernelSetName, kernelSetByName } from '../kernel-sets.js';
import type { BackendDevice, DeviceModule, DeviceRange } from '../types.js';
import { HostLink } from './link.js';
import { denseProgram, linnosProgram } from './program.js';
import type { AdapterSummary, DirtyRange, FaultKind, HostReply, HostRequest } from './protocol.js';

const NAME = 'webgpu';
/** Starting Dawn: the thread, the module, an adapter and a device (a software adapter takes longest). */
const INIT_TIMEOUT_MS = 20_000;
/** Compiling a module's pipelines (llvmpipe compiles WGSL to LLVM IR, then to native code). */
const LOAD_TIMEOUT_MS = 20_000;
const CALL_TIMEOUT_MS = 10_000;
/** Host-side writes remembered for the next dispatch before they are sent on their own. */
const MAX_DIRTY = 64;
/**
 * A request's scratch buffer stays under this (WebGPU's default maxStorageBufferBindingSize is 128 MiB,
 * compatibility mode's too), so any batch runs, in chunks of at most MAX_CHUNK_ROWS rows.
 */
const SCRATCH_BYTES = 64 << 20;
const MAX_CHUNK_ROWS = 4096;

export interface WebGpuDeviceOptions {
  /** Serve lakeLib's inline path: never start Dawn, run every kernel on the CPU path. */
  inline: boolean;
  /** Use a software adapter (llvmpipe) if that is all Dawn finds; otherwise such a device is unusable. */
  allowSoftware: boolean;
  /** lakeD's heartbeat, called while waiting on the GPU thread. */
  beat?: (() => void) | undefined;
  /** How long a request other than init or a module load may wait for the GPU thread (default 10 s). */
  callTimeoutMs?: number;
}

/** What the device has done (tests, measurements). */
export interface WebGpuDeviceStats {
  /** Batches the GPU computed, and batches the CPU path computed (after a fault, or inline). */
  gpuBatches: number;
  cpuBatches: number;
  /**
   * Wall time lakeD's thread spent on GPU batches, us: the device's own busy time. lakeD's busy counter,
   * which the contention policy samples (UtilisationMonitor), includes it, since a batch blocks lakeD.
   */
  busyMicros: number;
  /** Of that, the GPU's own time from submit to results mapped, us. */
  gpuMicros: number;
}

/**
 * The WebGPU device: Dawn on its own thread (gpu-host.ts), buffers mirroring every adopted lakeShm region.
 * lakeShm stays the authoritative copy: host-side copies write it at once and mark the range dirty (sent
 * with the next dispatch, so a batch costs one round trip), and each launch writes its results into
 * lakeShm and the mirror before it returns, so that lakeLib can finish work inline from lakeShm if lakeD
 * dies. Every module also holds its cpu-wasm twin: any GPU fault (device lost, a WebGPU error, the GPU
 * thread gone, a timeout) finishes that batch on the CPU and marks the device unusable, so no decision is
 * ever lost; later batches run on the CPU path.
 */
export class WebGpuDevice implements BackendDevice {
  readonly backend = NAME;
  readonly kind = 'gpu';
  readonly #arena: ShmArena;
  readonly #cpu: BackendDevice;
  readonly #beat: (() => void) | undefined;
  readonly #callTimeoutMs: number;
  #link: HostLink | undefined;
  #adapter: AdapterSummary | undefined;
  #fault: string | undefined;
  #dirty: DirtyRange[] = [];
  #nextModule = 1;
  readonly #stats: WebGpuDeviceStats = { gpuBatches: 0, cpuBatches: 0, busyMicros: 0, gpuMicros: 0 };

  constructor(arena: ShmArena, options: WebGpuDeviceOptions) {
    this.#arena = arena;
    this.#cpu = new CpuWasmBackend().open(arena);
    this.#beat = options.beat;
    this.#callTimeoutMs = options.callTimeoutMs ?? CALL_TIMEOUT_MS;
    if (options.inline) {
      this.#fault =
        "lakeLib's inline path: the CPU path serves it (Dawn never starts on the caller's thread)";
      return;
    }
    const link = new HostLink(arena.buffer);
    const reply = link.call({ op: 'init' }, INIT_TIMEOUT_MS, options.beat);
    if (!reply.ok || reply.adapter === undefined) {
      link.close(CALL_TIMEOUT_MS);
      this.#fault = `Dawn could not open a device: ${reply.ok ? 'no adapter' : reply.message}`;
      return;
    }
    this.#adapter = reply.adapter;
    if (reply.adapter.software && !options.allowSoftware) {
      link.close(CALL_TIMEOUT_MS);
      this.#fault = 'Dawn found only a software adapter, which lakeD uses only when allowed';
      return;
    }
    this.#link = link;
  }

  get name(): string {
    const adapter = this.#adapter;
    const what = adapter === undefined ? 'webgpu' : `webgpu (${adapterName(adapter)})`;
    return this.#fault === undefined
      ? what
      : `${what}, unusable: ${this.#fault}; batches run on the CPU path`;
  }

  get capabilities(): readonly string[] {
    const software = this.#adapter?.software === true ? ['software-adapter'] : [];
    const path = this.#link !== undefined ? ['wgsl', 'int32', 'f32'] : ['cpu-path'];
    return [...path, ...software, 'linnos', 'dense-f32', 'mirrors-shared-memory'];
  }

  /** The adapter Dawn chose; undefined when it opened none. */
  get adapter(): AdapterSummary | undefined {
    return this.#adapter;
  }

  /** Why the device runs on the CPU path; undefined while the GPU serves. */
  get fault(): string | undefined {
    return this.#fault;
  }

  get stats(): WebGpuDeviceStats {
    return { ...this.#stats };
  }

  adoptMemory(ptr: number, bytes: number): void {
    this.#cpu.adoptMemory(ptr, bytes);
    this.#send({ op: 'adopt', ptr, bytes }, this.#callTimeoutMs);
  }

  releaseMemory(ptr: number): void {
    this.#cpu.releaseMemory(ptr);
    this.#dirty = this.#dirty.filter(([at]) => at !== ptr);
    this.#send({ op: 'release', ptr }, this.#callTimeoutMs);
  }

  copyToDevice(devicePtr: number, hostPtr: number, bytes: number): void {
    this.#arena.copy(devicePtr, hostPtr, bytes);
    this.#markDirty(devicePtr, bytes);
  }

  copyFromDevice(hostPtr: number, devicePtr: number, bytes: number): void {
    // lakeShm is current after every launch: reading it is the copy.
    this.#arena.copy(hostPtr, devicePtr, bytes);
  }

  copyOnDevice(destination: number, source: number, bytes: number): void {
    this.#arena.copy(destination, source, bytes);
    this.#markDirty(destination, bytes);
  }

  loadModule(kernelSet: KernelSetName, model: DenseModel): DeviceModule {
    kernelSetByName(kernelSet);
    const cpu = this.#cpu.loadModule(kernelSet, model);
    const id = this.#nextModule++;
    const program = kernelSet === 'linnos' ? linnosProgram(model) : denseProgram(model);
    const onGpu = this.#send({ op: 'load', id, program }, LOAD_TIMEOUT_MS);
    const first = model.layers[0]!;
    const last = model.layers[model.layers.length - 1]!;
    // Scratch words per row: two activation areas of the widest (padded) layer and the results (at most
    // as wide), bounded by 3 x widest.
    const widest = Math.max(...model.layers.map((layer) => Math.ceil(layer.outputs / 32) * 32));
    const chunkRows = Math.max(1, Math.min(MAX_CHUNK_ROWS, Math.floor(SCRATCH_BYTES / (4 * 3 * widest))));
    return new WebGpuModule(this, kernelSet, id, onGpu, cpu, first.inputs, last.outputs, chunkRows);
  }

  /** Runs block `block` of a launch on the GPU, or on the CPU path when the GPU is gone or fails now. */
  run(module: WebGpuModule, fn: number, args: Float64Array, block: number, blocks: number): void {
    const started = performance.now();
    const n = args[2]!;
    const [from, to] = share(n, block, blocks);
    if (to <= from) return;
    if (this.#link === undefined || !module.onGpu || !this.#inputValid(module, args, fn, from, to)) {
      // No GPU, or input the kernels do not take: the CPU path computes it (and raises cpu-wasm's own
      // error for a bad digit or a misaligned f32 array), so the GPU never decides what cpu-wasm rejects.
      this.#stats.cpuBatches++;
      module.cpu.runBlock(fn, args, block, blocks);
      return;
    }
    // Chunks keep the scratch buffer of a request within every adapter's storage binding limit.
    for (let start = from; start < to; start += module.chunkRows) {
      const rows = Math.min(module.chunkRows, to - start);
      const xs = args[0]! + start * module.inputBytes;
      const out = args[1]! + start * module.outputBytes(fn);
      const request: HostRequest = { op: 'run', id: module.id, fn, xs, out, n: rows, dirty: this.#dirty };
      this.#dirty = [];
      const reply = this.#link.call(request, this.#callTimeoutMs, this.#beat);
      if (!reply.ok) {
        this.#markFault(reply.message);
        this.#stats.cpuBatches++;
        module.cpu.runBlock(fn, args, block, blocks);
        return;
      }
      this.#stats.gpuMicros += reply.gpuMicros ?? 0;
    }
    this.#stats.gpuBatches++;
    this.#stats.busyMicros += (performance.now() - started) * 1000;
  }

  unloadModule(module: WebGpuModule): void {
    module.cpu.unload();
    if (module.onGpu) this.#send({ op: 'unload', id: module.id }, this.#callTimeoutMs);
  }

  /** Test hook: makes the GPU fail as a real fault would (Dawn's device lost, its thread gone or hung). */
  injectFault(kind: FaultKind): void {
    this.#send({ op: 'fault', kind }, this.#callTimeoutMs);
  }

  close(): void {
    this.#link?.close(this.#callTimeoutMs);
    this.#link = undefined;
    this.#cpu.close();
  }

  #markDirty(ptr: number, bytes: number): void {
    if (this.#link === undefined || bytes <= 0) return;
    this.#dirty.push([ptr, bytes]);
    if (this.#dirty.length >= MAX_DIRTY) {
      const dirty = this.#dirty;
      this.#dirty = [];
      this.#send({ op: 'flush', dirty }, this.#callTimeoutMs);
    }
  }

  /** A request whose failure is a fault; false when there is no GPU or it failed. */
  #send(request: HostRequest, timeoutMs: number): boolean {
    if (this.#link === undefined) return false;
    const reply: HostReply = this.#link.call(request, timeoutMs, this.#beat);
    if (!reply.ok) this.#markFault(reply.message);
    return reply.ok;
  }

  #markFault(message: string): void {
    this.#fault ??= `GPU fault: ${message}`;
    const link = this.#link;
    this.#link = undefined;
    this.#dirty = [];
    link?.close(this.#callTimeoutMs);
  }

  #inputValid(module: WebGpuModule, args: Float64Array, fn: number, from: number, to: number): boolean {
    const xs = args[0]!;
    if (module.kernelSet !== 'linnos') return xs % 4 === 0 && args[1]! % 4 === 0;
    if (fn !== 0 && args[1]! % 4 !== 0) return false;
    const digits = this.#arena.bytes(xs + from * module.inputBytes, (to - from) * module.inputBytes);
    for (let i = 0; i < digits.length; i++) if (digits[i]! > 9) return false;
    return true;
  }
}

function adapterName(adapter: AdapterSummary): string {
  const name = (adapter.device || adapter.description || adapter.vendor || 'unnamed adapter').trim();
  const software = adapter.software ? ', software: correctness only' : '';
  return `${name}, ${adapter.backend === 'default' ? 'native backend' : adapter.backend}${software}`;
}

/** A module on the WebGPU device: its GPU program and its cpu-wasm twin (ranges, bad input, faults). */
export class WebGpuModule implements DeviceModule {
  readonly kernelSet: KernelSetName;
  readonly id: number;
  readonly onGpu: boolean;
  readonly cpu: DeviceModule;
  /** Bytes per input row in lakeShm: u8 digits (linnos) or f32 values. */
  readonly inputBytes: number;
  /** Rows per GPU request (see SCRATCH_BYTES). */
  readonly chunkRows: number;
  readonly #outputs: number;
  readonly #device: WebGpuDevice;

  constructor(
    device: WebGpuDevice,
    kernelSet: KernelSetName,
    id: number,
    onGpu: boolean,
    cpu: DeviceModule,
    inputs: number,
    outputs: number,
    chunkRows: number,
  ) {
    this.#device = device;
    this.kernelSet = kernelSet;
    this.id = id;
    this.onGpu = onGpu;
    this.cpu = cpu;
    this.inputBytes = kernelSet === 'linnos' ? inputs : 4 * inputs;
    this.#outputs = outputs;
    this.chunkRows = chunkRows;
  }

  /** Bytes per output row: a u8 decision, two f32 logits, or the f32 outputs. */
  outputBytes(fn: number): number {
    if (this.kernelSet !== 'linnos') return 4 * this.#outputs;
    return fn === 0 ? 1 : 8;
  }

  ranges(fn: number, args: Float64Array): readonly DeviceRange[] {
    return this.cpu.ranges(fn, args);
  }

  runBlock(fn: number, args: Float64Array, block: number, blocks: number): void {
    this.#device.run(this, fn, args, block, blocks);
  }

  unload(): void {
    this.#device.unloadModule(this);
  }
}

/** The error for opening a device the probe says cannot run here. */
export function unavailableError(reason: string): LakeError {
  return new LakeError('LAKE_E_USAGE', `backend ${NAME} cannot be opened: ${reason}`);
}
