import { LatencyRecorder } from '../../src/report/histogram.js';
import type { PolicyReport } from '../../src/report/types.js';
import { flashLatencies } from './samples.js';

/** A policy's report from seeded latencies: its tail shrunk by `tailShrink` relative to the baseline's. */
export function policyReport(
  name: string,
  seed: number,
  tailProbability: number,
  extraIos = 0,
  revokes = 0,
): PolicyReport {
  const reads = new LatencyRecorder();
  for (const latency of flashLatencies(seed, 20_000, 100, tailProbability)) reads.record(latency);
  const writes = new LatencyRecorder();
  for (const latency of flashLatencies(seed + 1000, 5_000, 30, 0.01)) writes.record(latency);
  return {
    name,
    read: reads.summary(),
    write: writes.summary(),
    extraIos,
    revokes,
    devices: [reads.summary()],
    cdf: reads.cdf(),
  };
}

export function samplePolicies(): PolicyReport[] {
  return [
    policyReport('baseline', 31, 0.05),
    policyReport('hedging p95', 32, 0.02, 1000, 0),
    policyReport('linnos', 33, 0.005, 0, 700),
  ];
}
