import { LakeError } from '../errors.js';
import { createPredictor } from '../kernels/create.js';
import { wasmAvailable } from '../kernels/wasm/module.js';
import { LakeLib } from '../lake/lib/lake-lib.js';
import {
  type ContextHandle,
  type DevicePtr,
  type FunctionHandle,
  type HostPtr,
  type LakeLibOptions,
  ptrArg,
  type StreamHandle,
  scalarArg,
} from '../lake/lib/types.js';
import { syntheticLinnosModel } from '../lake/linnos/calibrate.js';
import { LAKE_BATCHING } from '../lake/policy/constants.js';
import { LINNOS_FEATURES } from '../linnos/features.js';
import type { LinnosShape } from '../models/dense.js';
import { Random } from '../random.js';
import type { BenchResult, BenchSuite } from './harness.js';

/**
 * The soak benchmark: lakeLib drives lakeD with LinnOS inference batches without a pause for a long time,
 * and we watch what must not move (memory) and what must not be lost (decisions). Every batch carries
 * fresh seeded digit vectors; its decisions are checked row by row against the same predictor run inline,
 * so a decision that went missing, came back twice or answered another batch is counted, not guessed.
 */

export interface SoakOptions {
  /** How long to drive lakeD, seconds. */
  seconds: number;
  /** Memory is sampled this often, ms (default 1000). */
  sampleMs?: number;
  /** The model shape (default 'nn', LinnOS's 31-256-2). */
  shape?: LinnosShape;
  /** Batches hold 1..maxBatch reads, seeded (default LAKE's maximum batch for the shape). */
  maxBatch?: number;
  /** Batches in flight at once, each on its own stream (default 4): lakeD never waits for the client. */
  inFlight?: number;
  /** Seconds at the start left out of the memory slopes (default 10% of the run, at least one sample). */
  warmupSeconds?: number;
  seed?: number;
  /** lakeLib's options (tests give lakeD a longer hang timeout on a busy machine). */
  lakeLibOptions?: LakeLibOptions;
}

/** One sample of the process and of lakeShm while the soak runs. */
export interface SoakSample {
  /** Seconds since the start of the soak. */
  atS: number;
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  /** lakeShm arena: bytes of allocated blocks. */
  arenaBytesInUse: number;
  arenaLiveBlocks: number;
  /** Decisions requested and received so far. */
  sent: number;
  received: number;
}

/** Bytes per minute from a least-squares line through the samples after warm-up. */
export interface SoakSlopes {
  rssBytesPerMin: number;
  heapUsedBytesPerMin: number;
  externalBytesPerMin: number;
  arrayBuffersBytesPerMin: number;
  arenaBytesPerMin: number;
}

export interface SoakResult {
  shape: LinnosShape;
  backend: string;
  seconds: number;
  warmupSeconds: number;
  batchesSent: number;
  batchesReceived: number;
  /** Decisions (reads) requested from lakeD. */
  sent: number;
  /** Decisions that came back (a 0 or 1 where the batch's output was poisoned before the request). */
  received: number;
  /** sent - received: must be 0. */
  lost: number;
  /** Decisions received that differ from the inline predictor's on the same vectors: must be 0. */
  mismatched: number;
  /** Decisions that said slow (so the check compares both classes, not one constant). */
  slow: number;
  decisionsPerSecond: number;
  batchesPerSecond: number;
  meanBatch: number;
  slopes: SoakSlopes;
  /** RSS after warm-up: first and last sample, and the largest. */
  rss: { afterWarmupBytes: number; endBytes: number; maxBytes: number };
  /** lakeShm bytes in use before the soak's buffers were allocated, after they were, and at the end. */
  arena: { beforeBytes: number; steadyBytes: number; endBytes: number };
  /** lakeD's restarts and why (a hang, a crash), and the commands lakeLib finished inline meanwhile. */
  lakeLib: {
    restarts: number;
    failures: { kind: string; detail: string; silentMs: number; inFlight: number }[];
    daemonCommands: number;
    inlineCommands: number;
  };
  samples: SoakSample[];
  node: string;
}

/** Output bytes are set to this before each request: only lakeD's answer turns them into 0 or 1. */
const POISON = 0xff;

interface Slot {
  readonly stream: StreamHandle;
  readonly hostIn: HostPtr;
  readonly hostOut: HostPtr;
  readonly deviceIn: DevicePtr;
  readonly deviceOut: DevicePtr;
  readonly input: Uint8Array;
  readonly output: Uint8Array;
  readonly expected: Uint8Array;
  /** Rows of the batch in flight (0: none). */
  rows: number;
}

