/**
 * Online LinnOS on its submit path (policy.ts with submit-path.ts): on a seeded replay it decides exactly as
 * the full forward does (same records, same stats) on every backend that has an incremental twin, while the
 * submit path really decides; with a fixed inference cost each predicted read is charged it, and the same
 * seed and cost give the same replay.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mergeStreams, type ReplayResult, replay } from '../../src/array/engine.js';
import type { IoRecord } from '../../src/array/types.js';
import { createFlashDevice } from '../../src/flash/index.js';
import { createPredictor } from '../../src/kernels/create.js';
import type { Backend, Predictor } from '../../src/kernels/types.js';
import type { LinnosSubmitPath } from '../../src/linnos/incremental.js';
import { type DeviceModel, trainLinnosArray } from '../../src/linnos/pipeline.js';
import { linnosPolicyFactory } from '../../src/linnos/policies.js';
import { LinnosPolicy, type LinnosPolicyOptions } from '../../src/linnos/policy.js';
import { chargedInferenceUs, measureDecisionNs, submitPathFor } from '../../src/linnos/submit-path.js';
import { synthesize } from '../../src/trace/synth.js';

const streams = () => [0, 1, 2].map((i) => synthesize('azure', { durationMs: 1500, seed: 70 + i }));
const makeDevices = () =>
  [0, 1, 2].map((i) =>
    createFlashDevice({ profile: 'femu', name: `ssd${i}`, seed: 7 + i, reuseResult: true }),
  );

function run(options: LinnosPolicyOptions): {
  records: IoRecord[];
  result: ReplayResult;
  policy: LinnosPolicy;
} {
  const policy = new LinnosPolicy(options);
  const records: IoRecord[] = [];
  const result = replay(mergeStreams(streams()), {
    devices: makeDevices(),
    policy,
    onRecord: (r) => records.push({ ...r }),
  });
  return { records, result, policy };
}

describe('LinnOS on its submit path', () => {
  let models: DeviceModel[];
  before(() => {
    const records: IoRecord[] = [];
    replay(mergeStreams(streams()), {
      devices: makeDevices(),
      policy: { name: 'baseline' },
      onRecord: (r) => records.push(r),
    });
    models = trainLinnosArray({ records, deviceCount: 3, epochs: 2, seed: 5 });
  });
  after(() => {
    for (const m of models) m.predictor.dispose();
  });

  for (const backend of ['wasm', 'exact'] as const satisfies readonly Backend[]) {
    test(`decides exactly as the full forward on a replay (${backend})`, () => {
      const predictors: Predictor[] = models.map((m) => createPredictor(m.model, { backend }));
      const built = predictors.map((p, d) => submitPathFor(p, models[d]!.model)!);
      try {
        let submitDecisions = 0;
        const submitPaths: LinnosSubmitPath[] = built.map(({ path }) => {
          const predict = path.predict.bind(path);
          // Counts the decisions the submit path took, to be sure it is the one deciding.
          path.predict = (view, bytes) => {
            submitDecisions++;
            return predict(view, bytes);
          };
          return path;
        });
        const full = run({ name: 'linnos', predictors });
        const incremental = run({ name: 'linnos', predictors, submitPaths });
        assert.ok(full.policy.stats.predicted > 1000, `${full.policy.stats.predicted} predicted`);
        assert.ok(full.policy.stats.revoked > 0);
        assert.equal(submitDecisions, incremental.policy.stats.offered);
        assert.deepEqual(incremental.policy.stats, full.policy.stats);
        assert.equal(incremental.records.length, full.records.length);
        assert.deepEqual(incremental.records, full.records);
        assert.deepEqual(incremental.result, full.result);
      } finally {
        for (const p of predictors) p.dispose();
        for (const b of built) b.incremental.dispose();
      }
    });
  }

  test('a float (js) predictor has no submit path (it keeps the full forward)', () => {
    const js = createPredictor(models[0]!.model, { backend: 'js' });
    assert.equal(submitPathFor(js, models[0]!.model), undefined);
    js.dispose();
  });

  test('a fixed inference cost is charged to each predicted read, the same seed and cost give the same replay', async () => {
    const factory = () =>
      linnosPolicyFactory(
        models.map((m) => m.predictor),
        undefined,
        undefined,
        { models, inferenceCostUs: 0.4 },
      );
    const runOnce = () => {
      const f = factory();
      const policy = f.makePolicy({ kind: 'linnos', name: 'linnos', hedged: false }, {})!;
      const records: IoRecord[] = [];
      const result = replay(mergeStreams(streams()), {
        devices: makeDevices(),
        policy,
        onRecord: (r) => records.push({ ...r }),
      });
      return { records, result, stats: (policy as LinnosPolicy).stats, close: () => f.close() };
    };
    const first = runOnce();
    const second = runOnce();
    assert.ok(first.stats.predicted > 0);
    assert.equal(first.result.chargedTries, first.stats.predicted);
    assert.ok(Math.abs(first.result.chargedUs! - 0.4 * first.stats.predicted) < 1e-6 * first.stats.predicted);
    assert.deepEqual(second.records, first.records);
    assert.deepEqual(second.result, first.result);
    // Charged reads waited: no read LinnOS predicted was submitted at its arrival.
    const uncharged = run({ name: 'linnos', predictors: models.map((m) => m.predictor) });
    assert.notDeepEqual(uncharged.records, first.records);
    await first.close();
    await second.close();
  });

  test("with online retraining, each swapped model brings a fresh submit path and decisions stay the full forward's", async () => {
    const retraining = {
      thresholdsUs: models.map((m) => m.threshold.thresholdUs),
      // tolerance -1 and majoritySlack 1: every device retrains at its first full window and its model goes live.
      options: { window: 200, checkEvery: 100, tolerance: -1, majoritySlack: 1, epochs: 2, seed: 5 },
    };
    const predictors = models.map((m) => m.predictor);
    const runOnline = async (withPaths: boolean) => {
      const f = linnosPolicyFactory(predictors, undefined, retraining, withPaths ? { models } : {});
      const policy = f.makePolicy({ kind: 'linnos', name: 'linnos', hedged: false }, {}) as LinnosPolicy;
      const online = policy.online!;
      const initial = [0, 1, 2].map((d) => online.model(d, 0)?.submitPath);
      const records: IoRecord[] = [];
      replay(mergeStreams(streams()), {
        devices: makeDevices(),
        policy,
        onRecord: (r) => records.push({ ...r }),
      });
      const swapped = online
        .report()
        .filter((r) => r.retrains.length > 0)
        .map((r) => r.device);
      const now = swapped.map((d) => online.model(d, Number.MAX_SAFE_INTEGER)?.submitPath);
      const stats = { ...policy.stats };
      await f.close();
      return { records, stats, initial, swapped, now };
    };
    const full = await runOnline(false);
    const incremental = await runOnline(true);
    assert.ok(incremental.swapped.length > 0, 'a retrained model went live');
    for (const [k, d] of incremental.swapped.entries()) {
      const path = incremental.now[k];
      assert.ok(path !== undefined, `ssd${d}'s retrained model has a submit path`);
      assert.notEqual(path, incremental.initial[d], `ssd${d}'s submit path is fresh`);
    }
    assert.ok(full.initial.every((p) => p === undefined));
    assert.deepEqual(incremental.stats, full.stats);
    assert.deepEqual(incremental.records, full.records);
  });

  test('a decision is measured in ns on real vectors and charged rounded up to 0.1 us', () => {
    const m = models[0]!;
    const ns = measureDecisionNs(m.predictor, m.model, m.heldBack);
    assert.ok(ns > 0 && ns < 1e6, `${ns} ns`);
    assert.equal(chargedInferenceUs(0), 0);
    assert.equal(chargedInferenceUs(60), 0.1);
    assert.equal(chargedInferenceUs(100), 0.1);
    assert.equal(chargedInferenceUs(101), 0.2);
    assert.equal(chargedInferenceUs(1234), 1.3);
  });
});
