import type { Worker } from 'node:worker_threads';
import { LakeError } from '../../errors.js';
import type { DenseModel } from '../../models/dense.js';
import { BACKENDS, openDevices } from '../backends/catalog.js';
import {
  type KernelFunctionSpec,
  type KernelSetName,
  type KernelSetSpec,
  kernelSetByName,
} from '../backends/kernel-sets.js';
import { modelImageBytes, writeModelImage } from '../backends/model-image.js';
import type { BackendReport, ComputeBackend, DeviceInfo } from '../backends/types.js';
import { loadBackendCatalog } from '../daemon/backend-catalog.js';
import { Channel, LocalCommand } from '../daemon/channel.js';
import { CommandExecutor, type ExecutorHost } from '../daemon/executor.js';
import {
  Api,
  ARG_COUNT,
  ASYNC_APIS,
  apiName,
  C_BUSY,
  C_BUSY_MICROS,
  C_CLIENT_WAITING,
  C_DAEMON_SLEEPING,
  C_DAEMON_STATE,
  C_DOORBELL,
  C_HEARTBEAT,
  codeOf,
  DaemonState,
  type DaemonWorkerData,
  DEFAULT_CLIENT_SPIN_MICROS,
  DEFAULT_DAEMON_SPIN_MICROS,
  LAUNCH_FIXED_ARGS,
  MAX_IN_FLIGHT,
  MAX_KERNEL_ARGS,
  RING_SLOTS,
  S_API,
  S_SEQ,
  S_STATE,
  S_STATUS,
  S_STREAM,
  S_TEXT_LENGTH,
  SlotState,
  STATUS_OK,
  statusOf,
} from '../daemon/protocol.js';
import { ShmArena } from '../shm/arena.js';
import { spawnWorker } from '../spawn-worker.js';
import { RingFullError } from './errors.js';
import { parseDeviceFault, parseDeviceInfo } from './replies.js';
import {
  type ContextHandle,
  type DaemonFailure,
  DEFAULT_STREAM,
  type DeviceFault,
  type DevicePtr,
  type FunctionHandle,
  type Grid,
  type HostPtr,
  type KernelArg,
  type LakeLibOptions,
  type LakeLibStats,
  type ModuleHandle,
  type StreamHandle,
  type UtilisationSample,
} from './types.js';

const DEFAULT_ARENA_BYTES = 64 << 20;
const DEFAULT_HANG_TIMEOUT_MS = 1000;
const DEFAULT_LOAD_TIMEOUT_MS = 10_000;
const DEFAULT_RING_FULL_WAIT_MS = 10_000;
const DEFAULT_MAX_RESTARTS = 5;
const DEFAULT_START_TIMEOUT_MS = 30_000;
/** A sleeping waiter wakes at least this often to check lakeD's heartbeat. */
const WAIT_SLICE_MS = 5;

/** One lakeD incarnation: its worker, its channel, and the client's view of its ring. */
class DaemonLink {
  readonly worker: Worker;
  readonly channel: Channel;
  readonly words: Int32Array;
  state: 'starting' | 'ready' | 'dead' = 'starting';
  /** Set by the worker's exit/error events (seen only when the event loop runs). */
  exited: string | undefined;
  /** Next sequence id to submit; the oldest not yet reaped. In flight = nextSeq - reapSeq. */
  nextSeq = 0;
  reapSeq = 0;
  lastBeat = -1;
  lastBeatAt = performance.now();
  /** Outcomes of sync commands finished inline after this incarnation died, by seq. */
  readonly outcomes = new Map<number, Outcome>();

  constructor(worker: Worker, channel: Channel) {
    this.worker = worker;
    this.channel = channel;
    this.words = channel.words;
  }
}

interface Outcome {
  status: number;
  result0: number;
  text: string;
}

interface ContextRecord {
  device: number;
}
interface RegionRecord {
  context: ContextHandle;
  bytes: number;
}
interface ModuleRecord {
  context: ContextHandle;
  spec: KernelSetSpec;
  image: HostPtr;
  imageBytes: number;
}
interface FunctionRecord {
  module: ModuleHandle;
  spec: KernelFunctionSpec;
  name: string;
}
interface StreamRecord {
  context: ContextHandle;
}

/** A state-building command, for replaying the client's state into a fresh executor or lakeD. */
interface ReplayCommand {
  api: number;
  args: number[];
  text?: string;
}

const inlineHost: ExecutorHost = { beat: () => {}, hang: () => {}, crash: () => {}, reportsFaults: false };

/**
 * lakeLib: the accelerator-style API of LAKE's kernel library (after the CUDA driver API), served by lakeD
 * through a command ring in shared memory (daemon/protocol.ts). Sync calls wait for their reply (spin, then
 * sleep) and throw the daemon's error with its code; async calls (launch, async copies) return at once and
 * their failures surface at the next synchronise of their stream or context.
 *
 * lakeLib holds the authoritative state (contexts, device memory, modules, functions, streams; it chooses
 * every id) so that when lakeD dies or hangs it can finish every outstanding command inline with the same
 * executor code, start a new lakeD, and replay its state into it. Until the new lakeD is up, calls run
 * inline. One LakeLib serves one thread.
 */