/** One batch slot per stream: pinned host buffers (listed in `hostBuffers` to free), device buffers. */
function openSlots(
  lib: LakeLib,
  context: ContextHandle,
  inFlight: number,
  maxBatch: number,
  hostBuffers: HostPtr[],
): Slot[] {
  const slots: Slot[] = [];
  for (let s = 0; s < inFlight; s++) {
    const hostIn = lib.hostAlloc(maxBatch * LINNOS_FEATURES);
    hostBuffers.push(hostIn);
    const hostOut = lib.hostAlloc(maxBatch);
    hostBuffers.push(hostOut);
    slots.push({
      stream: lib.streamCreate(context),
      hostIn,
      hostOut,
      deviceIn: lib.memAlloc(context, maxBatch * LINNOS_FEATURES),
      deviceOut: lib.memAlloc(context, maxBatch),
      input: lib.arena.bytes(hostIn, maxBatch * LINNOS_FEATURES),
      output: lib.arena.bytes(hostOut, maxBatch),
      expected: new Uint8Array(maxBatch),
      rows: 0,
    });
  }
  return slots;
}

/**
 * The soak's traffic: seeded batches sent on a slot's stream, and each slot's answer reaped and checked
 * row by row against the inline predictor, with the counts the result reports.
 */
class SoakTraffic {
  batchesSent = 0;
  batchesReceived = 0;
  sent = 0;
  received = 0;
  mismatched = 0;
  slow = 0;

  readonly #lib: LakeLib;
  readonly #predict: FunctionHandle;
  readonly #reference: ReturnType<typeof createPredictor>;
  readonly #random: Random;
  readonly #maxBatch: number;

  constructor(
    lib: LakeLib,
    predict: FunctionHandle,
    reference: ReturnType<typeof createPredictor>,
    random: Random,
    maxBatch: number,
  ) {
    this.#lib = lib;
    this.#predict = predict;
    this.#reference = reference;
    this.#random = random;
    this.#maxBatch = maxBatch;
  }

