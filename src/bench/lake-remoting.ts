/**
 * LAKE's remoting benchmark (`lake bench remoting`): the round trip of a no-op sync lakeLib call through the
 * command ring to lakeD.
 */
import { LakeLib } from '../lake/lib/lake-lib.js';
import type { BenchResult, BenchSuite } from './harness.js';

/** Percentiles of a set of timings, in microseconds. */
export interface TimingSummary {
  samples: number;
  medianUs: number;
  p90Us: number;
  p99Us: number;
  meanUs: number;
  minUs: number;
}

export interface RemotingBench {
  /** Round trip of a no-op sync lakeLib call with both sides spinning first (lakeD hot). */
  spinThenSleep: TimingSummary;
  /** The same with spinning off on both sides: every call pays two Atomics.wait wake-ups. */
  sleepOnly: TimingSummary;
  /** Cost of the timer read around each call, already included in the figures above. */
  timerOverheadUs: number;
  /** The target for spinThenSleep.medianUs. */
  targetUs: number;
  node: string;
}

function summarise(times: Float64Array): TimingSummary {
  const sorted = Float64Array.from(times).sort();
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000;
  let sum = 0;
  for (const t of sorted) sum += t;
  return {
    samples: sorted.length,
    medianUs: at(0.5),
    p90Us: at(0.9),
    p99Us: at(0.99),
    meanUs: (sum / sorted.length) * 1000,
    minUs: sorted[0]! * 1000,
  };
}

async function timeNoops(spin: boolean, calls: number): Promise<TimingSummary> {
  const lib = await LakeLib.open({ spin, arenaBytes: 1 << 20 });
  try {
    for (let i = 0; i < Math.min(2000, calls); i++) lib.noop();
    const times = new Float64Array(calls);
    for (let i = 0; i < calls; i++) {
      const start = performance.now();
      lib.noop();
      times[i] = performance.now() - start;
    }
    return summarise(times);
  } finally {
    await lib.close();
  }
}

/**
 * LAKE's remoting benchmark: the round trip of a no-op sync call through the command ring, spin-then-sleep
 * against sleep only (medians of many calls, each timed alone).
 */
export async function benchRemoting(
  options: { calls?: number; sleepCalls?: number } = {},
): Promise<RemotingBench> {
  const calls = options.calls ?? 50_000;
  const sleepCalls = options.sleepCalls ?? 2_000;
  const spinThenSleep = await timeNoops(true, calls);
  const sleepOnly = await timeNoops(false, sleepCalls);
  const probe = new Float64Array(10_000);
  for (let i = 0; i < probe.length; i++) {
    const start = performance.now();
    probe[i] = performance.now() - start;
  }
  return {
    spinThenSleep,
    sleepOnly,
    timerOverheadUs: summarise(probe).medianUs,
    targetUs: 2,
    node: process.version,
  };
}

/** The `remoting` suite: sleep-only as the reference, spin-then-sleep as a ratio of it. */
export async function remotingSuite(): Promise<BenchSuite> {
  const r = await benchRemoting();
  const row = (
    name: string,
    t: { samples: number; medianUs: number; minUs: number; p99Us: number },
  ): BenchResult => ({
    name,
    unit: 'us/call',
    median: t.medianUs,
    min: t.minUs,
    max: t.p99Us,
    samples: t.samples,
    details: { p99Us: t.p99Us },
    state: 'completed',
  });
  const spin = row('no-op sync call, spin then sleep', r.spinThenSleep);
  const sleep = row('no-op sync call, sleep only', r.sleepOnly);
  return {
    suite: 'remoting',
    results: [
      { ...sleep, ratio: 1, reference: sleep.name },
      { ...spin, ratio: spin.median / sleep.median, reference: sleep.name },
    ],
  };
}
