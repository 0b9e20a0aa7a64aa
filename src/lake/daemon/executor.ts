import { LakeError } from '../../errors.js';
import { type KernelSetSpec, kernelSetById } from '../backends/kernel-sets.js';
import { decodeModelImage } from '../backends/model-image.js';
import type { BackendDevice, DeviceInfo, DeviceModule } from '../backends/types.js';
import type { ShmArena } from '../shm/arena.js';
import type { CommandIo } from './channel.js';
import {
  Api,
  apiName,
  type DeviceFaultReply,
  LAUNCH_FIXED_ARGS,
  MAX_FAULT_TEXT,
  MAX_KERNEL_ARGS,
  TEXT_BYTES,
} from './protocol.js';

/** How the executor reaches its host: lakeD beats and can hang or die; lakeLib's inline path cannot. */
export interface ExecutorHost {
  /** Called before every kernel block and every sleep slice: lakeD's heartbeat. */
  beat(): void;
  /** An injected hang (Api.debugHang). */
  hang(): void;
  /** An injected crash (Api.debugCrash). */
  crash(): void;
  /**
   * Whether synchronise replies report device faults: true on lakeD. lakeLib's inline path serves GPU
   * backends on their CPU paths by design, which is no fault of the device, so it reports none.
   */
  readonly reportsFaults?: boolean;
}

interface Region {
  readonly ptr: number;
  readonly bytes: number;
  readonly context: number;
}

interface LoadedModule {
  readonly context: number;
  readonly spec: KernelSetSpec;
  readonly module: DeviceModule;
}

interface BoundFunction {
  readonly module: number;
  readonly index: number;
}

const MAX_GRID = 65_535;
/**
 * Blocks one launch may run. lakeD runs a launch's blocks one after another on its core, so the grid's
 * product, not each dimension, bounds the work: 65,535^3 blocks would keep lakeD busy for ever (beating,
 * so no watchdog would notice). lake's own launches use one block.
 */
export const MAX_BLOCKS = 65_536;
/** The longest debugSleep (an injected slow command, for tests). */
export const MAX_DEBUG_SLEEP_MS = 60_000;
const SLEEP_SLICE_MS = 5;

/**
 * Runs commands against the backends: the body of lakeD, and of lakeLib's inline path (the same code, so
 * that work finished inline after lakeD dies gives the same bytes). Ids (contexts, modules, functions,
 * streams) are chosen by lakeLib, so that it can replay its state into a fresh executor. Every bad argument
 * is a LakeError; the caller turns it into a status (lakeD) or throws it (inline).
 */
export class CommandExecutor {
  readonly #arena: ShmArena;
  readonly #devices: readonly BackendDevice[];
  readonly #host: ExecutorHost;
  readonly #contexts = new Map<number, number>();
  /** Device memory regions by start, and the starts sorted for lookups of an inner pointer. */
  readonly #regions = new Map<number, Region>();
  #starts: number[] = [];
  readonly #modules = new Map<number, LoadedModule>();
  readonly #functions = new Map<number, BoundFunction>();
  readonly #streams = new Map<number, number>();

  constructor(arena: ShmArena, devices: readonly BackendDevice[], host: ExecutorHost) {
    this.#arena = arena;
    this.#devices = devices;
    this.#host = host;
  }

