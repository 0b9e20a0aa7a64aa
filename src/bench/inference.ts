import { createPredictor } from '../kernels/create.js';
import type { Backend } from '../kernels/types.js';
import { planInt16 } from '../kernels/wasm/int16-plan.js';
import type { DenseModel } from '../models/dense.js';
import { type LinnosShape, linnosLayerSizes } from '../models/dense.js';
import { quantizeLinnos } from '../models/linnos-integer.js';
import { Random } from '../random.js';
import { type BenchResult, type BenchSuite, summarise } from './harness.js';
import { submitPathResults } from './inference-submit.js';
import { type BenchClock, benchClock, timeCalls, timedResult } from './inference-timing.js';
import { openNativeReference } from './native-reference.js';

/**
 * ns per prediction of each backend at each batch size, on a seeded random LinnOS model and seeded
 * LinnOS-like digit vectors: a warm-up, then `samples` timed runs of about `runMs` each; the median run
 * is reported, with `ratio` = median / the js (plain TS float) median at the same batch size (below 1 is
 * faster) and `details.speedup` its inverse. Batch 1 calls predict() on one vector after another from a
 * pool of 1024; batch N calls predictBatch() on N consecutive vectors of the pool.
 *
 * Then, at batch 1: the submit step of the incremental predictors (inference-submit.ts: LinnOS's decision
 * with the history's first-layer sums kept off the submit path), and the native C reference
 * (native-reference.ts), compiled and timed in the same run after its raw outputs were checked equal to
 * lake's on every vector of the pool. Every batch-1 row then carries `details.vsNativeInt16`, its median
 * over the C int16 forward's (the targets: the submit-path decision at most 0.4x, the full wasm
 * forward at most 1.3x). On x86-64 the C int16 forward is also built with -mno-avx (`c int16 128-bit`: SSE2,
 * the vector width WASM SIMD has), to tell the vector width from the code. Without a C compiler
 * `native.status` is 'absent' and says why.
 */
export interface InferenceBenchOptions {
  batchSizes?: number[];
  backends?: Backend[];
  shape?: LinnosShape;
  samples?: number;
  /** Target length of one timed run. */
  runMs?: number;
  seed?: number;
  /** Time the incremental submit step (default true). */
  incremental?: boolean;
  /** Compile and time the C reference when a compiler is found (default true). */
  native?: boolean;
  /** What the timings read (inference-timing.ts); default LAKE_BENCH_CLOCK, else 'wall'. */
  clock?: BenchClock;
}

export interface NativeSummary {
  status: 'measured' | 'absent' | 'mismatch' | 'skipped';
  /** Why the reference is absent, or where it disagreed with lake. */
  reason?: string;
  compiler?: string;
  compilerVersion?: string;
  flags?: string[];
  /** The flags of the 128-bit build (x86-64: -mno-avx, SSE2 as wide as WASM SIMD), when it was made. */
  flags128?: string[];
  /** Vectors whose raw outputs were compared with lake's (int16 plan and LinnOS int64) before timing. */
  checkedVectors?: number;
}

export interface InferenceBenchSuite extends BenchSuite {
  suite: 'inference';
  shape: string;
  clock: BenchClock;
  native: NativeSummary;
}

const POOL = 1024;
const DEFAULT_BACKENDS: Backend[] = ['wasm', 'exact', 'js'];
export const NATIVE_INT16 = 'c int16 batch 1';
export const NATIVE_INT64 = 'c linnos-int64 batch 1';
export const NATIVE_INT16_128 = 'c int16 128-bit batch 1';

