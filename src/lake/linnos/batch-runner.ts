import { LakeError } from '../../errors.js';
import { createPredictor } from '../../kernels/create.js';
import type { Predictor } from '../../kernels/types.js';
import { wasmAvailable } from '../../kernels/wasm/module.js';
import { LINNOS_FEATURES } from '../../linnos/features.js';
import type { DenseModel } from '../../models/dense.js';
import type { BackendName } from '../backends/types.js';
import type { LakeLib } from '../lib/lake-lib.js';
import {
  type ContextHandle,
  type DevicePtr,
  type FunctionHandle,
  type HostPtr,
  ptrArg,
  type StreamHandle,
  scalarArg,
} from '../lib/types.js';
import type { BatchMode, BatchRunner } from '../policy/calibration.js';
import { INLINE } from '../policy/constants.js';

interface BackendSlot {
  readonly name: BackendName;
  readonly mode: BatchMode;
  readonly context: ContextHandle;
  readonly predict: FunctionHandle;
  readonly stream: StreamHandle;
  readonly deviceIn: DevicePtr;
  readonly deviceOut: DevicePtr;
}

export interface LinnosBatchRunnerOptions {
  /** The model's name in calibration tables and placement inputs ('nn', 'nn+1', 'nn+2'). */
  name: string;
  /** The largest batch it runs (its buffers in lakeShm are this many rows). */
  capacity: number;
  /** How each backend kind runs a batch (default: 'split' on CPU backends, 'offload' on GPUs). */
  mode?: BatchMode;
}

/**
 * One LinnOS model ready to run a batch of digit vectors inline or on each lakeD backend: the inline
 * predictor, and per backend a context with the model loaded as a 'linnos' module, a stream and device
 * buffers. The batch's rows live in lakeShm (`input`), where the feature registry's entries are copied,
 * and decisions come back in `output`. Inline and lakeD build their predictor the same way (int16 WASM
 * SIMD where available, default int16 calibration), so a read gets the same decision wherever it runs.
 */
export class LinnosBatchRunner implements BatchRunner {
  readonly model: string;
  readonly capacity: number;
  readonly backends: readonly { readonly name: BackendName; readonly mode: BatchMode }[];
  readonly #lib: LakeLib;
  readonly #predictor: Predictor;
  readonly #slots: readonly BackendSlot[];
  readonly #hostIn: HostPtr;
  readonly #hostOut: HostPtr;
  readonly #input: Uint8Array;
  readonly #output: Uint8Array;
  #closed = false;

  private constructor(
    lib: LakeLib,
    name: string,
    capacity: number,
    predictor: Predictor,
    slots: BackendSlot[],
    hostIn: HostPtr,
    hostOut: HostPtr,
  ) {
    this.#lib = lib;
    this.model = name;
    this.capacity = capacity;
    this.#predictor = predictor;
    this.#slots = slots;
    this.backends = slots.map((s) => ({ name: s.name, mode: s.mode }));
    this.#hostIn = hostIn;
    this.#hostOut = hostOut;
    this.#input = lib.arena.bytes(hostIn, capacity * LINNOS_FEATURES);
    this.#output = lib.arena.bytes(hostOut, capacity);
  }

  /** Loads `model` on every lakeD device (each usable backend) and allocates the batch buffers. */
  static open(lib: LakeLib, model: DenseModel, options: LinnosBatchRunnerOptions): LinnosBatchRunner {
    const capacity = options.capacity;
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new LakeError('LAKE_E_USAGE', `options.capacity must be a positive integer, got ${capacity}`);
    const predictor = createPredictor(model, { backend: wasmAvailable() ? 'wasm' : 'js' });
    if (predictor.inputs !== LINNOS_FEATURES) {
      predictor.dispose();
      throw new LakeError(
        'LAKE_E_MODEL_FORMAT',
        `a LinnOS model takes ${LINNOS_FEATURES} digits, this one takes ${predictor.inputs}`,
      );
    }
    const slots: BackendSlot[] = [];
    const hostIn = lib.hostAlloc(capacity * LINNOS_FEATURES);
    const hostOut = lib.hostAlloc(capacity);
    try {
      const devices = lib.getDeviceCount();
      for (let device = 0; device < devices; device++) {
        const info = lib.getDevice(device);
        const context = lib.contextCreate(device);
        const predict = lib.moduleGetFunction(lib.moduleLoad(context, 'linnos', model), 'predict');
        slots.push({
          name: info.backend,
          mode: options.mode ?? (info.kind === 'cpu' ? 'split' : 'offload'),
          context,
          predict,
          stream: lib.streamCreate(context),
          deviceIn: lib.memAlloc(context, capacity * LINNOS_FEATURES),
          deviceOut: lib.memAlloc(context, capacity),
        });
      }
    } catch (error) {
      for (const slot of slots) lib.contextDestroy(slot.context);
      lib.hostFree(hostIn);
      lib.hostFree(hostOut);
      predictor.dispose();
      throw error;
    }
    return new LinnosBatchRunner(lib, options.name, capacity, predictor, slots, hostIn, hostOut);
  }

