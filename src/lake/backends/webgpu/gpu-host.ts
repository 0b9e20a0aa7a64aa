import type { ShmArena } from '../../shm/arena.js';
import {
  BUFFER_COPY_DST,
  BUFFER_COPY_SRC,
  BUFFER_MAP_READ,
  BUFFER_STORAGE,
  BUFFER_UNIFORM,
  type DawnAdapter,
  type DawnBindGroupLayout,
  type DawnBuffer,
  type DawnComputePipeline,
  type DawnDevice,
  type DawnGpu,
  type DawnModule,
  type DawnPipelineLayout,
  MAP_READ,
  STAGE_COMPUTE,
} from './dawn-types.js';
import type {
  AdapterSummary,
  DenseProgram,
  DirtyRange,
  GpuProgram,
  HostReply,
  HostRequest,
  LinnosProgram,
} from './protocol.js';
import { DENSE_WGSL, LINNOS_WGSL, PASS_BYTES, WORKGROUP } from './wgsl.js';

/**
 * Dawn's traps, and how the GPU thread handles each:
 * - requestDevice may start a busy pump that keeps one core spinning until device.destroy()
 *   (node-webgpu issue 17, seen on Linux/Vulkan): Dawn lives only on this dedicated thread, never on the
 *   storage caller's main thread nor on lakeD's thread, so a pump can only spin here; the device exists only
 *   while lakeD holds the backend open (lakeD opens it at start) and close() destroys it.
 * - Resolving Dawn's promises from a worker has crashed with "Cannot create a handle without a HandleScope"
 *   when the call came from inside another runner's callback (issue 13, Vitest workers): every Dawn call
 *   here runs from this thread's own message handler or the continuation of a Dawn promise it awaits, on a
 *   thread that runs nothing else, the pattern the issue reports as working. The process-wide environment
 *   Dawn's GL backend reads (EGL_PLATFORM, XDG_RUNTIME_DIR) is set by the main thread before any GPU
 *   thread starts, because a worker's process.env is a private copy that never reaches getenv().
 * - Node does not exit while the object create() returns is referenced: close() destroys every buffer and
 *   the device and drops the adapter and the GPU object, and the thread itself is unref'd by its owner.
 */
const ATTEMPTS: readonly {
  backend: string;
  flags: string[];
  featureLevel: 'core' | 'compatibility';
}[] = [
  // Dawn's default backend list: Vulkan on Linux (Metal, D3D12 elsewhere), what a real GPU gets.
  { backend: 'default', flags: [], featureLevel: 'core' },
  // Where Vulkan finds nothing (Debian's lavapipe lacks shaderUniform*ArrayDynamicIndexing), GLES on Mesa's
  // llvmpipe runs compute in compatibility mode: correctness only, never speed.
  { backend: 'opengles', flags: ['backend=opengles'], featureLevel: 'compatibility' },
];

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|software/i;

interface Region {
  readonly ptr: number;
  readonly bytes: number;
  readonly buffer: DawnBuffer;
}

interface PassPlan {
  readonly entry: 'layer0' | 'dense';
  readonly units: number;
  readonly inWidth: number;
  readonly wAt: number;
  readonly bAt: number;
  readonly relu: boolean;
  readonly shift: number;
  readonly fromXs: boolean;
  readonly uniform: DawnBuffer;
}

interface LoadedProgram {
  readonly program: GpuProgram;
  readonly params: DawnBuffer;
  readonly passes: readonly PassPlan[];
  /** The widest layer: each of the two activation areas of the scratch buffer holds n rows of it. */
  readonly widest: number;
  /** Results per vector (2 raw sums for linnos, the outputs for dense). */
  readonly outputs: number;
  scratch: DawnBuffer | undefined;
  staging: DawnBuffer | undefined;
  capacity: number;
}

interface Dawn {
  gpu: DawnGpu;
  adapter: DawnAdapter;
  device: DawnDevice;
  layout: DawnBindGroupLayout;
  pipelineLayout: DawnPipelineLayout;
  pipelines: Map<string, DawnComputePipeline>;
}

const align4 = (value: number): number => Math.ceil(value / 4) * 4;

