/**
 * The training benchmark: seconds per million samples for one epoch (forward + backward + Adam, batch 128)
 * of each LinnOS shape, on synthetic LinnOS-like vectors (pending counts mostly with leading zeros,
 * 4-digit latencies, a learnable slow rule). The target: <= 30 s per million for 31-256-2 on one core.
 *
 * Each case first runs a short warm-up epoch on its own network (JIT and WASM tier-up), then times one epoch
 * from a fresh initialisation. The hinge loss skips the backward pass of samples whose margin is met, so its
 * time depends on how far training has come; cross-entropy always runs the backward pass (the worst case).
 */

import type { LossKind } from '../learn/mlp.js';
import { WasmDigitMlp } from '../learn/wasm-mlp.js';
import { createNetwork, type TrainingBackend, type TrainingData, trainEpoch } from '../linnos/train.js';
import { type LinnosShape, linnosLayerSizes } from '../models/dense.js';
import { Random } from '../random.js';
import { type BenchResult, type BenchSuite, withRatios } from './harness.js';

export interface TrainingBenchOptions {
  /** Samples per timed epoch (default 100,000). */
  samples?: number;
  /** Timed epochs per case, each from a fresh initialisation; the median is reported (default 1). */
  repeats?: number;
  /** Default: all three. */
  shapes?: readonly LinnosShape[];
  /** Default: both. */
  losses?: readonly LossKind[];
  /** Default 'auto'. */
  backend?: TrainingBackend | 'auto';
  seed?: number;
}

export interface TrainingBenchResult {
  shape: LinnosShape;
  loss: LossKind;
  backend: TrainingBackend;
  samples: number;
  repeats: number;
  /** Median seconds of one epoch over `samples`. */
  seconds: number;
  /** Median, fastest and slowest seconds per million samples. */
  secondsPerMillion: number;
  minSecondsPerMillion: number;
  maxSecondsPerMillion: number;
  /** Training samples per second (at the median). */
  samplesPerSecond: number;
}

/** LinnOS-like digit vectors with a slow label from pending and latency (5% label noise). */
export function syntheticLinnosData(samples: number, seed: number): TrainingData {
  const random = new Random(seed);
  const vectors = new Uint8Array(samples * 31);
  const labels = new Uint8Array(samples);
  for (let s = 0; s < samples; s++) {
    const base = s * 31;
    const put = (value: number, at: number, width: number): void => {
      for (let k = width - 1; k >= 0; k--) {
        vectors[base + at + k] = value % 10;
        value = Math.floor(value / 10);
      }
    };
    for (let k = 0; k < 4; k++) put(Math.floor(random.exponential(60)), k * 3, 3);
    const pendNow = Math.floor(random.exponential(60));
    put(pendNow, 12, 3);
    let latency = 0;
    for (let k = 0; k < 4; k++) {
      latency = Math.floor(random.lognormal(5, 1));
      put(Math.min(9999, latency), 15 + k * 4, 4);
    }
    const slow = pendNow > 120 || (pendNow > 60 && latency > 400);
    labels[s] = (random.next() < 0.05 ? !slow : slow) ? 1 : 0;
  }
  return { vectors, labels };
}

export function benchTraining(options: TrainingBenchOptions = {}): TrainingBenchResult[] {
  const samples = options.samples ?? 100_000;
  const repeats = options.repeats ?? 1;
  const shapes = options.shapes ?? (['nn', 'nn+1', 'nn+2'] as const);
  const losses = options.losses ?? (['hinge', 'xent'] as const);
  const seed = options.seed ?? 1;
  const backend = options.backend ?? 'auto';
  const data = syntheticLinnosData(samples, seed);
  const rows = new Int32Array(samples);
  for (let i = 0; i < samples; i++) rows[i] = i;
  const warmRows = rows.subarray(0, Math.min(samples, 5000));
  const results: TrainingBenchResult[] = [];
  for (const shape of shapes) {
    const sizes = linnosLayerSizes(shape);
    for (const loss of losses) {
      const epoch = {
        loss,
        batchSize: 128,
        classWeight: [1, 5],
        learningRate: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-7,
      };
      trainEpoch(createNetwork(sizes, seed, { backend }), data, warmRows, epoch);
      const times: number[] = [];
      let used: TrainingBackend = 'js';
      for (let r = 0; r < repeats; r++) {
        const network = createNetwork(sizes, seed + r, { backend });
        used = network instanceof WasmDigitMlp ? 'wasm' : 'js';
        times.push(trainEpoch(network, data, rows, epoch).seconds);
      }
      times.sort((a, b) => a - b);
      const mid = times.length >> 1;
      const seconds = times.length % 2 === 1 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
      const perMillion = (t: number): number => (t / samples) * 1e6;
      results.push({
        shape,
        loss,
        backend: used,
        samples,
        repeats,
        seconds,
        secondsPerMillion: perMillion(seconds),
        minSecondsPerMillion: perMillion(times[0]!),
        maxSecondsPerMillion: perMillion(times[times.length - 1]!),
        samplesPerSecond: samples / seconds,
      });
    }
  }
  return results;
}

/**
 * The training benchmark as a `lake bench` suite: each shape and loss on the default backend, plus NN on the
 * plain-JS backend as the reference the ratios compare against. `repeats` epochs per case.
 */
export function trainingBenchSuite(repeats: number, samples = 100_000): BenchSuite {
  const results: BenchResult[] = [];
  const add = (r: TrainingBenchResult): void => {
    results.push({
      name: `train ${r.shape} ${r.loss} (${r.backend})`,
      unit: 's per 1M samples',
      median: r.secondsPerMillion,
      min: r.minSecondsPerMillion,
      max: r.maxSecondsPerMillion,
      samples: r.repeats,
      details: {
        samplesPerEpoch: r.samples,
        samplesPerSecond: Math.round(r.samplesPerSecond),
        targetSeconds: 30,
      },
      state: 'completed',
    });
  };
  for (const r of benchTraining({ samples, repeats })) add(r);
  for (const r of benchTraining({
    samples: Math.min(samples, 50_000),
    repeats,
    shapes: ['nn'],
    backend: 'js',
  })) {
    add(r);
  }
  return { suite: 'training', results: withRatios(results, 'train nn xent (js)') };
}
