/**
 * The demo's pipeline on a tiny seeded run: it traces, trains a model per device, replays the unseen stretch
 * under each policy with the hedge it derives from the models, and gives the same figures on a rerun.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { parsePolicyList } from '../../src/array/policies.js';
import {
  END_TO_END_POLICIES,
  type LinnosEndToEndOptions,
  type LinnosEndToEndResult,
  runLinnosEndToEnd,
  shareOfOracleGain,
} from '../../src/linnos/end-to-end.js';

const OPTIONS: LinnosEndToEndOptions = {
  seed: 3,
  trainS: 2,
  testS: 1,
  epochs: 2,
  shape: 'nn',
  revokeCostUs: 5,
  // Fixed, so that a rerun charges what this run did (measured, it may round to another 0.1 us).
  inferenceCostUs: 0.3,
};

/** What a rerun must reproduce: every policy's read summary and counters, the hedge, the model quality. */
function figures(r: LinnosEndToEndResult): unknown {
  return {
    traced: r.traced,
    falseSubmitPct: r.falseSubmitPct,
    hedgePercentile: r.hedgePercentile,
    runs: r.runs.map((run) => ({
      name: run.spec.name,
      read: run.read.summary(),
      revokes: run.result.revokes,
      extraIos: run.result.extraIos,
      hedgeAfterUs: run.policy.hedgeAfterUs,
    })),
    models: r.models.map((m) => ({
      device: m.device,
      threshold: m.threshold,
      confusion: m.report.quality.confusion,
    })),
    online: r.linnosPolicies.map((p) => p.stats),
  };
}

describe('runLinnosEndToEnd', () => {
  let result: LinnosEndToEndResult;
  const events: string[] = [];
  before(async () => {
    result = await runLinnosEndToEnd({
      ...OPTIONS,
      onTraced: () => events.push('traced'),
      onTrained: () => events.push('trained'),
      onRunStart: (spec) => events.push(`run ${spec.name}`),
    });
  });

  test('traces, trains one model per device, then replays every policy in order', () => {
    assert.deepEqual(events, [
      'traced',
      'trained',
      ...parsePolicyList(END_TO_END_POLICIES).map((s) => `run ${s.name}`),
    ]);
    assert.deepEqual(
      result.models.map((m) => m.device),
      [0, 1, 2],
    );
    assert.deepEqual(
      result.runs.map((r) => r.spec.name),
      ['baseline', 'hedging95', 'linnos', 'linnos+hl', 'greedy-oracle'],
    );
    for (const m of result.models) assert.ok(m.predictor.disposed, `ssd${m.device}: predictor released`);
  });

  test('every policy replays exactly the reads of the unseen stretch', () => {
    let reads = 0;
    for (const r of result.testArrivals()) if (r.read) reads++;
    assert.ok(reads > 1000, `${reads} reads`);
    for (const run of result.runs) assert.equal(run.read.count, reads, run.spec.name);
  });

  test('the hedge comes from the false submits pooled over every device', () => {
    let slow = 0;
    let missed = 0;
    for (const m of result.models) {
      const c = m.report.quality.confusion;
      slow += c.truePositive + c.falseNegative;
      missed += c.falseNegative;
    }
    assert.ok(slow > 0);
    assert.equal(result.falseSubmitPct, (100 * missed) / slow);
    const f = result.falseSubmitPct;
    assert.equal(result.hedgePercentile, f > 5 ? 100 - f : 95);
    const baseline = result.runs.find((r) => r.spec.name === 'baseline')!;
    const hedged = result.runs.find((r) => r.spec.name === 'linnos+hl')!;
    assert.equal(hedged.policy.hedgeAfterUs, baseline.read.percentileUs(result.hedgePercentile));
    const hedging95 = result.runs.find((r) => r.spec.name === 'hedging95')!;
    assert.equal(hedging95.policy.hedgeAfterUs, baseline.read.percentileUs(95));
  });

  test('linnos predicts with the trained models and revokes some reads', () => {
    const linnos = result.runs.find((r) => r.spec.name === 'linnos')!;
    const stats = result.linnosPolicies.find((p) => p.name === 'linnos')!.stats;
    assert.ok(stats.predicted > 0.9 * stats.offered, `${stats.predicted} of ${stats.offered} predicted`);
    assert.equal(stats.revoked, linnos.result.revokes);
    assert.ok(stats.revoked > 0);
    assert.equal(result.runs.find((r) => r.spec.name === 'baseline')!.result.revokes, 0);
  });

  test('every read linnos and linnos+hl predict is charged the fixed inference time; the others none', () => {
    assert.equal(result.inference.chargedUs, 0.3);
    assert.equal(result.inference.chargedMeasured, false);
    for (const run of result.runs) {
      const policy = result.linnosPolicies.find((p) => p.name === run.spec.name);
      if (policy === undefined) {
        assert.equal(run.result.chargedTries ?? 0, 0, `${run.spec.name} charges nothing`);
        continue;
      }
      assert.ok(policy.stats.predicted > 0);
      assert.equal(run.result.chargedTries, policy.stats.predicted, run.spec.name);
      assert.ok(
        Math.abs(run.result.chargedUs! - 0.3 * policy.stats.predicted) < 1e-6 * policy.stats.predicted,
      );
    }
  });

  test('without a fixed cost, a decision is measured at the start and charged rounded up to 0.1 us', async () => {
    const { inferenceCostUs: _, ...measured } = OPTIONS;
    const run = await runLinnosEndToEnd({ ...measured, policies: parsePolicyList('baseline') });
    const { decisionNs, chargedUs, chargedMeasured } = run.inference;
    assert.equal(chargedMeasured, true);
    assert.ok(decisionNs > 0 && decisionNs < 1e6, `${decisionNs} ns`);
    assert.ok(
      chargedUs >= decisionNs / 1000 && chargedUs < decisionNs / 1000 + 0.1 + 1e-9,
      `${chargedUs} us`,
    );
    assert.ok(Math.abs(chargedUs * 10 - Math.round(chargedUs * 10)) < 1e-9, 'a multiple of 0.1 us');
  });

  test('a rerun with the seed gives the same figures; LAKE shapes reuse the main model', async () => {
    const again = await runLinnosEndToEnd({ ...OPTIONS, lakeShapes: ['nn+1', 'nn'] });
    assert.deepEqual(figures(again), figures(result));
    assert.deepEqual(
      again.lakeShapeModels.map((s) => s.shape),
      ['nn+1', 'nn'],
    );
    const nn = again.lakeShapeModels[1]!;
    assert.deepEqual(
      nn.models,
      again.models.map((m) => m.model),
    );
    const nn1 = again.lakeShapeModels[0]!.models[0]!;
    assert.equal(nn1.layers.length, nn.models[0]!.layers.length + 1, 'nn+1 has a layer more');
  });
});

describe('shareOfOracleGain', () => {
  test('the fraction of the oracle gain over the baseline a policy reaches', () => {
    assert.equal(shareOfOracleGain(200, 150, 100), 0.5);
    assert.equal(shareOfOracleGain(200, 250, 100), -0.5);
    assert.equal(shareOfOracleGain(200, 150, 200), undefined);
    assert.equal(shareOfOracleGain(200, 150, 210), undefined);
  });
});