export class LakeLib {
  readonly arena: ShmArena;
  readonly #spin: boolean;
  readonly #clientSpinMs: number;
  readonly #daemonSpinMicros: number;
  readonly #hangTimeoutMs: number;
  readonly #loadTimeoutMs: number;
  readonly #ringFullWaitMs: number;
  readonly #maxRestarts: number;
  readonly #backends: readonly ComputeBackend[];
  readonly #backendCatalog: string | undefined;
  /** Faulted devices by index, as lakeD reported them; never cleared (see deviceFaults). */
  readonly #deviceFaults = new Map<number, DeviceFault>();
  #faultEpoch = 0;
  #daemon: DaemonLink | undefined;
  #inline: CommandExecutor | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** Scratch argument words of the call being made. */
  readonly #args = new Float64Array(ARG_COUNT);
  #outStatus = STATUS_OK;
  #outResult0 = 0;
  #outText = '';
  #nextId = 1;
  readonly #contexts = new Map<ContextHandle, ContextRecord>();
  readonly #regions = new Map<DevicePtr, RegionRecord>();
  readonly #modules = new Map<ModuleHandle, ModuleRecord>();
  readonly #functions = new Map<FunctionHandle, FunctionRecord>();
  readonly #streams = new Map<StreamHandle, StreamRecord>();
  readonly #streamErrors = new Map<StreamHandle, LakeError[]>();
  #restarts = 0;
  readonly #failures: DaemonFailure[] = [];
  #daemonCommands = 0;
  #inlineCommands = 0;
  #lastBusyMicros = 0;
  #lastSampleAt = performance.now();