  execute(io: CommandIo): void {
    const a = io.args;
    switch (io.api) {
      case Api.noop:
        return;
      case Api.contextSynchronize:
        // lakeD serves in order: by the time a synchronise runs, everything before it has.
        this.#reportFault(io, this.#contexts.get(a[0]!));
        return;
      case Api.streamSynchronize: {
        const context = this.#streams.get(a[0]!);
        this.#reportFault(io, context === undefined ? undefined : this.#contexts.get(context));
        return;
      }
      case Api.deviceCount:
        io.result[0] = this.#devices.length;
        return;
      case Api.deviceGet:
        io.writeText(replyText(this.deviceInfo(a[0]!)));
        return;
      case Api.contextCreate:
        this.#contextCreate(a[0]!, a[1]!);
        return;
      case Api.contextDestroy:
        this.#contextDestroy(a[0]!);
        return;
      case Api.moduleLoad:
        this.#moduleLoad(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!);
        return;
      case Api.moduleUnload:
        this.#moduleUnload(a[0]!);
        return;
      case Api.moduleGetFunction:
        io.result[0] = this.#getFunction(a[0]!, a[1]!, io.readText());
        return;
      case Api.launch:
        this.#launch(a);
        return;
      case Api.memAlloc:
        this.#memAlloc(a[0]!, a[1]!, a[2]!);
        return;
      case Api.memFree:
        this.#memFree(a[0]!);
        return;
      case Api.memcpyHtoD:
      case Api.memcpyHtoDAsync:
        this.#copy('to-device', a[0]!, a[1]!, a[2]!);
        return;
      case Api.memcpyDtoH:
      case Api.memcpyDtoHAsync:
        this.#copy('from-device', a[0]!, a[1]!, a[2]!);
        return;
      case Api.streamCreate:
        this.#context(a[0]!);
        if (this.#streams.has(a[1]!)) throw usage(`stream ${a[1]} exists`);
        this.#streams.set(a[1]!, a[0]!);
        return;
      case Api.streamDestroy:
        if (!this.#streams.delete(a[0]!)) throw usage(`stream ${a[0]} does not exist`);
        return;
      case Api.debugSleep:
        this.#sleep(a[0]!);
        return;
      case Api.debugHang:
        this.#host.hang();
        return;
      case Api.debugCrash:
        this.#host.crash();
        return;
      default:
        throw new LakeError('LAKE_E_USAGE', `unknown command ${apiName(io.api)}`);
    }
  }

  deviceInfo(index: number): DeviceInfo {
    const device = this.#devices[index];
    if (device === undefined) throw usage(`device ${index} does not exist (${this.#devices.length} devices)`);
    return {
      index,
      name: device.name,
      backend: device.backend,
      kind: device.kind,
      capabilities: [...device.capabilities],
      ...(device.fault !== undefined ? { fault: device.fault } : {}),
    };
  }

  /**
   * A synchronise's reply: result[0] = 1 and the fault as DeviceFaultReply JSON when the device has left
   * its accelerator, else 0 (slots are reused, so the word is always written). The batch's own synchronise
   * carries the news, so the client's contention policy learns of a fault when the batch it happened in
   * completes, without a round trip of its own.
   */
  #reportFault(io: CommandIo, index: number | undefined): void {
    const device = index === undefined ? undefined : this.#devices[index];
    const fault = this.#host.reportsFaults === true ? device?.fault : undefined;
    if (fault === undefined || device === undefined) {
      io.result[0] = 0;
      return;
    }
    io.result[0] = 1;
    const reply: DeviceFaultReply = { device: index!, backend: device.backend, fault };
    io.writeText(replyText(reply));
  }

  /** Unloads every module (a backend may hold native resources). */
  close(): void {
    for (const loaded of this.#modules.values()) loaded.module.unload();
    this.#modules.clear();
    for (const device of this.#devices) device.close();
  }

  #context(id: number): BackendDevice {
    const device = this.#contexts.get(id);
    if (device === undefined) throw usage(`context ${id} does not exist`);
    return this.#devices[device]!;
  }

  #contextCreate(id: number, device: number): void {
    if (this.#devices[device] === undefined)
      throw usage(`device ${device} does not exist (${this.#devices.length} devices)`);
    if (this.#contexts.has(id)) throw usage(`context ${id} exists`);
    this.#contexts.set(id, device);
  }

  #contextDestroy(id: number): void {
    const device = this.#context(id);
    for (const [moduleId, loaded] of this.#modules) if (loaded.context === id) this.#moduleUnload(moduleId);
    for (const region of [...this.#regions.values()]) {
      if (region.context === id) {
        device.releaseMemory(region.ptr);
        this.#regions.delete(region.ptr);
      }
    }
    this.#starts = [...this.#regions.keys()].sort((x, y) => x - y);
    for (const [stream, context] of this.#streams) if (context === id) this.#streams.delete(stream);
    this.#contexts.delete(id);
  }

  #moduleLoad(context: number, id: number, kernelSetId: number, imagePtr: number, imageBytes: number): void {
    const device = this.#context(context);
    if (this.#modules.has(id)) throw usage(`module ${id} exists`);
    const spec = kernelSetById(kernelSetId);
    if (!this.#arena.inHeap(imagePtr, imageBytes))
      throw usage(`module image [${imagePtr}, +${imageBytes}) is outside lakeShm`);
    const model = decodeModelImage(this.#arena.bytes(imagePtr, imageBytes), `module ${id} image`);
    this.#modules.set(id, { context, spec, module: device.loadModule(spec.name, model) });
  }

  #moduleUnload(id: number): void {
    const loaded = this.#modules.get(id);
    if (loaded === undefined) throw usage(`module ${id} is not loaded`);
    loaded.module.unload();
    this.#modules.delete(id);
    for (const [fn, bound] of this.#functions) if (bound.module === id) this.#functions.delete(fn);
  }

  #getFunction(moduleId: number, fn: number, name: string): number {
    const loaded = this.#modules.get(moduleId);
    if (loaded === undefined) throw usage(`module ${moduleId} is not loaded`);
    const index = loaded.spec.functions.findIndex((f) => f.name === name);
    if (index < 0) {
      const have = loaded.spec.functions.map((f) => f.name).join(', ');
      throw usage(`module ${moduleId} (${loaded.spec.name}) has no function '${name}' (has ${have})`);
    }
    if (this.#functions.has(fn)) throw usage(`function ${fn} exists`);
    this.#functions.set(fn, { module: moduleId, index });
    return index;
  }

  #launch(a: Float64Array): void {
    const bound = this.#functions.get(a[0]!);
    if (bound === undefined) throw usage(`launch: function ${a[0]} does not exist`);
    const loaded = this.#modules.get(bound.module)!;
    const spec = loaded.spec.functions[bound.index]!;
    const blocks = a[1]! * a[2]! * a[3]!;
    for (let d = 1; d <= 3; d++) {
      if (!Number.isSafeInteger(a[d]!) || a[d]! < 1 || a[d]! > MAX_GRID) {
        throw usage(`launch ${spec.name}: grid dimension ${d - 1} is ${a[d]}, not in [1, ${MAX_GRID}]`);
      }
    }
    if (blocks > MAX_BLOCKS)
      throw usage(`launch ${spec.name}: a grid of ${blocks} blocks, more than the ${MAX_BLOCKS} lakeD runs`);
    const argc = a[4]!;
    if (argc !== spec.params.length || argc > MAX_KERNEL_ARGS) {
      throw usage(`launch ${spec.name}: ${argc} arguments for ${spec.params.length} parameters`);
    }
    const args = a.subarray(LAUNCH_FIXED_ARGS, LAUNCH_FIXED_ARGS + argc);
    for (const range of loaded.module.ranges(bound.index, args)) {
      this.#checkDevice(range.ptr, range.bytes, `launch ${loaded.spec.name}.${spec.name}: ${range.param}`);
    }
    for (let block = 0; block < blocks; block++) {
      this.#host.beat();
      loaded.module.runBlock(bound.index, args, block, blocks);
    }
  }

  #memAlloc(context: number, ptr: number, bytes: number): void {
    const device = this.#context(context);
    if (!this.#arena.inHeap(ptr, bytes) || bytes <= 0)
      throw usage(`memAlloc: [${ptr}, +${bytes}) is not a lakeShm region`);
    const overlapping =
      this.#regionAt(ptr) ?? this.#starts.find((start) => start > ptr && start < ptr + bytes);
    if (overlapping !== undefined) throw usage(`memAlloc: [${ptr}, +${bytes}) overlaps device memory`);
    device.adoptMemory(ptr, bytes);
    this.#regions.set(ptr, { ptr, bytes, context });
    this.#starts = [...this.#regions.keys()].sort((x, y) => x - y);
  }

  #memFree(ptr: number): void {
    const region = this.#regions.get(ptr);
    if (region === undefined) throw usage(`memFree: ${ptr} is not device memory`);
    this.#context(region.context).releaseMemory(ptr);
    this.#regions.delete(ptr);
    this.#starts = [...this.#regions.keys()].sort((x, y) => x - y);
  }

  #copy(direction: 'to-device' | 'from-device', destination: number, source: number, bytes: number): void {
    const name = direction === 'to-device' ? 'memcpyHtoD' : 'memcpyDtoH';
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw usage(`${name}: byte count ${bytes}`);
    const devicePtr = direction === 'to-device' ? destination : source;
    const hostPtr = direction === 'to-device' ? source : destination;
    const region = this.#checkDevice(devicePtr, bytes, `${name}: device side`);
    if (!this.#arena.inHeap(hostPtr, bytes))
      throw usage(`${name}: host side [${hostPtr}, +${bytes}) is outside lakeShm`);
    const device = this.#context(region.context);
    if (direction === 'to-device') device.copyToDevice(devicePtr, hostPtr, bytes);
    else device.copyFromDevice(hostPtr, devicePtr, bytes);
  }

  /** The region holding all of [ptr, ptr + bytes), or a LakeError naming `what`. */
  #checkDevice(ptr: number, bytes: number, what: string): Region {
    const region = this.#regionAt(ptr);
    if (region === undefined || !Number.isSafeInteger(bytes) || ptr + bytes > region.ptr + region.bytes) {
      throw usage(`${what}: [${ptr}, +${bytes}) is not inside device memory`);
    }
    return region;
  }

  #regionAt(ptr: number): Region | undefined {
    const starts = this.#starts;
    let lo = 0;
    let hi = starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]! <= ptr) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return undefined;
    const region = this.#regions.get(starts[found]!)!;
    return ptr < region.ptr + region.bytes ? region : undefined;
  }

  #sleep(ms: number): void {
    if (!(ms >= 0 && ms <= MAX_DEBUG_SLEEP_MS))
      throw usage(`debugSleep: ${ms} ms is not in [0, ${MAX_DEBUG_SLEEP_MS}]`);
    const wait = new Int32Array(new SharedArrayBuffer(4));
    const end = performance.now() + ms;
    for (let left = ms; left > 0; left = end - performance.now()) {
      this.#host.beat();
      Atomics.wait(wait, 0, 0, Math.min(left, SLEEP_SLICE_MS));
    }
  }
}

function usage(message: string): LakeError {
  return new LakeError('LAKE_E_USAGE', message);
}

/**
 * A reply's JSON whose `fault` (a device's own account, of any length) is cut, marked '...', to
 * MAX_FAULT_TEXT characters and further until the JSON fits a slot's text in UTF-8: a character may take
 * up to 3 bytes and escape to 6 in JSON, and the channel cuts a longer text mid-JSON, which lakeLib could
 * not read. Only a faulted device's replies pay for the measuring.
 */
function replyText<Reply extends { readonly fault?: string }>(reply: Reply): string {
  const fault = reply.fault;
  if (fault === undefined) return JSON.stringify(reply);
  let kept = fault.length > MAX_FAULT_TEXT ? MAX_FAULT_TEXT - 3 : fault.length;
  for (;;) {
    const text = JSON.stringify({
      ...reply,
      fault: kept === fault.length ? fault : `${fault.slice(0, kept)}...`,
    });
    const bytes = Buffer.byteLength(text);
    if (bytes <= TEXT_BYTES || kept === 0) return text;
    kept = Math.max(0, Math.min(kept - 1, Math.floor((kept * TEXT_BYTES) / bytes)));
  }
}
