import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendReport } from '../lake/backends/types.js';
import { calibrationTable } from '../lake/policy/calibration.js';
import { ContentionPolicy } from '../lake/policy/contention.js';
import { loadUserPolicy } from '../lake/policy/user-policy.js';
import type { BenchResult, BenchSuite } from './harness.js';

/**
 * What a placement costs per batch when a user policy decides it (`--policy`): the policy runs on its own
 * thread under a time budget, so each call is a round trip through shared memory. Timed against the
 * default placement in process, at several gaps between calls (a replay calls once per closing batch,
 * with its own work in between; the policy's thread sleeps after 50 us without a call).
 */
export interface UserPolicyCallBench {
  calls: number;
  /** us between the end of one call and the start of the next. */
  gapsUs: number[];
  defaultUs: CallTimes;
  policyUs: (CallTimes & { gapUs: number })[];
  loadAverage: number;
  node: string;
}

export interface CallTimes {
  minUs: number;
  medianUs: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
}

const POLICY_SOURCE = `export default function place({ batchSize, backends }) {
  const lakeD = backends.find((b) => b.usable);
  return lakeD !== undefined && batchSize >= 4 ? lakeD.name : 'inline';
}
`;

export async function benchUserPolicyCall(
  options: { calls?: number; gapsUs?: readonly number[] } = {},
): Promise<UserPolicyCallBench> {
  const calls = options.calls ?? 5000;
  const gapsUs = [...(options.gapsUs ?? [0, 20, 1000])];
  const backends: BackendReport[] = [
    { name: 'cpu-wasm', kind: 'cpu', available: true, capabilities: [], description: 'bench' },
  ];
  const table = calibrationTable({
    model: 'nn',
    batchSizes: [1, 2, 4, 8],
    inlineUs: [1, 2, 4, 8],
    backends: [{ backend: 'cpu-wasm', usPerBatch: [5, 5, 5, 5] }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'lake-bench-policy-'));
  const file = join(dir, 'place.mjs');
  writeFileSync(file, POLICY_SOURCE);
  const user = await loadUserPolicy(file);
  try {
    const plain = new ContentionPolicy({ tables: [table], backends });
    const guarded = new ContentionPolicy({ tables: [table], backends, user });
    const time = (policy: ContentionPolicy, gapUs: number): number[] => {
      const times: number[] = [];
      for (let i = 0; i < calls; i++) {
        const until = performance.now() + gapUs / 1000;
        while (performance.now() < until) {}
        const start = performance.now();
        policy.choose('nn', 1 + (i % 8), 10);
        times.push((performance.now() - start) * 1000);
      }
      return times.sort((a, b) => a - b);
    };
    const summary = (sorted: number[]): CallTimes => {
      const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
      return {
        minUs: sorted[0]!,
        medianUs: at(0.5),
        p90Us: at(0.9),
        p99Us: at(0.99),
        maxUs: sorted[sorted.length - 1]!,
      };
    };
    time(guarded, 0); // warm-up: both threads' JIT
    const inProcess = time(plain, 0);
    const policyUs = gapsUs.map((gapUs) => ({ gapUs, ...summary(time(guarded, gapUs)) }));
    return {
      calls,
      gapsUs,
      defaultUs: summary(inProcess),
      policyUs,
      loadAverage: loadavg()[0] ?? 0,
      node: process.version,
    };
  } finally {
    await user.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function userPolicySuite(): Promise<BenchSuite> {
  const r = await benchUserPolicyCall();
  const reference: BenchResult = {
    name: 'default placement, in process',
    unit: 'us/call',
    median: r.defaultUs.medianUs,
    min: r.defaultUs.minUs,
    max: r.defaultUs.maxUs,
    samples: r.calls,
    details: { p90Us: r.defaultUs.p90Us, p99Us: r.defaultUs.p99Us },
    state: 'completed',
  };
  return {
    suite: 'user-policy',
    results: [
      { ...reference, ratio: 1, reference: reference.name },
      ...r.policyUs.map(
        (p): BenchResult => ({
          name: `user policy on its thread, ${p.gapUs} us between calls`,
          unit: 'us/call',
          median: p.medianUs,
          min: p.minUs,
          max: p.maxUs,
          samples: r.calls,
          ratio: p.medianUs / r.defaultUs.medianUs,
          reference: reference.name,
          details: { p90Us: p.p90Us, p99Us: p.p99Us, loadAverage: r.loadAverage },
          state: 'completed',
        }),
      ),
    ],
  };
}