  private constructor(options: LakeLibOptions, backends: readonly ComputeBackend[]) {
    this.#backends = backends;
    this.#backendCatalog = options.backendCatalog;
    this.arena = options.arena ?? ShmArena.create({ bytes: options.arenaBytes ?? DEFAULT_ARENA_BYTES });
    this.#spin = options.spin ?? process.env['LAKE_DISABLE_SPIN'] !== '1';
    this.#clientSpinMs =
      positive(options.clientSpinMicros, DEFAULT_CLIENT_SPIN_MICROS, 'clientSpinMicros') / 1000;
    this.#daemonSpinMicros = positive(
      options.daemonSpinMicros,
      DEFAULT_DAEMON_SPIN_MICROS,
      'daemonSpinMicros',
    );
    this.#hangTimeoutMs = positive(options.hangTimeoutMs, DEFAULT_HANG_TIMEOUT_MS, 'hangTimeoutMs');
    this.#loadTimeoutMs = positive(options.loadTimeoutMs, DEFAULT_LOAD_TIMEOUT_MS, 'loadTimeoutMs');
    this.#ringFullWaitMs = positive(options.ringFullWaitMs, DEFAULT_RING_FULL_WAIT_MS, 'ringFullWaitMs');
    this.#maxRestarts = positive(options.maxRestarts, DEFAULT_MAX_RESTARTS, 'maxRestarts');
  }

  /** Starts lakeD and waits until it serves. */
  static async open(options: LakeLibOptions = {}): Promise<LakeLib> {
    const catalog = options.backendCatalog;
    const lib = new LakeLib(options, catalog === undefined ? BACKENDS : await loadBackendCatalog(catalog));
    const startTimeoutMs = positive(options.startTimeoutMs, DEFAULT_START_TIMEOUT_MS, 'startTimeoutMs');
    const link = lib.#spawn();
    const deadline = performance.now() + startTimeoutMs;
    while (Atomics.load(link.words, C_DAEMON_STATE) !== DaemonState.ready) {
      if (link.exited !== undefined || performance.now() > deadline) {
        void link.worker.terminate();
        throw new LakeError(
          'LAKE_E_WORKER_CRASH',
          `lakeD did not start: ${link.exited ?? `not ready after ${startTimeoutMs} ms`}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    link.state = 'ready';
    const interval = Math.max(5, lib.#hangTimeoutMs / 2);
    lib.#watchdog = setInterval(() => lib.#tick(), interval);
    lib.#watchdog.unref();
    return lib;
  }

  /** Whether calls spin before sleeping (options.spin, else not LAKE_DISABLE_SPIN=1). */
  get spinning(): boolean {
    return this.#spin;
  }

  // --- devices ---

  /**
   * Capability detection of every backend, usable here or not (and why not). A backend whose device lakeD
   * reported faulted is not usable, whatever detection on this thread says, and the fault is the reason.
   */
  listBackends(): BackendReport[] {
    return this.#backends.map((backend) => {
      const report = backend.probe();
      const fault = [...this.#deviceFaults.values()].find((f) => f.backend === report.name);
      if (fault === undefined || !report.available) return report;
      return { ...report, available: false, reason: faultReason(fault) };
    });
  }

  /**
   * The devices lakeD reported faulted, each learned from the synchronise that ended the batch the fault
   * happened in (no round trip of its own). A fault sticks for this lakeLib's life, through lakeD
   * restarts: a restarted lakeD reopens the device, but a GPU that faulted once (an Xid, a lost device,
   * a flaky driver) is likely to fault again, and each fault costs a GPU-sized batch run on the CPU twin,
   * slower than inline, and a latency tail with it; a storage stack wants the predictable CPU path until
   * an operator restarts the process, not a device that flaps. Sticky CUDA errors also poison the whole
   * process, which lakeD's restart (a thread) does not leave.
   */
  deviceFaults(): DeviceFault[] {
    return [...this.#deviceFaults.values()];
  }

  /** Bumped at each newly learned device fault: a cheap check whether deviceFaults() changed. */
  get faultEpoch(): number {
    return this.#faultEpoch;
  }

  getDeviceCount(): number {
    return this.#call(Api.deviceCount, DEFAULT_STREAM, 0);
  }

  getDevice(index: number): DeviceInfo {
    this.#args[0] = index;
    this.#call(Api.deviceGet, DEFAULT_STREAM, 1);
    return parseDeviceInfo(this.#outText, index);
  }

  /** A sync round trip that does nothing: what LAKE's remoting benchmark times. */
  noop(): void {
    this.#call(Api.noop, DEFAULT_STREAM, 0);
  }

  // --- contexts ---

  contextCreate(device = 0): ContextHandle {
    const id = this.#nextId++;
    this.#args[0] = id;
    this.#args[1] = device;
    this.#call(Api.contextCreate, DEFAULT_STREAM, 2);
    this.#contexts.set(id, { device });
    return id;
  }

  /** Destroys the context with its device memory, modules and streams (their lakeShm regions are freed). */
  contextDestroy(context: ContextHandle): void {
    this.#contextRecord(context);
    this.#args[0] = context;
    this.#call(Api.contextDestroy, DEFAULT_STREAM, 1);
    for (const [ptr, region] of this.#regions) if (region.context === context) this.#dropRegion(ptr);
    for (const [id, module] of this.#modules) if (module.context === context) this.#dropModule(id);
    for (const [id, stream] of this.#streams) if (stream.context === context) this.#streams.delete(id);
    this.#contexts.delete(context);
  }

  /** Waits for everything submitted so far; throws the first async failure of the context's streams. */
  contextSynchronize(context: ContextHandle): void {
    this.#contextRecord(context);
    this.#args[0] = context;
    if (this.#call(Api.contextSynchronize, DEFAULT_STREAM, 1) !== 0) this.#noteFault(context);
    const streams = [DEFAULT_STREAM];
    for (const [id, stream] of this.#streams) if (stream.context === context) streams.push(id);
    this.#throwStreamErrors(streams);
  }

  // --- modules ---

  /** Loads a kernel set bound to a model (its image goes through lakeShm, as cuModuleLoadData's does). */
  moduleLoad(context: ContextHandle, kernelSet: KernelSetName, model: DenseModel): ModuleHandle {
    this.#contextRecord(context);
    const spec = kernelSetByName(kernelSet);
    const imageBytes = modelImageBytes(model);
    const image = this.arena.alloc(imageBytes);
    try {
      writeModelImage(model, this.arena.bytes(image, imageBytes));
      const id = this.#nextId++;
      const a = this.#args;
      a[0] = context;
      a[1] = id;
      a[2] = spec.id;
      a[3] = image;
      a[4] = imageBytes;
      this.#call(Api.moduleLoad, DEFAULT_STREAM, 5);
      this.#modules.set(id, { context, spec, image, imageBytes });
      return id;
    } catch (error) {
      this.arena.free(image);
      throw error;
    }
  }

  moduleUnload(module: ModuleHandle): void {
    this.#moduleRecord(module);
    this.#args[0] = module;
    this.#call(Api.moduleUnload, DEFAULT_STREAM, 1);
    this.#dropModule(module);
  }

  moduleGetFunction(module: ModuleHandle, name: string): FunctionHandle {
    const record = this.#moduleRecord(module);
    const id = this.#nextId++;
    this.#args[0] = module;
    this.#args[1] = id;
    const index = this.#call(Api.moduleGetFunction, DEFAULT_STREAM, 2, name);
    this.#functions.set(id, { module, spec: record.spec.functions[index]!, name });
    return id;
  }

  /**
   * Launches a kernel (async): returns at once; a failure inside it surfaces at the next synchronise of
   * `stream`. A call that cannot be a launch at all (unknown function, wrong argument kinds or count, bad
   * grid) throws here, as cuLaunchKernel returns such errors at once.
   */
  launch(
    fn: FunctionHandle,
    grid: Grid,
    args: readonly KernelArg[],
    stream: StreamHandle = DEFAULT_STREAM,
  ): void {
    const record = this.#functions.get(fn);
    if (record === undefined) throw usage(`launch: function ${fn} does not exist`);
    this.#streamRecord(stream);
    const params = record.spec.params;
    if (args.length !== params.length || args.length > MAX_KERNEL_ARGS) {
      throw usage(
        `launch ${record.name}: ${args.length} arguments for ${params.length} parameters (${params.map((p) => p.name).join(', ')})`,
      );
    }
    const g = typeof grid === 'number' ? { x: grid } : grid;
    const a = this.#args;
    a[0] = fn;
    a[1] = g.x;
    a[2] = g.y ?? 1;
    a[3] = g.z ?? 1;
    for (let d = 1; d <= 3; d++) {
      if (!Number.isSafeInteger(a[d]!) || a[d]! < 1)
        throw usage(`launch ${record.name}: grid dimension ${a[d]} is not a positive integer`);
    }
    a[4] = args.length;
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      const param = params[i]!;
      if (arg.kind !== param.kind)
        throw usage(
          `launch ${record.name}: argument ${i} (${param.name}) must be a ${param.kind}, got a ${arg.kind}`,
        );
      a[LAUNCH_FIXED_ARGS + i] = arg.kind === 'ptr' ? arg.ptr : arg.value;
    }
    this.#submitAsync(Api.launch, stream, LAUNCH_FIXED_ARGS + args.length);
  }

  // --- memory ---

  /** Device memory: a lakeShm region the context's backend owns. Throws ShmExhaustedError when full. */
  memAlloc(context: ContextHandle, bytes: number): DevicePtr {
    this.#contextRecord(context);
    const ptr = this.arena.alloc(bytes);
    try {
      this.#args[0] = context;
      this.#args[1] = ptr;
      this.#args[2] = Math.max(1, bytes);
      this.#call(Api.memAlloc, DEFAULT_STREAM, 3);
    } catch (error) {
      this.arena.free(ptr);
      throw error;
    }
    this.#regions.set(ptr, { context, bytes: Math.max(1, bytes) });
    return ptr;
  }

  memFree(ptr: DevicePtr): void {
    this.#args[0] = ptr;
    this.#call(Api.memFree, DEFAULT_STREAM, 1);
    this.#dropRegion(ptr);
  }

  /** Host memory for copies: a lakeShm region (bulk data never travels in messages). */
  hostAlloc(bytes: number): HostPtr {
    return this.arena.alloc(bytes);
  }

  hostFree(ptr: HostPtr): void {
    this.arena.free(ptr);
  }

  memcpyHtoD(device: DevicePtr, host: HostPtr, bytes: number): void {
    this.#copyArgs(device, host, bytes);
    this.#call(Api.memcpyHtoD, DEFAULT_STREAM, 3);
  }

  memcpyDtoH(host: HostPtr, device: DevicePtr, bytes: number): void {
    this.#copyArgs(host, device, bytes);
    this.#call(Api.memcpyDtoH, DEFAULT_STREAM, 3);
  }

  memcpyHtoDAsync(
    device: DevicePtr,
    host: HostPtr,
    bytes: number,
    stream: StreamHandle = DEFAULT_STREAM,
  ): void {
    this.#streamRecord(stream);
    this.#copyArgs(device, host, bytes);
    this.#submitAsync(Api.memcpyHtoDAsync, stream, 3);
  }

  memcpyDtoHAsync(
    host: HostPtr,
    device: DevicePtr,
    bytes: number,
    stream: StreamHandle = DEFAULT_STREAM,
  ): void {
    this.#streamRecord(stream);
    this.#copyArgs(host, device, bytes);
    this.#submitAsync(Api.memcpyDtoHAsync, stream, 3);
  }

  // --- streams ---

  streamCreate(context: ContextHandle): StreamHandle {
    this.#contextRecord(context);
    const id = this.#nextId++;
    this.#args[0] = context;
    this.#args[1] = id;
    this.#call(Api.streamCreate, DEFAULT_STREAM, 2);
    this.#streams.set(id, { context });
    return id;
  }

  /** Waits for the stream's work; throws its first async failure (and forgets the rest, counted). */
  streamSynchronize(stream: StreamHandle = DEFAULT_STREAM): void {
    this.#streamRecord(stream);
    this.#args[0] = stream;
    const faulted = this.#call(Api.streamSynchronize, stream, 1) !== 0;
    // The default stream names no device, so lakeD reports no fault with it.
    const record = this.#streams.get(stream);
    if (faulted && record !== undefined) this.#noteFault(record.context);
    this.#throwStreamErrors([stream]);
  }

  streamDestroy(stream: StreamHandle): void {
    if (stream === DEFAULT_STREAM) throw usage('the default stream cannot be destroyed');
    this.#streamRecord(stream);
    this.#args[0] = stream;
    this.#call(Api.streamDestroy, DEFAULT_STREAM, 1);
    this.#streams.delete(stream);
  }

  // --- state ---

  /** lakeD's busy fraction since the previous sample (LAKE samples the GPU every 20 ms). */
  utilisation(): UtilisationSample {
    const now = performance.now();
    const windowMs = now - this.#lastSampleAt;
    this.#lastSampleAt = now;
    const link = this.#daemon;
    if (link === undefined || link.state !== 'ready') {
      return { busy: 0, windowMs, busyNow: false, inFlight: 0, mode: 'inline' };
    }
    const busyMicros = Atomics.load(link.words, C_BUSY_MICROS) >>> 0;
    const delta = (busyMicros - this.#lastBusyMicros) >>> 0;
    this.#lastBusyMicros = busyMicros;
    return {
      busy: windowMs > 0 ? Math.min(1, delta / 1000 / windowMs) : 0,
      windowMs,
      busyNow: Atomics.load(link.words, C_BUSY) !== 0,
      inFlight: link.nextSeq - link.reapSeq,
      mode: 'daemon',
    };
  }

  /**
   * Commands lakeLib has run itself (lakeD down or restarting) so far: a caller that reads it before and
   * after some work knows whether lakeD did that work (as stats().inlineCommands, without the object).
   */
  get inlineCommandCount(): number {
    return this.#inlineCommands;
  }

  stats(): LakeLibStats {
    const link = this.#daemon;
    const ready = link !== undefined && link.state === 'ready';
    return {
      mode: ready ? 'daemon' : 'inline',
      restarts: this.#restarts,
      failures: this.#failures.map((f) => ({ ...f })),
      daemonCommands: this.#daemonCommands,
      inlineCommands: this.#inlineCommands,
      inFlight: ready ? link.nextSeq - link.reapSeq : 0,
    };
  }

  /** Fault injection for tests and drills: lakeD misbehaves as told; lakeLib must cope. */
  readonly debug = {
    /** lakeD sleeps `ms` while still beating (a slow command, not a hang). Async. */
    sleep: (ms: number, stream: StreamHandle = DEFAULT_STREAM): void => {
      this.#streamRecord(stream);
      this.#args[0] = ms;
      this.#submitAsync(Api.debugSleep, stream, 1);
    },
    /** lakeD stops beating and never returns. Async. */
    hang: (): void => this.#submitAsync(Api.debugHang, DEFAULT_STREAM, 0),
    /** lakeD's thread throws and dies. Async. */
    crash: (): void => this.#submitAsync(Api.debugCrash, DEFAULT_STREAM, 0),
    /** Kills lakeD's thread from outside (worker.terminate()), as an OOM killer would. */
    terminateDaemon: (): void => {
      const link = this.#daemon;
      if (link !== undefined) void link.worker.terminate();
    },
  };

  /** Stops lakeD and releases everything; later calls throw. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#watchdog !== undefined) clearInterval(this.#watchdog);
    const link = this.#daemon;
    this.#daemon = undefined;
    this.#inline?.close();
    this.#inline = undefined;
    if (link !== undefined) {
      link.state = 'dead';
      await link.worker.terminate();
    }
  }

  // --- the ring ---

  /** A sync command from this.#args[0..argc): its result[0]; its text in #outText. Throws its error. */
  #call(api: number, stream: number, argc: number, text?: string): number {
    for (;;) {
      const link = this.#route();
      if (link === undefined) {
        this.#runInline(api, stream, this.#args, argc, text, false);
      } else if (!this.#callOn(link, api, stream, this.#args, argc, text)) {
        continue;
      }
      if (this.#outStatus !== STATUS_OK) throw new LakeError(codeOf(this.#outStatus), this.#outText);
      return this.#outResult0;
    }
  }

  #submitAsync(api: number, stream: number, argc: number): void {
    for (;;) {
      const link = this.#route();
      if (link === undefined) {
        this.#runInline(api, stream, this.#args, argc, undefined, true);
        return;
      }
      if (this.#submit(link, api, stream, this.#args, argc, undefined) >= 0) return;
    }
  }

  /** The live lakeD to send to, or undefined to run inline; adopts a restarted lakeD once it is up. */
  #route(): DaemonLink | undefined {
    if (this.#closed) throw usage('lakeLib used after close()');
    for (;;) {
      const link = this.#daemon;
      if (link === undefined) return undefined;
      if (link.state === 'ready') {
        if (link.exited === undefined && Atomics.load(link.words, C_DAEMON_STATE) === DaemonState.ready)
          return link;
        this.#recover(
          link,
          link.exited === undefined ? 'crash' : 'exit',
          link.exited ?? 'lakeD reported a crash',
        );
        continue;
      }
      // Starting: inline until it is up, then replay the state into it.
      const state = Atomics.load(link.words, C_DAEMON_STATE);
      if (link.exited !== undefined || state === DaemonState.crashed) {
        this.#recover(link, 'start', link.exited ?? 'lakeD crashed while starting');
        continue;
      }
      if (state !== DaemonState.ready) return undefined;
      link.state = 'ready';
      link.lastBeatAt = performance.now();
      this.#lastBusyMicros = Atomics.load(link.words, C_BUSY_MICROS) >>> 0;
      const replayed = this.#replay((command) => {
        if (!this.#callOn(link, command.api, DEFAULT_STREAM, command.args, command.args.length, command.text))
          return false;
        if (link.state === 'dead') return false;
        if (this.#outStatus !== STATUS_OK) {
          throw new LakeError(
            'LAKE_E_INTERNAL',
            `lakeLib: replaying ${apiName(command.api)} into lakeD failed: ${this.#outText}`,
          );
        }
        return true;
      });
      if (!replayed) continue;
      this.#inline?.close();
      this.#inline = undefined;
      return link;
    }
  }

  /** Runs one command on lakeD and waits for it; false when lakeD died before it could be submitted. */
  #callOn(
    link: DaemonLink,
    api: number,
    stream: number,
    args: ArrayLike<number>,
    argc: number,
    text?: string,
  ): boolean {
    if (link.state === 'dead') return false;
    const seq = this.#submit(link, api, stream, args, argc, text);
    if (seq < 0) return false;
    const slot = seq % RING_SLOTS;
    const base = link.channel.slotWord(slot);
    const waited = this.#waitDone(link, base + S_STATE, Number.POSITIVE_INFINITY);
    if (waited !== 'done') this.#declareDead(link);
    if (isDead(link)) {
      const outcome = link.outcomes.get(seq)!;
      link.outcomes.delete(seq);
      this.#outStatus = outcome.status;
      this.#outResult0 = outcome.result0;
      this.#outText = outcome.text;
      return true;
    }
    const words = link.words;
    this.#outStatus = words[base + S_STATUS]!;
    this.#outResult0 = link.channel.result(slot)[0]!;
    this.#outText = words[base + S_TEXT_LENGTH] === 0 ? '' : link.channel.readText(slot);
    this.#reap(link);
    return true;
  }

  /** Publishes a command; its seq, or -1 when lakeD died while the ring was full. */
  #submit(
    link: DaemonLink,
    api: number,
    stream: number,
    args: ArrayLike<number>,
    argc: number,
    text?: string,
  ): number {
    if (link.state === 'dead') return -1;
    const words = link.words;
    if (link.nextSeq - link.reapSeq >= MAX_IN_FLIGHT) {
      this.#reap(link);
      if (link.nextSeq - link.reapSeq >= MAX_IN_FLIGHT) {
        const oldest = link.channel.slotWord(link.reapSeq % RING_SLOTS) + S_STATE;
        // A sync call waits for its reply anyway: only async submissions give up after ringFullWaitMs.
        const limit = ASYNC_APIS.has(api) ? this.#ringFullWaitMs : Number.POSITIVE_INFINITY;
        const waited = this.#waitDone(link, oldest, performance.now() + limit);
        if (waited === 'dead') {
          this.#declareDead(link);
          return -1;
        }
        if (waited === 'timeout') throw new RingFullError(link.nextSeq - link.reapSeq, this.#ringFullWaitMs);
        this.#reap(link);
      }
    }
    const seq = link.nextSeq++;
    const slot = seq % RING_SLOTS;
    const base = link.channel.slotWord(slot);
    words[base + S_API] = api;
    words[base + S_SEQ] = seq | 0;
    words[base + S_STREAM] = stream;
    words[base + S_STATUS] = STATUS_OK;
    const slotArgs = link.channel.args(slot);
    for (let i = 0; i < argc; i++) slotArgs[i] = args[i]!;
    if (text === undefined) words[base + S_TEXT_LENGTH] = 0;
    else link.channel.writeText(slot, text);
    Atomics.store(words, base + S_STATE, SlotState.submitted);
    Atomics.add(words, C_DOORBELL, 1);
    if (Atomics.load(words, C_DAEMON_SLEEPING) !== 0) Atomics.notify(words, C_DOORBELL);
    this.#daemonCommands++;
    return seq;
  }

  /** Frees completed slots in order; async failures go to their stream's list. */
  #reap(link: DaemonLink): void {
    const words = link.words;
    while (link.reapSeq < link.nextSeq) {
      const slot = link.reapSeq % RING_SLOTS;
      const base = link.channel.slotWord(slot);
      if (Atomics.load(words, base + S_STATE) !== SlotState.done) return;
      const status = words[base + S_STATUS]!;
      if (status !== STATUS_OK && ASYNC_APIS.has(words[base + S_API]!)) {
        this.#recordAsyncError(
          words[base + S_STREAM]!,
          new LakeError(codeOf(status), asyncMessage(words[base + S_API]!, link.channel.readText(slot))),
        );
      }
      Atomics.store(words, base + S_STATE, SlotState.free);
      link.reapSeq++;
    }
  }

  /**
   * Waits until the state word says done: spins for clientSpinMicros, then sleeps in WAIT_SLICE_MS slices,
   * checking lakeD's heartbeat between them. 'dead' when lakeD exited, crashed or fell silent.
   */
  #waitDone(link: DaemonLink, stateIndex: number, deadline: number): 'done' | 'dead' | 'timeout' {
    const words = link.words;
    if (Atomics.load(words, stateIndex) === SlotState.done) return 'done';
    if (this.#spin) {
      const end = performance.now() + this.#clientSpinMs;
      do {
        for (let i = 0; i < 64; i++) if (Atomics.load(words, stateIndex) === SlotState.done) return 'done';
      } while (performance.now() < end);
    }
    Atomics.store(words, C_CLIENT_WAITING, 1);
    try {
      for (;;) {
        const state = Atomics.load(words, stateIndex);
        if (state === SlotState.done) return 'done';
        const now = performance.now();
        if (!this.#alive(link, now)) return 'dead';
        if (now >= deadline) return 'timeout';
        Atomics.wait(words, stateIndex, state, Math.min(WAIT_SLICE_MS, deadline - now));
      }
    } finally {
      Atomics.store(words, C_CLIENT_WAITING, 0);
    }
  }

  #alive(link: DaemonLink, now: number): boolean {
    if (link.exited !== undefined || Atomics.load(link.words, C_DAEMON_STATE) === DaemonState.crashed)
      return false;
    const beat = Atomics.load(link.words, C_HEARTBEAT);
    if (beat !== link.lastBeat) {
      link.lastBeat = beat;
      link.lastBeatAt = now;
      return true;
    }
    return now - link.lastBeatAt < this.#silenceLimit(link);
  }

  /** How long lakeD may stay silent now: longer while it loads a module (one step that cannot beat). */
  #silenceLimit(link: DaemonLink): number {
    return Atomics.load(link.words, C_BUSY) === Api.moduleLoad
      ? Math.max(this.#hangTimeoutMs, this.#loadTimeoutMs)
      : this.#hangTimeoutMs;
  }

  #declareDead(link: DaemonLink): void {
    if (link.state === 'dead') return;
    if (link.exited !== undefined) this.#recover(link, 'exit', link.exited);
    else if (Atomics.load(link.words, C_DAEMON_STATE) === DaemonState.crashed)
      this.#recover(link, 'crash', 'lakeD reported a crash');
    else {
      const silent = Math.round(performance.now() - link.lastBeatAt);
      this.#recover(link, 'hang', `no heartbeat for ${silent} ms (limit ${this.#silenceLimit(link)} ms)`);
    }
  }

  /** The event-loop watchdog: finds a dead or hung lakeD when nobody is waiting on it. */
  #tick(): void {
    const link = this.#daemon;
    if (this.#closed || link === undefined || link.state !== 'ready') return;
    this.#reap(link);
    const now = performance.now();
    if (link.exited !== undefined || (link.nextSeq > link.reapSeq && !this.#alive(link, now)))
      this.#declareDead(link);
    else if (link.nextSeq === link.reapSeq) this.#alive(link, now);
  }

  /**
   * lakeD is gone or hung: stop it, finish every outstanding command inline (in order, with the same
   * executor code), keep the outcomes of sync ones for their waiter, and start a new lakeD.
   */
  #recover(link: DaemonLink, kind: DaemonFailure['kind'], detail: string): void {
    if (link.state === 'dead') return;
    const silentMs = Math.round(performance.now() - link.lastBeatAt);
    const inFlight = link.nextSeq - link.reapSeq;
    const wasReady = link.state === 'ready';
    link.state = 'dead';
    void link.worker.terminate().catch(() => {});
    if (wasReady) {
      const executor = this.#inlineExecutor();
      const channel = link.channel;
      for (let seq = link.reapSeq; seq < link.nextSeq; seq++) {
        const slot = seq % RING_SLOTS;
        const base = channel.slotWord(slot);
        const api = link.words[base + S_API]!;
        const stream = link.words[base + S_STREAM]!;
        const async = ASYNC_APIS.has(api);
        const done = Atomics.load(link.words, base + S_STATE) === SlotState.done;
        let outcome: Outcome;
        if (done && async) {
          // lakeD finished it; its effects are in lakeShm already.
          outcome = { status: link.words[base + S_STATUS]!, result0: 0, text: channel.readText(slot) };
        } else {
          // Not finished, or a sync command whose state the inline executor must learn: run it here.
          const command = new LocalCommand(api, stream, channel.readText(slot));
          command.args.set(channel.args(slot));
          outcome = this.#execute(executor, command);
        }
        if (async) {
          if (outcome.status !== STATUS_OK)
            this.#recordAsyncError(
              stream,
              new LakeError(codeOf(outcome.status), asyncMessage(api, outcome.text)),
            );
        } else {
          link.outcomes.set(seq, outcome);
        }
      }
      link.reapSeq = link.nextSeq;
    }
    this.#failures.push({ kind, detail, silentMs, inFlight });
    if (this.#daemon === link) {
      this.#daemon = undefined;
      if (this.#restarts < this.#maxRestarts && !this.#closed) {
        this.#restarts++;
        this.#spawn();
      }
    }
  }

  #spawn(): DaemonLink {
    const channel = new Channel();
    const data: DaemonWorkerData = {
      channel: channel.buffer,
      arena: this.arena.buffer,
      spinMicros: this.#spin ? this.#daemonSpinMicros : 0,
      ...(this.#backendCatalog !== undefined ? { backendCatalog: this.#backendCatalog } : {}),
    };
    const worker = spawnWorker(new URL('../daemon/', import.meta.url), 'worker', {
      workerData: data,
      name: 'lakeD',
    });
    const link = new DaemonLink(worker, channel);
    worker.on('error', (error: Error) => {
      link.exited ??= `lakeD thread error: ${error.message}`;
    });
    worker.on('exit', (code: number) => {
      link.exited ??= `lakeD thread exited with code ${code}`;
    });
    this.#daemon = link;
    return link;
  }

  // --- inline ---

  #inlineExecutor(): CommandExecutor {
    if (this.#inline !== undefined) return this.#inline;
    const devices = openDevices(this.arena, undefined, {}, this.#backends);
    const executor = new CommandExecutor(this.arena, devices, inlineHost);
    const ok = this.#replay((command) => {
      const local = new LocalCommand(command.api, DEFAULT_STREAM, command.text);
      local.args.set(command.args);
      const outcome = this.#execute(executor, local);
      if (outcome.status !== STATUS_OK) {
        throw new LakeError(
          'LAKE_E_INTERNAL',
          `lakeLib: replaying ${apiName(command.api)} inline failed: ${outcome.text}`,
        );
      }
      return true;
    });
    if (!ok) throw new LakeError('LAKE_E_INTERNAL', 'lakeLib: inline replay failed');
    this.#inline = executor;
    return executor;
  }

  #runInline(
    api: number,
    stream: number,
    args: ArrayLike<number>,
    argc: number,
    text: string | undefined,
    async: boolean,
  ): void {
    const executor = this.#inlineExecutor();
    const command = new LocalCommand(api, stream, text);
    for (let i = 0; i < argc; i++) command.args[i] = args[i]!;
    const outcome = this.#execute(executor, command);
    if (async) {
      if (outcome.status !== STATUS_OK)
        this.#recordAsyncError(
          stream,
          new LakeError(codeOf(outcome.status), asyncMessage(api, outcome.text)),
        );
      return;
    }
    this.#outStatus = outcome.status;
    this.#outResult0 = outcome.result0;
    this.#outText = outcome.text;
  }

  #execute(executor: CommandExecutor, command: LocalCommand): Outcome {
    this.#inlineCommands++;
    try {
      executor.execute(command);
      return { status: STATUS_OK, result0: command.result[0]!, text: command.text };
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      return {
        status: statusOf(error instanceof LakeError ? error.code : 'LAKE_E_INTERNAL'),
        result0: 0,
        text: error.message,
      };
    }
  }

  /** Sends every state-building command, in dependency order; false as soon as one reports lakeD gone. */
  #replay(send: (command: ReplayCommand) => boolean): boolean {
    const commands: ReplayCommand[] = [];
    for (const [id, context] of this.#contexts)
      commands.push({ api: Api.contextCreate, args: [id, context.device] });
    for (const [ptr, region] of this.#regions)
      commands.push({ api: Api.memAlloc, args: [region.context, ptr, region.bytes] });
    for (const [id, module] of this.#modules) {
      commands.push({
        api: Api.moduleLoad,
        args: [module.context, id, module.spec.id, module.image, module.imageBytes],
      });
    }
    for (const [id, fn] of this.#functions)
      commands.push({ api: Api.moduleGetFunction, args: [fn.module, id], text: fn.name });
    for (const [id, stream] of this.#streams)
      commands.push({ api: Api.streamCreate, args: [stream.context, id] });
    for (const command of commands) if (!send(command)) return false;
    return true;
  }

  // --- bookkeeping ---

  /**
   * A synchronise of the context's device said it faulted (its reply's text says how): keep the first. A
   * device already known faulted says so at every synchronise; its reply is not parsed again.
   */
  #noteFault(context: ContextHandle): void {
    const device = this.#contextRecord(context).device;
    if (this.#deviceFaults.has(device)) return;
    this.#deviceFaults.set(device, parseDeviceFault(this.#outText, device));
    this.#faultEpoch++;
  }

  #recordAsyncError(stream: number, error: LakeError): void {
    const list = this.#streamErrors.get(stream);
    if (list === undefined) this.#streamErrors.set(stream, [error]);
    else list.push(error);
  }

  #throwStreamErrors(streams: readonly StreamHandle[]): void {
    const errors: LakeError[] = [];
    for (const stream of streams) {
      const list = this.#streamErrors.get(stream);
      if (list !== undefined) {
        errors.push(...list);
        this.#streamErrors.delete(stream);
      }
    }
    const first = errors[0];
    if (first === undefined) return;
    if (errors.length > 1) first.message += ` (and ${errors.length - 1} more async failures)`;
    throw first;
  }

  #copyArgs(destination: number, source: number, bytes: number): void {
    this.#args[0] = destination;
    this.#args[1] = source;
    this.#args[2] = bytes;
  }

  #contextRecord(context: ContextHandle): ContextRecord {
    const record = this.#contexts.get(context);
    if (record === undefined) throw usage(`context ${context} does not exist`);
    return record;
  }

  #moduleRecord(module: ModuleHandle): ModuleRecord {
    const record = this.#modules.get(module);
    if (record === undefined) throw usage(`module ${module} is not loaded`);
    return record;
  }

  #streamRecord(stream: StreamHandle): void {
    if (stream !== DEFAULT_STREAM && !this.#streams.has(stream))
      throw usage(`stream ${stream} does not exist`);
  }

  #dropRegion(ptr: DevicePtr): void {
    if (this.#regions.delete(ptr)) this.arena.free(ptr);
  }

  #dropModule(id: ModuleHandle): void {
    const record = this.#modules.get(id);
    if (record === undefined) return;
    this.arena.free(record.image);
    this.#modules.delete(id);
    for (const [fn, bound] of this.#functions) if (bound.module === id) this.#functions.delete(fn);
  }
}

/** Whether a link is dead; a call, so that TypeScript does not narrow `state` across the calls that change it. */
function isDead(link: DaemonLink): boolean {
  return link.state === 'dead';
}

/** How a faulted backend's report reads. */
function faultReason(fault: DeviceFault): string {
  return `faulted in lakeD (device ${fault.device}: ${fault.reason}); its work runs on the CPU path`;
}

function asyncMessage(api: number, message: string): string {
  return `async ${apiName(api)} failed: ${message}`;
}

function usage(message: string): LakeError {
  return new LakeError('LAKE_E_USAGE', message);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0)
    throw usage(`options.${name} must be a non-negative number, got ${value}`);
  return value;
}