/** Opens Dawn's first adapter among ATTEMPTS; the summary says which and whether it is software. */
async function openDawn(): Promise<{ dawn: Dawn; adapter: AdapterSummary }> {
  // A variable specifier: the package is optional, so lake neither type-checks nor bundles against it.
  const specifier = 'webgpu';
  const dawnModule = (await import(specifier)) as DawnModule;
  const tried: string[] = [];
  for (const attempt of ATTEMPTS) {
    const gpu = dawnModule.create(attempt.flags);
    const adapter = await gpu.requestAdapter({
      powerPreference: 'high-performance',
      featureLevel: attempt.featureLevel,
    });
    if (adapter === null) {
      tried.push(attempt.backend);
      continue;
    }
    // The adapter's own buffer limits rather than WebGPU's defaults (128 MiB bindings): a mirrored lakeShm
    // region is bound whole, and a larger one than the device allows would fault every launch on it.
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
      },
    });
    const storage = { type: 'storage' } as const;
    const layout = device.createBindGroupLayout({
      entries: [
        { binding: 0, visibility: STAGE_COMPUTE, buffer: { type: 'uniform' } },
        { binding: 1, visibility: STAGE_COMPUTE, buffer: { type: 'read-only-storage' } },
        { binding: 2, visibility: STAGE_COMPUTE, buffer: { type: 'read-only-storage' } },
        { binding: 3, visibility: STAGE_COMPUTE, buffer: storage },
      ],
    });
    const info = adapter.info;
    const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
    return {
      dawn: {
        gpu,
        adapter,
        device,
        layout,
        pipelineLayout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        pipelines: new Map(),
      },
      adapter: {
        backend: attempt.backend,
        featureLevel: attempt.featureLevel,
        vendor: info.vendor,
        architecture: info.architecture,
        device: info.device,
        description: info.description,
        software: info.isFallbackAdapter === true || SOFTWARE.test(text),
      },
    };
  }
  throw new Error(`Dawn found no adapter (tried ${tried.join(', ')})`);
}

/** Everything the GPU thread holds: the device, the mirrors of adopted lakeShm regions, loaded modules. */
export class GpuHost {
  readonly #arena: ShmArena;
  #dawn: Dawn | undefined;
  #lost: string | undefined;
  readonly #regions = new Map<number, Region>();
  readonly #programs = new Map<number, LoadedProgram>();

  constructor(arena: ShmArena) {
    this.#arena = arena;
  }

