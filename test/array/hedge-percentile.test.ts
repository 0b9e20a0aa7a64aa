/**
 * `hedgingNN` hedges at the NNth percentile of the baseline's read latency, taken from the baseline run of
 * the same workload on the same devices: checked against the percentile computed here from the baseline's
 * own records, and by what the delay does (the share of reads hedged).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parsePolicySpec } from '../../src/array/policies.js';
import { type PolicyRun, runPolicies } from '../../src/array/run.js';
import { agedReplicas, nearestRank, replicatedWorkload } from '../helpers/replicas.js';

describe('hedgingNN', () => {
  const arrivals = replicatedWorkload();
  const baselineReads: number[] = [];
  let runs: PolicyRun[];

  test('hedges at the NNth percentile of the baseline run of the same workload', async () => {
    runs = await runPolicies({
      workload: { kind: 'memory', arrivals: () => arrivals },
      makeDevices: agedReplicas,
      // The baseline is not asked for: it runs first all the same, since the hedges depend on it.
      specs: ['hedging95', 'hedging99', 'hedging75'].map(parsePolicySpec),
      seed: 1,
      onRecord: (spec, r) => {
        if (spec.kind === 'baseline' && r.read) baselineReads.push(r.latencyUs);
      },
    });
    assert.deepEqual(
      runs.map((r) => r.spec.name),
      ['hedging95', 'hedging99', 'hedging75'],
    );
    const reads = runs[0]!.result.reads;
    assert.equal(baselineReads.length, reads);
    const p50 = nearestRank(baselineReads, 50);
    for (const [run, p] of [
      [runs[0]!, 95],
      [runs[1]!, 99],
      [runs[2]!, 75],
    ] as const) {
      const exact = nearestRank(baselineReads, p);
      const after = run.policy.hedgeAfterUs!;
      // The recorder's percentile is within 0.1% (+ 1 ns) of the exact one (src/report/histogram.ts).
      assert.ok(
        Math.abs(after - exact) <= exact * 1e-3 + 1e-3,
        `${run.spec.name}: ${after} vs exact ${exact}`,
      );
      assert.ok(Math.abs(after - p50) > p50 * 0.01, `${run.spec.name} hedges apart from the median ${p50}`);
    }
  });

  test('the later the percentile, the fewer reads are hedged', () => {
    // Hedges change the queues, so the share hedged is not exactly 100 - NN %, but it orders with NN and
    // stays near it: a read is hedged only when it has waited the baseline's NNth percentile.
    const share = runs.map((r) => r.result.hedgedReads / r.result.reads);
    const [p95, p99, p75] = share as [number, number, number];
    assert.ok(p99 < p95 && p95 < p75, `hedged shares ${share.join(', ')}`);
    assert.ok(p95 > 0.02 && p95 < 0.1, `hedging95 hedged ${p95}`);
    assert.ok(p75 > 0.15 && p75 < 0.35, `hedging75 hedged ${p75}`);
  });
});
