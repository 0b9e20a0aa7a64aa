import { LakeError } from '../../errors.js';
import type { BackendName } from '../backends/types.js';
import { INLINE } from './constants.js';

/**
 * The crossover between inline inference and each lakeD backend, measured at start-up (LAKE hard-codes
 * it: 8 for NN on its GPU). A table holds microseconds per batch for a list of batch sizes, inline and on
 * each backend; a backend's crossover is the smallest measured batch size from which it beats inline at
 * every larger measured size too (one lucky point below the real crossover does not count).
 */

/**
 * How a backend runs a batch. 'split': a CPU co-processor (lakeD's core) takes part of the batch while the
 * caller runs the rest inline, then both join (LinnOS's second core). 'offload': the backend runs all of it
 * and the caller waits (LAKE's GPU: copy in, launch, copy out).
 */
export type BatchMode = 'split' | 'offload';

export interface BackendCalibration {
  readonly backend: BackendName;
  readonly mode: BatchMode;
  /** Microseconds per batch, one per batch size of the table. */
  readonly usPerBatch: readonly number[];
  /** Smallest batch from which this backend wins; null when it never does within the table. */
  readonly crossover: number | null;
}

export interface CalibrationTable {
  /** The model the table was measured for (e.g. 'nn', 'nn+1', 'nn+2'). */
  readonly model: string;
  /** Ascending batch sizes. */
  readonly batchSizes: readonly number[];
  /** Microseconds per batch inline, one per batch size. */
  readonly inlineUs: readonly number[];
  readonly backends: readonly BackendCalibration[];
  /**
   * 'measured' at start-up on this machine; 'nominal': built around crossovers the user gave
   * (nominalCalibration), so that a run does not depend on this machine's timings; 'injected': given whole
   * (tests).
   */
  readonly source: 'measured' | 'injected' | 'nominal';
}

export interface CalibrationInput {
  readonly model: string;
  readonly batchSizes: readonly number[];
  readonly inlineUs: readonly number[];
  readonly backends: readonly {
    readonly backend: BackendName;
    readonly mode?: BatchMode;
    readonly usPerBatch: readonly number[];
  }[];
}

/** The smallest batch size from which `backendUs` beats `inlineUs` at every larger size; null if none. */
export function crossoverFrom(
  batchSizes: readonly number[],
  inlineUs: readonly number[],
  backendUs: readonly number[],
): number | null {
  let crossover: number | null = null;
  for (let i = batchSizes.length - 1; i >= 0; i--) {
    if (!(backendUs[i]! < inlineUs[i]!)) break;
    crossover = batchSizes[i]!;
  }
  return crossover;
}

/** A checked table from timings (measured or given), with each backend's crossover computed. */
export function calibrationTable(
  input: CalibrationInput,
  source: CalibrationTable['source'] = 'injected',
): CalibrationTable {
  const fail = (message: string): never => {
    throw new LakeError('LAKE_E_USAGE', `calibration table for ${input.model}: ${message}`);
  };
  const sizes = input.batchSizes;
  if (sizes.length === 0) fail('no batch sizes');
  sizes.forEach((size, i) => {
    if (!Number.isSafeInteger(size) || size < 1) fail(`batch size ${size} is not a positive integer`);
    if (i > 0 && size <= sizes[i - 1]!) fail('batch sizes must be ascending');
  });
  const checkTimes = (what: string, times: readonly number[]): void => {
    if (times.length !== sizes.length)
      fail(`${what}: ${times.length} timings for ${sizes.length} batch sizes`);
    for (const t of times) if (!(t > 0 && Number.isFinite(t))) fail(`${what}: timing ${t} is not positive`);
  };
  checkTimes(INLINE, input.inlineUs);
  const backends = input.backends.map((b) => {
    checkTimes(b.backend, b.usPerBatch);
    return {
      backend: b.backend,
      mode: b.mode ?? 'split',
      usPerBatch: [...b.usPerBatch],
      crossover: crossoverFrom(sizes, input.inlineUs, b.usPerBatch),
    };
  });
  return {
    model: input.model,
    batchSizes: [...sizes],
    inlineUs: [...input.inlineUs],
    backends,
    source,
  };
}