  /** Fill the slot with 1..maxBatch fresh vectors, poison its output and send the batch to lakeD. */
  submit(slot: Slot): void {
    const lib = this.#lib;
    const random = this.#random;
    const n = 1 + random.int(this.#maxBatch);
    const input = slot.input;
    for (let i = 0; i < n * LINNOS_FEATURES; i++) input[i] = random.int(10);
    this.#reference.predictBatch(input.subarray(0, n * LINNOS_FEATURES), n, slot.expected);
    slot.output.fill(POISON, 0, n);
    lib.memcpyHtoDAsync(slot.deviceIn, slot.hostIn, n * LINNOS_FEATURES, slot.stream);
    lib.launch(this.#predict, 1, [ptrArg(slot.deviceIn), ptrArg(slot.deviceOut), scalarArg(n)], slot.stream);
    lib.memcpyDtoHAsync(slot.hostOut, slot.deviceOut, n, slot.stream);
    slot.rows = n;
    this.batchesSent++;
    this.sent += n;
  }

  /** Wait for the slot's batch and count its decisions: received, slow, and unlike the reference's. */
  reap(slot: Slot): void {
    this.#lib.streamSynchronize(slot.stream);
    const output = slot.output;
    for (let i = 0; i < slot.rows; i++) {
      const decision = output[i]!;
      if (decision === POISON) continue;
      this.received++;
      if (decision === 1) this.slow++;
      if (decision !== slot.expected[i]) this.mismatched++;
    }
    this.batchesReceived++;
    slot.rows = 0;
  }
}

/** Process and lakeShm memory now, with the traffic so far, at `atS` seconds. */
function takeSample(lib: LakeLib, traffic: SoakTraffic, atS: number): SoakSample {
  const memory = process.memoryUsage();
  const arena = lib.arena.stats();
  return {
    atS,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    externalBytes: memory.external,
    arrayBuffersBytes: memory.arrayBuffers,
    arenaBytesInUse: arena.bytesInUse,
    arenaLiveBlocks: arena.liveBlocks,
    sent: traffic.sent,
    received: traffic.received,
  };
}

/**
 * Keep every slot's batch in flight for `seconds`, reaping them in turn and sampling memory every
 * `sampleMs`; returns the samples (the first at the start, the last after the final reap) and the seconds.
 */
async function driveSlots(
  lib: LakeLib,
  slots: Slot[],
  traffic: SoakTraffic,
  seconds: number,
  sampleMs: number,
): Promise<{ samples: SoakSample[]; elapsed: number }> {
  const samples: SoakSample[] = [];
  const start = performance.now();
  const sample = (): void => {
    samples.push(takeSample(lib, traffic, (performance.now() - start) / 1000));
  };
  sample();
  const endAt = start + seconds * 1000;
  let nextSampleAt = start + sampleMs;
  let s = 0;
  for (const slot of slots) traffic.submit(slot);
  for (;;) {
    const slot = slots[s]!;
    traffic.reap(slot);
    const now = performance.now();
    if (now >= endAt) break;
    traffic.submit(slot);
    s = (s + 1) % slots.length;
    if (now >= nextSampleAt) {
      sample();
      nextSampleAt += sampleMs;
      if (nextSampleAt < now) nextSampleAt = now + sampleMs;
      // Let lakeLib's watchdog and worker events run between samples.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  for (const slot of slots) if (slot.rows > 0) traffic.reap(slot);
  const elapsed = (performance.now() - start) / 1000;
  sample();
  return { samples, elapsed };
}

/** lakeD's restarts and failures, and the commands it and lakeLib (inline) ran. */
function lakeLibSummary(lib: LakeLib): SoakResult['lakeLib'] {
  const stats = lib.stats();
  return {
    restarts: stats.restarts,
    failures: stats.failures.map((f) => ({
      kind: f.kind,
      detail: f.detail,
      silentMs: Math.round(f.silentMs),
      inFlight: f.inFlight,
    })),
    daemonCommands: stats.daemonCommands,
    inlineCommands: stats.inlineCommands,
  };
}

/** Memory slopes per minute and RSS over the samples after warm-up (all of them when under two are). */
function memoryFigures(
  samples: SoakSample[],
  warmupSeconds: number,
): { slopes: SoakSlopes; rss: SoakResult['rss'] } {
  const steady = samples.filter((x) => x.atS >= warmupSeconds);
  const fit = steady.length >= 2 ? steady : samples;
  const rssAfter = fit.map((x) => x.rssBytes);
  return {
    slopes: {
      rssBytesPerMin: slopePerMinute(fit, (x) => x.rssBytes),
      heapUsedBytesPerMin: slopePerMinute(fit, (x) => x.heapUsedBytes),
      externalBytesPerMin: slopePerMinute(fit, (x) => x.externalBytes),
      arrayBuffersBytesPerMin: slopePerMinute(fit, (x) => x.arrayBuffersBytes),
      arenaBytesPerMin: slopePerMinute(fit, (x) => x.arenaBytesInUse),
    },
    rss: {
      afterWarmupBytes: rssAfter[0]!,
      endBytes: rssAfter[rssAfter.length - 1]!,
      maxBytes: Math.max(...rssAfter),
    },
  };
}

/** Drives lakeD for `options.seconds` and reports throughput, lost and wrong decisions, and memory. */
export async function benchSoak(options: SoakOptions): Promise<SoakResult> {
  const seconds = options.seconds;
  if (!(seconds > 0 && Number.isFinite(seconds)))
    throw new LakeError('LAKE_E_USAGE', `soak seconds must be a positive number, got ${seconds}`);
  const shape = options.shape ?? 'nn';
  const maxBatch = options.maxBatch ?? LAKE_BATCHING[shape].maxBatch;
  const inFlight = options.inFlight ?? 4;
  const sampleMs = options.sampleMs ?? 1000;
  const warmupSeconds = options.warmupSeconds ?? Math.max(seconds / 10, sampleMs / 1000);
  const random = new Random(options.seed ?? 1);
  const model = syntheticLinnosModel(shape, options.seed ?? 1);
  const reference = createPredictor(model, { backend: wasmAvailable() ? 'wasm' : 'js' });
  const lib = await LakeLib.open(options.lakeLibOptions);
  const arenaBefore = lib.arena.stats().bytesInUse;
  let context: ContextHandle | undefined;
  const hostBuffers: HostPtr[] = [];
  try {
    if (lib.getDeviceCount() === 0)
      throw new LakeError('LAKE_E_WASM_UNAVAILABLE', 'lakeD has no usable backend to soak here');
    const device = lib.getDevice(0);
    context = lib.contextCreate(0);
    const predict: FunctionHandle = lib.moduleGetFunction(
      lib.moduleLoad(context, 'linnos', model),
      'predict',
    );
    const slots = openSlots(lib, context, inFlight, maxBatch, hostBuffers);
    const arenaSteady = lib.arena.stats().bytesInUse;
    const traffic = new SoakTraffic(lib, predict, reference, random, maxBatch);
    const { samples, elapsed } = await driveSlots(lib, slots, traffic, seconds, sampleMs);
    const { batchesSent, batchesReceived, sent, received, mismatched, slow } = traffic;
    return {
      shape,
      backend: device.backend,
      seconds: elapsed,
      warmupSeconds,
      batchesSent,
      batchesReceived,
      sent,
      received,
      lost: sent - received,
      mismatched,
      slow,
      decisionsPerSecond: received / elapsed,
      batchesPerSecond: batchesReceived / elapsed,
      meanBatch: batchesReceived > 0 ? received / batchesReceived : 0,
      ...memoryFigures(samples, warmupSeconds),
      arena: {
        beforeBytes: arenaBefore,
        steadyBytes: arenaSteady,
        endBytes: samples[samples.length - 1]!.arenaBytesInUse,
      },
      lakeLib: lakeLibSummary(lib),
      samples,
      node: process.version,
    };
  } finally {
    if (context !== undefined) lib.contextDestroy(context);
    for (const ptr of hostBuffers) lib.hostFree(ptr);
    reference.dispose();
    await lib.close();
  }
}

/** Least-squares slope of `value` against time, per minute; 0 with fewer than two distinct times. */
export function slopePerMinute<T extends { atS: number }>(
  points: readonly T[],
  value: (p: T) => number,
): number {
  const n = points.length;
  if (n < 2) return 0;
  let meanT = 0;
  let meanV = 0;
  for (const p of points) {
    meanT += p.atS / n;
    meanV += value(p) / n;
  }
  let num = 0;
  let den = 0;
  for (const p of points) {
    const dt = p.atS - meanT;
    num += dt * (value(p) - meanV);
    den += dt * dt;
  }
  return den > 0 ? (num / den) * 60 : 0;
}

/** The soak as a bench suite: `LAKE_BENCH_SOAK_S` seconds (default 600). */
export async function soakSuite(options: Partial<SoakOptions> = {}): Promise<BenchSuite> {
  const seconds = options.seconds ?? soakSeconds();
  return soakSuiteOf(await benchSoak({ ...options, seconds }));
}

/** Seconds from LAKE_BENCH_SOAK_S (default 600). */
export function soakSeconds(): number {
  const text = process.env['LAKE_BENCH_SOAK_S'];
  if (text === undefined || text === '') return 600;
  const value = Number(text);
  if (!(value > 0 && Number.isFinite(value)))
    throw new LakeError(
      'LAKE_E_USAGE',
      `LAKE_BENCH_SOAK_S must be a positive number of seconds, got "${text}"`,
    );
  return value;
}

/** `count` items spread evenly over `items`, first and last included. */
function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.round((i * (items.length - 1)) / (count - 1))]!);
}

export function soakSuiteOf(r: SoakResult): BenchSuite {
  const one = (name: string, unit: string, value: number, extra: Partial<BenchResult> = {}): BenchResult => ({
    name,
    unit,
    median: value,
    min: value,
    max: value,
    samples: 1,
    state: 'completed',
    ...extra,
  });
  const lostOk = r.lost === 0 && r.mismatched === 0;
  const details = {
    shape: r.shape,
    backend: r.backend,
    seconds: r.seconds,
    warmupSeconds: r.warmupSeconds,
    sent: r.sent,
    received: r.received,
    mismatched: r.mismatched,
    slowFraction: r.received > 0 ? r.slow / r.received : 0,
    batches: r.batchesReceived,
    meanBatch: r.meanBatch,
    lakeLib: r.lakeLib,
    arena: r.arena,
    rss: r.rss,
    slopes: r.slopes,
    memorySamples: r.samples.length,
    /** About ten samples spread over the run, for the record. */
    memoryOverTime: spread(r.samples, 11).map((x) => ({
      atS: Math.round(x.atS),
      rssBytes: x.rssBytes,
      heapUsedBytes: x.heapUsedBytes,
      arrayBuffersBytes: x.arrayBuffersBytes,
      arenaBytesInUse: x.arenaBytesInUse,
    })),
  };
  return {
    suite: 'soak',
    results: [
      one(
        `decisions through lakeD, ${Math.round(r.seconds)} s sustained`,
        'decisions/s',
        r.decisionsPerSecond,
        {
          details,
        },
      ),
      one('lost or wrong decisions', 'decisions', r.lost + r.mismatched, {
        details: { lost: r.lost, mismatched: r.mismatched, sent: r.sent, received: r.received },
        state: lostOk ? 'completed' : 'errored',
        ...(lostOk ? {} : { error: `${r.lost} lost, ${r.mismatched} wrong of ${r.sent}` }),
      }),
      one('RSS slope after warm-up', 'bytes/min', r.slopes.rssBytesPerMin, { details: { rss: r.rss } }),
      one('heap-used slope after warm-up', 'bytes/min', r.slopes.heapUsedBytesPerMin),
      one('external slope after warm-up', 'bytes/min', r.slopes.externalBytesPerMin),
      one('lakeShm bytes in use, end minus start', 'bytes', r.arena.endBytes - r.arena.steadyBytes, {
        details: r.arena,
      }),
    ],
  };
}
