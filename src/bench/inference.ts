import { createPredictor } from '../kernels/create.js';
import type { Backend, Predictor } from '../kernels/types.js';
import type { DenseModel } from '../models/dense.js';
import { type LinnosShape, linnosLayerSizes } from '../models/dense.js';
import { Random } from '../random.js';
import { type BenchResult, type BenchSuite, summarise } from './harness.js';

/**
 * ns per prediction of each backend at each batch size, on a seeded random LinnOS model and seeded
 * LinnOS-like digit vectors: a warm-up, then `samples` timed runs of about `runMs` each; the median run
 * is reported, with `ratio` = median / the js (plain TS float) median at the same batch size (below 1 is
 * faster) and `details.speedup` its inverse. Batch 1 calls predict() on one vector after another from a
 * pool of 1024; batch N calls predictBatch() on N consecutive vectors of the pool.
 */
export interface InferenceBenchOptions {
  batchSizes?: number[];
  backends?: Backend[];
  shape?: LinnosShape;
  samples?: number;
  /** Target length of one timed run. */
  runMs?: number;
  seed?: number;
}

export interface InferenceBenchSuite extends BenchSuite {
  suite: 'inference';
  shape: string;
}

const POOL = 1024;
const DEFAULT_BACKENDS: Backend[] = ['wasm', 'exact', 'js'];

export function benchInference(options: InferenceBenchOptions = {}): InferenceBenchSuite {
  const batchSizes = options.batchSizes ?? [1, 256];
  const backends = options.backends ?? DEFAULT_BACKENDS;
  const samples = options.samples ?? 5;
  const runMs = options.runMs ?? 150;
  const sizes = linnosLayerSizes(options.shape ?? 'nn');
  const random = new Random(options.seed ?? 42);
  const model = seededModel(random, sizes);
  const pool = linnosLikeVectors(random, Math.max(POOL, ...batchSizes));
  const results: BenchResult[] = [];
  for (const batch of batchSizes) {
    const row: BenchResult[] = [];
    for (const backend of backends) {
      const predictor = createPredictor(model, { backend });
      try {
        const perRun = timeRuns(predictor, pool, batch, samples, runMs);
        row.push(summarise(`${backend} batch ${batch}`, 'ns/prediction', perRun, { backend, batch }));
      } catch (error) {
        row.push({
          name: `${backend} batch ${batch}`,
          unit: 'ns/prediction',
          median: Number.NaN,
          min: Number.NaN,
          max: Number.NaN,
          samples: 0,
          details: { backend, batch },
          state: 'errored',
          error: error instanceof Error ? error.message : String(error),
        });
      } finally {
        predictor.dispose();
      }
    }
    const reference = row.find((r) => r.details?.['backend'] === 'js' && r.state === 'completed');
    for (const result of row) {
      if (reference !== undefined && result.state === 'completed') {
        result.ratio = result.median / reference.median;
        result.reference = reference.name;
        result.details = { ...result.details, speedup: reference.median / result.median };
      }
      results.push(result);
    }
  }
  return { suite: 'inference', shape: sizes.join('-'), results };
}

/** Runs of ~runMs each after a warm-up of about the same length; ns per prediction of each run. */
function timeRuns(
  predictor: Predictor,
  pool: Uint8Array,
  batch: number,
  samples: number,
  runMs: number,
): number[] {
  const inputs = predictor.inputs;
  const vectors = pool.length / inputs;
  const views = Array.from({ length: vectors }, (_, v) => pool.subarray(v * inputs, (v + 1) * inputs));
  const out = new Uint8Array(batch);
  const batches = Math.floor(vectors / batch);
  let sink = 0;
  // One call = `batch` predictions; returns ns for `calls` calls.
  const run = (calls: number): number => {
    const start = process.hrtime.bigint();
    if (batch === 1) {
      for (let c = 0; c < calls; c++) sink += predictor.predict(views[c % vectors]!);
    } else {
      for (let c = 0; c < calls; c++) {
        const from = (c % batches) * batch * inputs;
        predictor.predictBatch(pool.subarray(from, from + batch * inputs), batch, out);
        sink += out[0]!;
      }
    }
    return Number(process.hrtime.bigint() - start);
  };
  // Warm-up doubles the call count until a run takes a fifth of the target, which also calibrates it.
  let calls = 1;
  let elapsed = run(calls);
  while (elapsed < (runMs * 1e6) / 5) {
    calls *= 2;
    elapsed = run(calls);
  }
  calls = Math.max(1, Math.round((calls * runMs * 1e6) / elapsed));
  run(calls);
  const perPrediction: number[] = [];
  for (let s = 0; s < samples; s++) perPrediction.push(run(calls) / (calls * batch));
  if (sink < 0) throw new Error('unreachable');
  return perPrediction;
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
