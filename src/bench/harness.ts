import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

/** One benchmark figure: a median over repeated runs, with the spread, as data (tinybench's results). */
export interface BenchResult {
  name: string;
  /** What was measured, e.g. 'ios/s', 'ns/prediction', 'bytes'. */
  unit: string;
  median: number;
  min: number;
  max: number;
  samples: number;
  /** Ratio to the reference entry of the same suite, when there is one. */
  ratio?: number;
  reference?: string;
  /** Anything else the suite reports (batch size, I/O count, ...). */
  details?: Record<string, unknown>;
  state: 'completed' | 'errored';
  error?: string;
}

export interface BenchSuite {
  suite: string;
  results: BenchResult[];
}

export interface BenchEnvironment {
  node: string;
  cpu: string;
  cores: number;
  commit: string | null;
  samples: number;
}

export function benchEnvironment(samples: number): BenchEnvironment {
  let commit: string | null = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    commit = null;
  }
  return { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, commit, samples };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Summarise repeated measurements into a result. */
export function summarise(
  name: string,
  unit: string,
  values: readonly number[],
  details?: Record<string, unknown>,
): BenchResult {
  return {
    name,
    unit,
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    samples: values.length,
    ...(details ? { details } : {}),
    state: 'completed',
  };
}

/** Run one measurement, turning a failure into an errored result instead of stopping the suite. */
export async function measure(
  name: string,
  unit: string,
  run: () => Promise<BenchResult> | BenchResult,
): Promise<BenchResult> {
  try {
    return await run();
  } catch (error) {
    return erroredResult(name, unit, String(error));
  }
}

/** The result of a row that failed with `error`: no samples, NaN figures. */
export function erroredResult(
  name: string,
  unit: string,
  error: string,
  details?: Record<string, unknown>,
): BenchResult {
  return {
    name,
    unit,
    median: Number.NaN,
    min: Number.NaN,
    max: Number.NaN,
    samples: 0,
    ...(details ? { details } : {}),
    state: 'errored',
    error,
  };
}

/** Add `ratio` against the named reference (value / reference). */
export function withRatios(results: BenchResult[], reference: string): BenchResult[] {
  const ref = results.find((r) => r.name === reference);
  if (ref === undefined || !(ref.median > 0)) return results;
  return results.map((r) =>
    r.state === 'completed' ? { ...r, ratio: r.median / ref.median, reference } : r,
  );
}

/** Samples per measurement: LAKE_BENCH_SAMPLES overrides the suite's default. */
export function sampleCount(defaultSamples: number): number {
  const fromEnv = Number(process.env['LAKE_BENCH_SAMPLES']);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : defaultSamples;
}