/**
 * The nominal inference cost of one multiply-accumulate inline, ns: lake's WASM SIMD int16 kernel runs
 * LinnOS's NN (31-256-2, 8,448 multiply-accumulates) in 253 ns per prediction on the reference VM
 * (BENCHMARKS.md), so 0.03 ns each.
 */
export const NOMINAL_NS_PER_MAC = 253 / 8448;

export interface NominalCalibrationInput {
  readonly model: string;
  /** Multiply-accumulates of one prediction (the model's size). */
  readonly multiplyAccumulates: number;
  /** The batch size from which every backend beats inline (null: never). */
  readonly crossover: number | null;
  readonly backends: readonly { readonly backend: BackendName; readonly mode: BatchMode }[];
  readonly batchSizes: readonly number[];
}

/**
 * A calibration table that measures nothing: built around a crossover the user gave (`--crossovers`), so
 * that placement and the inference time charged to reads are the same on every run and every machine.
 * Inline a batch of n costs n x r, r = multiplyAccumulates x NOMINAL_NS_PER_MAC; each backend costs
 * r x n / 2 + r x (crossover - 0.5) / 2 (half the batch in parallel, plus a fixed cost that puts the
 * crossover where it was given), or r x (n + 1) when it never wins. Times are rounded to the nanosecond.
 */
export function nominalCalibration(input: NominalCalibrationInput): CalibrationTable {
  const c = input.crossover;
  const largest = input.batchSizes[input.batchSizes.length - 1] ?? 0;
  if (c !== null && !(Number.isSafeInteger(c) && c >= 1 && c <= largest)) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `crossover of ${input.model} must be a whole batch size from 1 to ${largest} or never, got ${c}`,
    );
  }
  const perRowUs = (input.multiplyAccumulates * NOMINAL_NS_PER_MAC) / 1000;
  const backendUs = (n: number): number =>
    toNanosecond(c === null ? perRowUs * (n + 1) : (perRowUs * n) / 2 + (perRowUs * (c - 0.5)) / 2);
  return calibrationTable(
    {
      model: input.model,
      batchSizes: input.batchSizes,
      inlineUs: input.batchSizes.map((n) => toNanosecond(perRowUs * n)),
      backends: input.backends.map((b) => ({
        backend: b.backend,
        mode: b.mode,
        usPerBatch: input.batchSizes.map(backendUs),
      })),
    },
    'nominal',
  );
}

export function backendCalibration(table: CalibrationTable, backend: string): BackendCalibration | undefined {
  return table.backends.find((b) => b.backend === backend);
}

/**
 * Microseconds a batch of `batchSize` costs on `placement` ('inline' or a backend of the table): the
 * measured figure, linear between measured sizes, and extrapolated from the last two beyond them.
 */
export function batchCostUs(table: CalibrationTable, placement: string, batchSize: number): number {
  const times = placement === INLINE ? table.inlineUs : backendCalibration(table, placement)?.usPerBatch;
  if (times === undefined)
    throw new LakeError('LAKE_E_USAGE', `calibration table for ${table.model} has no placement ${placement}`);
  const sizes = table.batchSizes;
  const exact = sizes.indexOf(batchSize);
  if (exact >= 0) return times[exact]!;
  if (sizes.length === 1 || batchSize < sizes[0]!) return (times[0]! * batchSize) / sizes[0]!;
  let hi = sizes.findIndex((s) => s > batchSize);
  if (hi < 0) hi = sizes.length - 1;
  const lo = hi - 1;
  const slope = (times[hi]! - times[lo]!) / (sizes[hi]! - sizes[lo]!);
  return Math.max(times[lo]! + slope * (batchSize - sizes[lo]!), Number.MIN_VALUE);
}

/** What calibration times: one model's batch inference, inline and on each backend. */
export interface BatchRunner {
  readonly model: string;
  /** The largest batch the runner holds inputs for. */
  readonly capacity: number;
  readonly backends: readonly { readonly name: BackendName; readonly mode: BatchMode }[];
  runInline(n: number): void;
  runOn(backend: BackendName, n: number): void;
  /** Wakes a backend before its timings (lakeD sleeps after ~50 us idle; calibration measures it hot). */
  warm(backend: BackendName): void;
}

