/**
 * `linnos+hl` hedges at p(100 - f) of the baseline's read latency, f the models' pooled false-submit rate in
 * percent, and at p95 when f <= 5% or unknown: the delay a replay actually uses, checked against the
 * baseline's reads sorted here. With no model on any device LinnOS never revokes, so linnos+hl is hedging
 * alone and the share of reads it hedges follows its percentile.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parsePolicySpec } from '../../src/array/policies.js';
import { runPolicies } from '../../src/array/run.js';
import { linnosPolicyFactory } from '../../src/linnos/policies.js';
import { agedReplicas, nearestRank, REPLICAS, replicatedWorkload } from '../helpers/replicas.js';

const arrivals = replicatedWorkload();

/** Replays baseline and linnos+hl with no models and false-submit rate `falseSubmitPct`. */
async function replayHedged(falseSubmitPct: number | undefined) {
  const factory = linnosPolicyFactory(
    Array.from({ length: REPLICAS }, () => undefined),
    falseSubmitPct,
  );
  const baselineReads: number[] = [];
  const runs = await runPolicies({
    workload: { kind: 'memory', arrivals: () => arrivals },
    makeDevices: agedReplicas,
    specs: ['baseline', 'linnos+hl'].map(parsePolicySpec),
    seed: 1,
    makePolicy: (spec, prior) => factory.makePolicy(spec, prior),
    onRecord: (spec, r) => {
      if (spec.kind === 'baseline' && r.read) baselineReads.push(r.latencyUs);
    },
  });
  const hedged = runs[1]!;
  assert.equal(hedged.spec.name, 'linnos+hl');
  return {
    percentile: factory.hedgePercentile,
    afterUs: hedged.policy.hedgeAfterUs!,
    hedgedShare: hedged.result.hedgedReads / hedged.result.reads,
    revokes: hedged.result.revokes,
    baselineReads,
  };
}

/** Within the latency recorder's precision (0.1% + 1 ns, src/report/histogram.ts) of the exact value. */
function near(actual: number, exact: number, what: string): void {
  assert.ok(Math.abs(actual - exact) <= exact * 1e-3 + 1e-3, `${what}: ${actual} vs exact ${exact}`);
}

describe('linnos+hl', () => {
  test('hedges at p(100 - f), f the false-submit rate in percent', async () => {
    const r = await replayHedged(20);
    assert.equal(r.percentile, 80);
    near(r.afterUs, nearestRank(r.baselineReads, 80), 'f = 20%: p80');
    assert.ok(r.afterUs > nearestRank(r.baselineReads, 50) * 1.5, 'well after the median');
    assert.equal(r.revokes, 0, 'no model, no revoke');
    // A read is hedged when it has waited the baseline's p80: about a fifth of them (hedges change queues).
    assert.ok(r.hedgedShare > 0.1 && r.hedgedShare < 0.3, `hedged ${r.hedgedShare}`);
  });

  test('a model that misses a third of the slow reads hedges at p67', async () => {
    const r = await replayHedged(33);
    assert.equal(r.percentile, 67);
    near(r.afterUs, nearestRank(r.baselineReads, 67), 'f = 33%: p67');
  });

  test('hedges at p95 when f <= 5% or unknown', async () => {
    for (const f of [5, 0.5, undefined]) {
      const r = await replayHedged(f);
      assert.equal(r.percentile, 95, `f = ${f}`);
      near(r.afterUs, nearestRank(r.baselineReads, 95), `f = ${f}: p95`);
    }
  });
});