export async function benchInference(options: InferenceBenchOptions = {}): Promise<InferenceBenchSuite> {
  const batchSizes = options.batchSizes ?? [1, 256];
  const samples = options.samples ?? 5;
  const runMs = options.runMs ?? 150;
  const clock = options.clock ?? benchClock();
  const sizes = linnosLayerSizes(options.shape ?? 'nn');
  const random = new Random(options.seed ?? 42);
  const model = seededModel(random, sizes);
  const pool = linnosLikeVectors(random, Math.max(POOL, ...batchSizes));
  const results: BenchResult[] = [];
  for (const batch of batchSizes) {
    results.push(
      ...withJsRatios(
        fullForwardRow(model, pool, batch, options.backends ?? DEFAULT_BACKENDS, samples, runMs, clock),
      ),
    );
  }
  const extra: BenchResult[] = [];
  if (options.incremental !== false) extra.push(...submitPathResults(model, pool, samples, runMs, clock));
  let native: NativeSummary = { status: 'skipped', reason: 'not asked for (native: false)' };
  if (options.native !== false) {
    const measured = await nativeResults(model, pool.subarray(0, POOL * sizes[0]!), samples, runMs, clock);
    native = measured.summary;
    extra.push(...measured.results);
  }
  const jsBatch1 = results.find((r) => r.name === 'js batch 1' && r.state === 'completed');
  for (const result of extra) results.push(jsBatch1 === undefined ? result : withRatio(result, jsBatch1));
  const c = results.find((r) => r.name === NATIVE_INT16 && r.state === 'completed');
  if (c !== undefined) {
    for (const result of results) {
      if (result.state === 'completed' && result.details?.['batch'] === 1) {
        result.details = { ...result.details, vsNativeInt16: result.median / c.median };
      }
    }
  }
  return { suite: 'inference', shape: sizes.join('-'), clock, results, native };
}

function fullForwardRow(
  model: DenseModel,
  pool: Uint8Array,
  batch: number,
  backends: Backend[],
  samples: number,
  runMs: number,
  clock: BenchClock,
): BenchResult[] {
  const row: BenchResult[] = [];
  for (const backend of backends) {
    const predictor = createPredictor(model, { backend });
    const inputs = predictor.inputs;
    const vectors = pool.length / inputs;
    const views = Array.from({ length: vectors }, (_, v) => pool.subarray(v * inputs, (v + 1) * inputs));
    const out = new Uint8Array(batch);
    const batches = Math.floor(vectors / batch);
    // Each loop is written out where it runs (not a callback per call), so the timed call is the kernel's.
    const run =
      batch === 1
        ? (calls: number): number => {
            let sink = 0;
            for (let c = 0; c < calls; c++) sink += predictor.predict(views[c % vectors]!);
            return sink;
          }
        : (calls: number): number => {
            let sink = 0;
            for (let c = 0; c < calls; c++) {
              const from = (c % batches) * batch * inputs;
              predictor.predictBatch(pool.subarray(from, from + batch * inputs), batch, out);
              sink += out[0]!;
            }
            return sink;
          };
    row.push(
      timedResult(`${backend} batch ${batch}`, 'ns/prediction', { backend, batch }, () =>
        timeCalls(run, batch, samples, runMs, clock),
      ),
    );
    predictor.dispose();
  }
  return row;
}

function withRatio(result: BenchResult, reference: BenchResult): BenchResult {
  if (result.state !== 'completed') return result;
  return {
    ...result,
    ratio: result.median / reference.median,
    reference: reference.name,
    details: { ...result.details, speedup: reference.median / result.median },
  };
}

function withJsRatios(row: BenchResult[]): BenchResult[] {
  const reference = row.find((r) => r.details?.['backend'] === 'js' && r.state === 'completed');
  return reference === undefined ? row : row.map((result) => withRatio(result, reference));
}

/**
 * The C reference on the same model: its raw outputs on `vectors` must equal lake's wasm (int16 plan) and
 * exact (LinnOS integers) backends' before it is timed, over the same vectors in the same order.
 */
