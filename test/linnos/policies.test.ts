/**
 * The figures LinnOS policies are built from, on hand-computed inputs: the hedge percentile rule, the
 * false-submit rate pooled over slow reads, the counts read back from a model file's training stats; and the
 * factory's choices (which specs it builds, when it cannot yet, what it hands each policy).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parsePolicySpec } from '../../src/array/policies.js';
import type { PolicyRun } from '../../src/array/run.js';
import type { Predictor } from '../../src/kernels/types.js';
import {
  falseSubmitCount,
  falseSubmitCountOfStats,
  linnosHedgePercentile,
  linnosPolicyFactory,
  pooledFalseSubmitPct,
} from '../../src/linnos/policies.js';
import { LinnosPolicy } from '../../src/linnos/policy.js';
import { LatencyRecorder } from '../../src/report/histogram.js';

describe('linnosHedgePercentile', () => {
  test('p(100 - f) above 5%', () => {
    assert.equal(linnosHedgePercentile(20), 80);
    assert.equal(linnosHedgePercentile(33), 67);
    assert.equal(linnosHedgePercentile(5.5), 94.5);
    assert.equal(linnosHedgePercentile(100), 0);
  });

  test('p95 at or below 5%, and when the rate is unknown', () => {
    for (const f of [5, 4.999, 0, undefined, Number.NaN])
      assert.equal(linnosHedgePercentile(f), 95, `f = ${f}`);
  });
});

describe('pooledFalseSubmitPct', () => {
  test('pools over slow reads, not over models', () => {
    // 10 of 100 slow reads missed on one device, 0 of 10 on another: pooled 10/110, not the mean (5%).
    const pct = pooledFalseSubmitPct([
      { slow: 100, falseSubmits: 10 },
      { slow: 10, falseSubmits: 0 },
    ]);
    assert.equal(pct, 1000 / 110);
    assert.equal(pooledFalseSubmitPct([{ slow: 4, falseSubmits: 1 }]), 25);
  });

  test('undefined with no slow read', () => {
    assert.equal(pooledFalseSubmitPct([]), undefined);
    assert.equal(pooledFalseSubmitPct([{ slow: 0, falseSubmits: 0 }]), undefined);
  });

  test('false submits are a confusion matrix false negatives among its slow reads', () => {
    const count = falseSubmitCount({
      truePositive: 7,
      falseNegative: 3,
      falsePositive: 50,
      trueNegative: 940,
    });
    assert.deepEqual(count, { slow: 10, falseSubmits: 3 });
  });
});

describe('falseSubmitCountOfStats (a lake model file trainingStats)', () => {
  test('recovers the count from the rate and the slow reads scored', () => {
    assert.deepEqual(falseSubmitCountOfStats({ slow: 40, falseSubmitRate: 0.25, count: 400 }), {
      slow: 40,
      falseSubmits: 10,
    });
    // Rates are stored as doubles: 1/3 of 3 slow reads is one read.
    assert.deepEqual(falseSubmitCountOfStats({ slow: 3, falseSubmitRate: 1 / 3 }), {
      slow: 3,
      falseSubmits: 1,
    });
  });

  test('a file scored on no slow read adds none; one without the figures gives none', () => {
    assert.deepEqual(falseSubmitCountOfStats({ slow: 0, falseSubmitRate: null }), {
      slow: 0,
      falseSubmits: 0,
    });
    assert.equal(falseSubmitCountOfStats(undefined), undefined);
    assert.equal(falseSubmitCountOfStats({ falseSubmitRate: 0.2 }), undefined);
    assert.equal(falseSubmitCountOfStats({ slow: 10 }), undefined);
    assert.equal(falseSubmitCountOfStats({ slow: 10, falseSubmitRate: 1.5 }), undefined);
    assert.equal(falseSubmitCountOfStats({ slow: '10', falseSubmitRate: 0.1 }), undefined);
  });

  test('two model files pool by their slow reads', () => {
    const counts = [
      falseSubmitCountOfStats({ slow: 300, falseSubmitRate: 0.1 })!,
      falseSubmitCountOfStats({ slow: 100, falseSubmitRate: 0.5 })!,
    ];
    // (30 + 50) / 400 = 20%, where the unweighted mean of the rates would give 30%.
    assert.equal(pooledFalseSubmitPct(counts), 20);
  });
});

/** A baseline run whose reads took 1..1000 us, one each: its pNN read latency is NN * 10 us. */
function baselineRun(): PolicyRun {
  const read = new LatencyRecorder();
  for (let us = 1; us <= 1000; us++) read.record(us);
  return { read } as unknown as PolicyRun;
}

/** Within the latency recorder's precision (0.1%) of the exact value. */
function near(actual: number | undefined, exact: number): void {
  assert.ok(actual !== undefined && Math.abs(actual - exact) <= exact * 1e-3, `${actual} vs ${exact}`);
}

describe('linnosPolicyFactory', () => {
  const predictors: (Predictor | undefined)[] = [undefined, undefined, undefined];

  test('builds linnos and linnos+hl; leaves every other policy to the array', () => {
    const factory = linnosPolicyFactory(predictors, 20);
    const prior = { baseline: baselineRun() };
    for (const name of ['baseline', 'random', 'hedging95', 'greedy-oracle'])
      assert.equal(factory.makePolicy(parsePolicySpec(name), prior), undefined, name);
    const linnos = factory.makePolicy(parsePolicySpec('linnos'), prior);
    assert.ok(linnos instanceof LinnosPolicy);
    assert.equal(linnos.name, 'linnos');
    assert.equal(linnos.hedgeAfterUs, undefined, 'linnos alone does not hedge');
    const hedged = factory.makePolicy(parsePolicySpec('linnos+hl'), prior);
    assert.ok(hedged instanceof LinnosPolicy);
    assert.equal(factory.hedgePercentile, 80);
    near(hedged.hedgeAfterUs, 800);
    assert.deepEqual(factory.policies, [linnos, hedged], 'the policies built, in order');
  });

  test('hedges at p95 with a false-submit rate of 5% or less', () => {
    const factory = linnosPolicyFactory(predictors, 5);
    near(factory.makePolicy(parsePolicySpec('linnos+hl'), { baseline: baselineRun() })?.hedgeAfterUs, 950);
  });

  test('linnos+hl waits for the baseline; linnos does not', () => {
    const factory = linnosPolicyFactory(predictors, 20);
    assert.equal(factory.makePolicy(parsePolicySpec('linnos+hl'), {}), undefined);
    assert.ok(factory.makePolicy(parsePolicySpec('linnos'), {}) instanceof LinnosPolicy);
    assert.equal(factory.policies.length, 1);
  });
});