  /** The batch's rows, `capacity` x 31 digits in lakeShm: fill rows [0, n) before running n. */
  get input(): Uint8Array {
    return this.#input;
  }

  /** Decisions of the last batch (1 = slow), rows [0, n). */
  get output(): Uint8Array {
    return this.#output;
  }

  /** Rows of a batch of n that lakeD computes on `backend` (the rest, if any, run inline alongside). */
  backendShare(backend: string, n: number): number {
    const slot = this.#slots.find((s) => s.name === backend);
    if (slot === undefined) return 0;
    return slot.mode === 'offload' || n === 1 ? n : n >> 1;
  }

  /** Runs rows [0, n) of `input` on `placement` ('inline' or a backend); decisions land in `output`. */
  run(placement: string, n: number): void {
    if (placement === INLINE) this.runInline(n);
    else this.runOn(placement as BackendName, n);
  }

  runInline(n: number): void {
    this.#check(n);
    this.#predictor.predictBatch(this.#input.subarray(0, n * LINNOS_FEATURES), n, this.#output);
  }

  /**
   * Runs a batch on a backend: its share goes to lakeD asynchronously (copy in, launch, copy out on the
   * backend's stream), the caller computes the remaining rows inline meanwhile, then waits on the stream.
   * `mode` overrides the backend's own (benchmarks time both).
   */
  runOn(backend: BackendName, n: number, mode?: BatchMode): void {
    this.#check(n);
    const slot = this.#slots.find((s) => s.name === backend);
    if (slot === undefined)
      throw new LakeError('LAKE_E_USAGE', `backend ${backend} does not run ${this.model} here`);
    const share = (mode ?? slot.mode) === 'offload' || n === 1 ? n : n >> 1;
    const lib = this.#lib;
    lib.memcpyHtoDAsync(slot.deviceIn, this.#hostIn, share * LINNOS_FEATURES, slot.stream);
    lib.launch(
      slot.predict,
      1,
      [ptrArg(slot.deviceIn), ptrArg(slot.deviceOut), scalarArg(share)],
      slot.stream,
    );
    lib.memcpyDtoHAsync(this.#hostOut, slot.deviceOut, share, slot.stream);
    if (share < n) {
      this.#predictor.predictBatch(
        this.#input.subarray(share * LINNOS_FEATURES, n * LINNOS_FEATURES),
        n - share,
        this.#output.subarray(share, n),
      );
    }
    lib.streamSynchronize(slot.stream);
  }

  /** lakeLib's count of commands it ran itself: unchanged across a batch means lakeD ran all of it. */
  get inlineCommandCount(): number {
    return this.#lib.inlineCommandCount;
  }

  warm(backend: BackendName): void {
    if (this.#slots.some((s) => s.name === backend)) this.#lib.noop();
  }

  /** Unloads the model from lakeD and frees the buffers (lakeLib stays open). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#predictor.dispose();
    for (const slot of this.#slots) this.#lib.contextDestroy(slot.context);
    this.#lib.hostFree(this.#hostIn);
    this.#lib.hostFree(this.#hostOut);
  }

  #check(n: number): void {
    if (this.#closed) throw new LakeError('LAKE_E_USAGE', `the ${this.model} batch runner is closed`);
    if (!Number.isSafeInteger(n) || n < 1 || n > this.capacity)
      throw new LakeError('LAKE_E_USAGE', `batch of ${n} rows: must be in [1, ${this.capacity}]`);
  }
}