async function nativeResults(
  model: DenseModel,
  vectors: Uint8Array,
  samples: number,
  runMs: number,
  clock: BenchClock,
): Promise<{ summary: NativeSummary; results: BenchResult[] }> {
  const plan = planInt16(model);
  const opening = await openNativeReference(plan, quantizeLinnos(model), vectors);
  if ('absent' in opening) {
    return {
      summary: { status: 'absent', reason: opening.absent },
      results: [notTimed(`reference absent: ${opening.absent}`)],
    };
  }
  const reference = opening.reference;
  try {
    const summary: NativeSummary = {
      status: 'measured',
      compiler: reference.compiler.command,
      compilerVersion: reference.compiler.version,
      flags: [...(reference.builds.native ?? [])],
    };
    const narrow = reference.builds['128-bit'];
    if (narrow !== undefined) summary.flags128 = [...narrow];
    for (const build of narrow === undefined ? (['native'] as const) : (['native', '128-bit'] as const)) {
      const disagreement = compareWithLake(model, vectors, reference.check(build));
      if (disagreement !== undefined) {
        return {
          summary: { ...summary, status: 'mismatch', reason: `${build} build, ${disagreement}` },
          results: [notTimed(`not timed: C (${build}) and lake disagree on ${disagreement}`)],
        };
      }
    }
    summary.checkedVectors = vectors.length / plan.inputs;
    const times = reference.time(samples, runMs, clock, 'native');
    const results = [
      summarise(NATIVE_INT16, 'ns/prediction', times.int16, { backend: 'c-int16', batch: 1 }),
      summarise(NATIVE_INT64, 'ns/prediction', times.int64, { backend: 'c-linnos-int64', batch: 1 }),
    ];
    if (narrow !== undefined) {
      const narrowTimes = reference.time(samples, runMs, clock, '128-bit');
      results.push(
        summarise(NATIVE_INT16_128, 'ns/prediction', narrowTimes.int16, { backend: 'c-int16-128', batch: 1 }),
      );
    }
    return { summary, results };
  } finally {
    reference.close();
  }
}

/** The C row when there is no C figure: errored, saying why, so that the table shows it too. */
function notTimed(why: string): BenchResult {
  return {
    name: NATIVE_INT16,
    unit: 'ns/prediction',
    median: Number.NaN,
    min: Number.NaN,
    max: Number.NaN,
    samples: 0,
    details: { backend: 'c-int16', batch: 1 },
    state: 'errored',
    error: why,
  };
}

/** The first vector whose C raw outputs differ from lake's, described; undefined when all agree. */
function compareWithLake(
  model: DenseModel,
  vectors: Uint8Array,
  outputs: { int16: number[]; int64: number[] },
): string | undefined {
  const pairs: [string, 'wasm' | 'exact', number[]][] = [
    ['int16', 'wasm', outputs.int16],
    ['int64', 'exact', outputs.int64],
  ];
  const raw = new Float64Array(2);
  for (const [kernel, backend, values] of pairs) {
    const predictor = createPredictor(model, { backend });
    try {
      const n = vectors.length / predictor.inputs;
      if (values.length !== 2 * n) return `C ${kernel} gave ${values.length / 2} outputs for ${n} vectors`;
      for (let v = 0; v < n; v++) {
        predictor.rawScores(vectors.subarray(v * predictor.inputs, (v + 1) * predictor.inputs), raw);
        if (raw[0] !== values[2 * v] || raw[1] !== values[2 * v + 1]) {
          return `vector ${v}: C ${kernel} (${values[2 * v]}, ${values[2 * v + 1]}), lake ${backend} (${raw[0]}, ${raw[1]})`;
        }
      }
    } finally {
      predictor.dispose();
    }
  }
  return undefined;
}

function seededModel(random: Random, sizes: number[]): DenseModel {
  return {
    layers: sizes.slice(1).map((outputs, l) => {
      const inputs = sizes[l]!;
      const spread = Math.sqrt(2 / inputs) / (l === 0 ? 4.5 : 1);
      return {
        inputs,
        outputs,
        weights: Float32Array.from({ length: inputs * outputs }, () => random.normal() * spread),
        bias: Float32Array.from({ length: outputs }, () => random.normal() * 0.1),
      };
    }),
  };
}

/** LinnOS-shaped vectors: 5 pendings (3 digits, lognormal pages), 4 latencies (4 digits, lognormal us). */
function linnosLikeVectors(random: Random, count: number): Uint8Array {
  const out = new Uint8Array(count * 31);
  let at = 0;
  const put = (value: number, width: number): void => {
    let v = Math.min(Math.floor(value), 10 ** width - 1);
    for (let k = width - 1; k >= 0; k--) {
      out[at + k] = v % 10;
      v = Math.floor(v / 10);
    }
    at += width;
  };
  for (let v = 0; v < count; v++) {
    const busy = random.next() < 0.3;
    for (let k = 0; k < 5; k++) put(random.lognormal(busy ? 4.5 : 2.5, 1), 3);
    for (let k = 0; k < 4; k++) put(random.lognormal(busy ? 7 : 5, 0.9), 4);
  }
  return out;
}
