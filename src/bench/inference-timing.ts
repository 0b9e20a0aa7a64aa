/** Timing of the inference benchmarks: calibrated runs of a loop, and rows that fail without stopping a suite. */
import { LakeError } from '../errors.js';
import { type BenchResult, erroredResult, summarise } from './harness.js';

/** A timed result, or an errored one carrying the failure (a suite never stops at one failing row). */
export function timedResult(
  name: string,
  unit: string,
  details: Record<string, unknown>,
  measure: () => number[],
): BenchResult {
  try {
    return summarise(name, unit, measure(), details);
  } catch (error) {
    return erroredResult(name, unit, error instanceof Error ? error.message : String(error), details);
  }
}

/**
 * ns per prediction of `samples` runs of ~runMs each. `run(calls)` makes `calls` calls of `perCall`
 * predictions each (its loop written where the kernel is called, so the timing holds no extra indirection)
 * and returns a value folded from the decisions, so that no call can be optimised away. The warm-up doubles
 * the call count until a run takes a fifth of the target, which also calibrates it.
 */
export function timeCalls(
  run: (calls: number) => number,
  perCall: number,
  samples: number,
  runMs: number,
  clock: BenchClock = 'wall',
): number[] {
  const now = clock === 'cpu' ? cpuNs : wallNs;
  let sink = 0;
  const timed = (calls: number): number => {
    const start = now();
    sink += run(calls);
    return now() - start;
  };
  let calls = 1;
  let elapsed = timed(calls);
  while (elapsed < (runMs * 1e6) / 5) {
    calls *= 2;
    elapsed = timed(calls);
  }
  calls = Math.max(1, Math.round((calls * runMs * 1e6) / elapsed));
  timed(calls);
  const perPrediction: number[] = [];
  for (let s = 0; s < samples; s++) perPrediction.push(timed(calls) / (calls * perCall));
  if (sink < 0) throw new Error('unreachable');
  return perPrediction;
}

/**
 * 'wall': elapsed time (process.hrtime); 'cpu': the process's CPU time (process.cpuUsage, user + system),
 * which leaves out the time the process waits for a core: on a machine shared with other work, wall-clock
 * figures grow with the load, CPU-time ones much less. The C reference reads the same clocks
 * (CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID).
 */
export type BenchClock = 'wall' | 'cpu';

/** LAKE_BENCH_CLOCK=cpu|wall (default wall); anything else is refused. */
export function benchClock(): BenchClock {
  const value = process.env['LAKE_BENCH_CLOCK'] ?? '';
  if (value === '' || value === 'wall') return 'wall';
  if (value === 'cpu') return 'cpu';
  throw new LakeError('LAKE_E_USAGE', `LAKE_BENCH_CLOCK must be wall or cpu, got "${value}"`);
}

function wallNs(): number {
  return Number(process.hrtime.bigint());
}

function cpuNs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) * 1000;
}