  /** Serves one request; every failure becomes a reply, never an exception out of the thread. */
  async handle(request: HostRequest): Promise<HostReply> {
    try {
      switch (request.op) {
        case 'init':
          return { ok: true, adapter: await this.#init() };
        case 'adopt':
          this.#adopt(request.ptr, request.bytes);
          return { ok: true };
        case 'release':
          this.#regions.get(request.ptr)?.buffer.destroy();
          this.#regions.delete(request.ptr);
          return { ok: true };
        case 'load':
          this.#load(request.id, request.program);
          return await this.#checked({ ok: true });
        case 'unload':
          this.#unload(request.id);
          return { ok: true };
        case 'flush':
          this.#flush(request.dirty);
          return { ok: true };
        case 'run':
          return { ok: true, gpuMicros: await this.#run(request) };
        case 'fault':
          if (request.kind === 'device-lost') this.#device().destroy();
          return { ok: true };
        case 'close':
          this.#close();
          return { ok: true };
      }
    } catch (error) {
      return { ok: false, message: error instanceof Error ? error.message : String(error) };
    }
  }

  async #init(): Promise<AdapterSummary> {
    const { dawn, adapter } = await openDawn();
    this.#dawn = dawn;
    void dawn.device.lost.then((info) => {
      this.#lost = `device lost (${info.reason}${info.message ? `: ${info.message}` : ''})`;
    });
    return adapter;
  }

  #device(): DawnDevice {
    if (this.#lost !== undefined) throw new Error(this.#lost);
    if (this.#dawn === undefined) throw new Error('the GPU thread has no device');
    return this.#dawn.device;
  }

  /** Runs `result` after the device's queued work raised no validation, memory or internal error. */
  async #checked<T>(result: T, alongside?: Promise<void>): Promise<T> {
    const device = this.#device();
    // Popped at once and awaited together (with the batch's readback when given): each pop is a promise
    // Dawn settles on a later turn of this thread's event loop, so awaiting them one by one costs turns.
    const pops = [device.popErrorScope(), device.popErrorScope(), device.popErrorScope()];
    const settled = await Promise.allSettled([...pops, alongside ?? Promise.resolve()]);
    for (const outcome of settled.slice(0, 3)) {
      if (outcome.status === 'rejected') throw outcome.reason;
      const error = outcome.value as { message: string } | null;
      if (error !== null) throw new Error(`WebGPU error: ${error.message}`);
    }
    const readback = settled[3]!;
    if (readback.status === 'rejected') throw readback.reason;
    if (this.#lost !== undefined) throw new Error(this.#lost);
    return result;
  }

  #pushScopes(): void {
    const device = this.#device();
    device.pushErrorScope('internal');
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
  }

  #adopt(ptr: number, bytes: number): void {
    const buffer = this.#device().createBuffer({
      size: align4(bytes),
      usage: BUFFER_STORAGE | BUFFER_COPY_DST | BUFFER_COPY_SRC,
      label: `lakeShm ${ptr}+${bytes}`,
    });
    const region = { ptr, bytes, buffer };
    this.#regions.set(ptr, region);
    this.#write(region, ptr, bytes);
  }

  #regionOf(ptr: number): Region {
    for (const region of this.#regions.values()) {
      if (ptr >= region.ptr && ptr < region.ptr + region.bytes) return region;
    }
    throw new Error(`${ptr} is not in a mirrored lakeShm region`);
  }

  /** Refreshes the mirror of [ptr, ptr + bytes) from lakeShm, widened to whole 4-byte words. */
  #write(region: Region, ptr: number, bytes: number): void {
    if (bytes <= 0) return;
    const start = Math.floor((ptr - region.ptr) / 4) * 4;
    const end = Math.min(align4(ptr + bytes - region.ptr), region.buffer.size);
    const words = new Uint8Array(end - start);
    const available = Math.min(end, region.bytes) - start;
    // A copy out of shared memory: Dawn takes a plain buffer, and the region may change meanwhile.
    words.set(this.#arena.bytes(region.ptr + start, available));
    this.#device().queue.writeBuffer(region.buffer, start, words);
  }

  #flush(dirty: readonly DirtyRange[]): void {
    for (const [ptr, bytes] of dirty) this.#write(this.#regionOf(ptr), ptr, bytes);
  }

  #pipeline(kind: GpuProgram['kind'], entry: string): DawnComputePipeline {
    const dawn = this.#dawn!;
    const key = `${kind}:${entry}`;
    let pipeline = dawn.pipelines.get(key);
    if (pipeline === undefined) {
      const module = dawn.device.createShaderModule({
        code: kind === 'linnos' ? LINNOS_WGSL : DENSE_WGSL,
        label: kind,
      });
      pipeline = dawn.device.createComputePipeline({
        layout: dawn.pipelineLayout,
        compute: { module, entryPoint: entry },
      });
      dawn.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  #load(id: number, program: GpuProgram): void {
    this.#pushScopes();
    const device = this.#device();
    const { values, passes } = program.kind === 'linnos' ? packLinnos(program) : packDense(program);
    const params = device.createBuffer({
      size: align4(Math.max(4, values.byteLength)),
      usage: BUFFER_STORAGE | BUFFER_COPY_DST,
      label: `module ${id} parameters`,
    });
    device.queue.writeBuffer(params, 0, values);
    const planned = passes.map((pass) => ({
      ...pass,
      uniform: device.createBuffer({ size: PASS_BYTES, usage: BUFFER_UNIFORM | BUFFER_COPY_DST }),
    }));
    for (const pass of planned) this.#pipeline(program.kind, pass.entry);
    const last = passes[passes.length - 1]!;
    this.#programs.set(id, {
      program,
      params,
      passes: planned,
      widest: Math.max(...passes.map((p) => p.units)),
      outputs: last.units,
      scratch: undefined,
      staging: undefined,
      capacity: 0,
    });
  }

  #unload(id: number): void {
    const loaded = this.#programs.get(id);
    if (loaded === undefined) return;
    this.#programs.delete(id);
    loaded.params.destroy();
    loaded.scratch?.destroy();
    loaded.staging?.destroy();
    for (const pass of loaded.passes) pass.uniform.destroy();
  }

  /** Scratch rows for n vectors: two activation areas and the results. */
  #reserve(loaded: LoadedProgram, n: number): void {
    if (n <= loaded.capacity) return;
    const capacity = Math.max(n, loaded.capacity * 2, 64);
    loaded.scratch?.destroy();
    loaded.staging?.destroy();
    const device = this.#device();
    loaded.scratch = device.createBuffer({
      size: 4 * capacity * (2 * loaded.widest + loaded.outputs),
      usage: BUFFER_STORAGE | BUFFER_COPY_SRC,
    });
    loaded.staging = device.createBuffer({
      size: 4 * capacity * loaded.outputs,
      usage: BUFFER_MAP_READ | BUFFER_COPY_DST,
    });
    loaded.capacity = capacity;
  }

  /** One batch: flush the host's writes, one dispatch per layer in one submit, read back, update lakeShm. */
  async #run(request: Extract<HostRequest, { op: 'run' }>): Promise<number> {
    const loaded = this.#programs.get(request.id);
    if (loaded === undefined) throw new Error(`module ${request.id} is not loaded on the GPU`);
    const { n } = request;
    const device = this.#device();
    const region = this.#regionOf(request.xs);
    const linnos = loaded.program.kind === 'linnos';
    const xsOffset = request.xs - region.ptr;
    if (!linnos && xsOffset % 4 !== 0) throw new Error(`f32 inputs at ${request.xs} are not 4-byte aligned`);
    this.#pushScopes();
    this.#flush(request.dirty);
    this.#reserve(loaded, n);
    const encoder = device.createCommandEncoder();
    const limit = device.limits.maxComputeWorkgroupsPerDimension;
    const areas = [0, n * loaded.widest];
    const resultsAt = 2 * n * loaded.widest;
    loaded.passes.forEach((pass, index) => {
      const groups = Math.ceil((n * pass.units) / WORKGROUP);
      const x = Math.min(groups, limit);
      const y = Math.ceil(groups / x);
      const last = index === loaded.passes.length - 1;
      const uniform = new Uint32Array(PASS_BYTES / 4);
      uniform.set([
        n,
        pass.units,
        pass.inWidth,
        linnos ? xsOffset : xsOffset / 4,
        pass.wAt,
        pass.bAt,
        areas[(index + 1) % 2]!,
        last ? resultsAt : areas[index % 2]!,
        pass.shift,
        pass.relu ? 1 : 0,
        pass.fromXs ? 1 : 0,
        x * WORKGROUP,
      ]);
      device.queue.writeBuffer(pass.uniform, 0, uniform);
      const group = device.createBindGroup({
        layout: this.#dawn!.layout,
        entries: [
          { binding: 0, resource: { buffer: pass.uniform } },
          { binding: 1, resource: { buffer: loaded.params } },
          { binding: 2, resource: { buffer: region.buffer } },
          { binding: 3, resource: { buffer: loaded.scratch! } },
        ],
      });
      const compute = encoder.beginComputePass();
      compute.setPipeline(this.#pipeline(loaded.program.kind, pass.entry));
      compute.setBindGroup(0, group);
      compute.dispatchWorkgroups(x, y);
      compute.end();
    });
    const resultBytes = 4 * n * loaded.outputs;
    encoder.copyBufferToBuffer(loaded.scratch!, 4 * resultsAt, loaded.staging!, 0, resultBytes);
    const started = performance.now();
    device.queue.submit([encoder.finish()]);
    await this.#checked(undefined, loaded.staging!.mapAsync(MAP_READ, 0, resultBytes));
    const gpuMicros = (performance.now() - started) * 1000;
    // A copy, so that unmap() cannot detach what the conversion below reads.
    const results = loaded.staging!.getMappedRange(0, resultBytes).slice(0);
    loaded.staging!.unmap();
    if (this.#lost !== undefined) throw new Error(this.#lost);
    const outBytes = this.#store(loaded.program, request, results);
    this.#write(this.#regionOf(request.out), request.out, outBytes);
    return gpuMicros;
  }

  /** Writes a batch's results into lakeShm in the kernel set's format; returns the bytes written. */
  #store(program: GpuProgram, request: Extract<HostRequest, { op: 'run' }>, results: ArrayBuffer): number {
    const { n, out } = request;
    if (program.kind === 'dense-f32') {
      const values = new Float32Array(results);
      this.#arena.f32(out, values.length).set(values);
      return values.byteLength;
    }
    const raw = new Int32Array(results);
    if (request.fn === 0) {
      // The cpu-wasm kernel's decision: slow iff o1 > o0 (a tie is fast).
      const decisions = this.#arena.bytes(out, n);
      for (let v = 0; v < n; v++) decisions[v] = raw[2 * v + 1]! > raw[2 * v]! ? 1 : 0;
      return n;
    }
    // The same division (in double precision, stored as f32) as the cpu-wasm predictor's scoresBatch.
    const logits = this.#arena.f32(out, 2 * n);
    for (let i = 0; i < 2 * n; i++) logits[i] = raw[i]! / program.outputScale;
    return 8 * n;
  }

  #close(): void {
    for (const id of [...this.#programs.keys()]) this.#unload(id);
    for (const region of this.#regions.values()) region.buffer.destroy();
    this.#regions.clear();
    this.#dawn?.device.destroy();
    // Dropping the last references lets Node exit (the GPU object keeps it alive while referenced).
    this.#dawn = undefined;
  }
}

type PassLayout = Omit<PassPlan, 'uniform'>;

/** The linnos program's parameters as one i32 array, and its passes: layer 0, hidden layers, output. */
function packLinnos(program: LinnosProgram): { values: Int32Array; passes: PassLayout[] } {
  const parts: Int32Array[] = [];
  let at = 0;
  const put = (part: Int32Array): number => {
    parts.push(part);
    at += part.length;
    return at - part.length;
  };
  const passes: PassLayout[] = [];
  const tableAt = put(program.table);
  const bias0At = put(program.bias0);
  passes.push({
    entry: 'layer0',
    units: program.width0,
    inWidth: program.inputs,
    wAt: tableAt,
    bAt: bias0At,
    relu: true,
    shift: 0,
    fromXs: true,
  });
  for (const layer of program.hidden) {
    const wAt = put(layer.weights);
    const bAt = put(layer.bias);
    const base = { entry: 'dense', units: layer.outputs, inWidth: layer.inputs } as const;
    passes.push({ ...base, wAt, bAt, relu: true, shift: layer.shift, fromXs: false });
  }
  const wAt = put(program.outputWeights);
  const bAt = put(program.outputBias);
  const base = { entry: 'dense', units: 2, inWidth: program.outputInputs } as const;
  passes.push({ ...base, wAt, bAt, relu: false, shift: 0, fromXs: false });
  const values = new Int32Array(at);
  let offset = 0;
  for (const part of parts) {
    values.set(part, offset);
    offset += part.length;
  }
  return { values, passes };
}

function packDense(program: DenseProgram): { values: Float32Array; passes: PassLayout[] } {
  let total = 0;
  for (const layer of program.layers) total += layer.weights.length + layer.bias.length;
  const values = new Float32Array(total);
  const passes: PassLayout[] = [];
  let at = 0;
  program.layers.forEach((layer, index) => {
    values.set(layer.weights, at);
    values.set(layer.bias, at + layer.weights.length);
    passes.push({
      entry: 'dense',
      units: layer.outputs,
      inWidth: layer.inputs,
      wAt: at,
      bAt: at + layer.weights.length,
      relu: index < program.layers.length - 1,
      shift: 0,
      fromXs: index === 0,
    });
    at += layer.weights.length + layer.bias.length;
  });
  return { values, passes };
}