/** 1..16 one by one (where LAKE's thresholds live), then powers of two to 1024 (LAKE's figure). */
export const DEFAULT_CALIBRATION_SIZES: readonly number[] = [
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 32, 64, 128, 256, 512, 1024,
];

export interface CalibrateOptions {
  /** Default DEFAULT_CALIBRATION_SIZES up to the runner's capacity. */
  batchSizes?: readonly number[];
  /** Interleaved rounds of inline then backend timings per size (default 5). */
  trials?: number;
  /** Timed calls per round are chosen so that a round takes about this long (default 300 us). */
  roundUs?: number;
}

/**
 * Measures the table: for each batch size, `trials` rounds that time inline and then each backend (woken
 * first), every call timed alone; the median call of each placement is its figure (medians shrug off the
 * preemptions of a busy machine), and each curve is then capped by the padded envelope (paddedEnvelope).
 */
export function calibrate(runner: BatchRunner, options: CalibrateOptions = {}): CalibrationTable {
  const sizes = (options.batchSizes ?? DEFAULT_CALIBRATION_SIZES).filter((s) => s <= runner.capacity);
  const trials = options.trials ?? 5;
  const roundUs = options.roundUs ?? 300;
  if (!(trials >= 1)) throw new LakeError('LAKE_E_USAGE', `options.trials must be >= 1, got ${trials}`);
  // Warm-up: compile the hot paths (JIT, WASM tiers) before the first timing counts.
  const largest = sizes[sizes.length - 1] ?? 1;
  for (let i = 0; i < 200; i++) runner.runInline(1);
  for (let i = 0; i < 3; i++) runner.runInline(largest);
  for (const backend of runner.backends) {
    runner.warm(backend.name);
    for (let i = 0; i < 20; i++) runner.runOn(backend.name, Math.min(2, largest));
    runner.runOn(backend.name, largest);
  }
  const inlineUs: number[] = [];
  const backendUs: number[][] = runner.backends.map(() => []);
  for (const size of sizes) {
    const first = timeOnce(() => runner.runInline(size));
    const calls = Math.max(1, Math.min(64, Math.round(roundUs / Math.max(first, 0.05))));
    const inline: number[] = [];
    const on: number[][] = runner.backends.map(() => []);
    for (let t = 0; t < trials; t++) {
      for (let c = 0; c < calls; c++) inline.push(timeOnce(() => runner.runInline(size)));
      runner.backends.forEach((backend, b) => {
        runner.warm(backend.name);
        for (let c = 0; c < calls; c++) on[b]!.push(timeOnce(() => runner.runOn(backend.name, size)));
      });
    }
    inlineUs.push(median(inline));
    on.forEach((samples, b) => {
      backendUs[b]!.push(median(samples));
    });
  }
  return calibrationTable(
    {
      model: runner.model,
      batchSizes: sizes,
      // To the nanosecond, so that the table recorded in results.json is the table that was used.
      inlineUs: paddedEnvelope(inlineUs).map(toNanosecond),
      backends: runner.backends.map((backend, b) => ({
        backend: backend.name,
        mode: backend.mode,
        usPerBatch: paddedEnvelope(backendUs[b]!).map(toNanosecond),
      })),
    },
    'measured',
  );
}

/**
 * A batch can always run padded to a larger measured size, so its cost is at most the cheapest figure at
 * any size from it up: the running minimum from the right. This removes the upward spikes a busy machine
 * puts into single figures (a preempted lakeD) without ever inventing a figure lower than one measured.
 */
export function paddedEnvelope(times: readonly number[]): number[] {
  const out = [...times];
  for (let i = out.length - 2; i >= 0; i--) out[i] = Math.min(out[i]!, out[i + 1]!);
  return out;
}

function toNanosecond(us: number): number {
  return Math.max(Math.round(us * 1000) / 1000, 0.001);
}

/** Microseconds one call of `run` takes (at least 1 ns, so a ratio never divides by 0). */
export function timeOnce(run: () => void): number {
  const start = performance.now();
  run();
  return Math.max((performance.now() - start) * 1000, 0.001);
}

/** The median of `values` (sorted in place). */
export function median(values: number[]): number {
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}
