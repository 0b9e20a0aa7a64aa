import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mergeStreams, replay } from '../../src/array/engine.js';
import type { IoRecord } from '../../src/array/types.js';
import { LakeError } from '../../src/errors.js';
import { createFlashDevice } from '../../src/flash/index.js';
import { lakeResultJson } from '../../src/lake/linnos/result-json.js';
import { runLakeLinnos } from '../../src/lake/linnos/run.js';
import { parseShapeList } from '../../src/lake/linnos/shape-options.js';
import { calibrationTable } from '../../src/lake/policy/calibration.js';
import { trainShapeModels } from '../../src/linnos/pipeline.js';
import { synthesize } from '../../src/trace/synth.js';

const PROFILES = ['azure', 'bing-i', 'cosmos'] as const;
const stream = (fromMs: number, toMs: number) =>
  function* () {
    for (const r of mergeStreams(PROFILES.map((p, i) => synthesize(p, { durationMs: toMs, seed: 20 + i })))) {
      if (r.arrivalMs >= fromMs) yield { ...r, arrivalMs: r.arrivalMs - fromMs };
    }
  };
const makeDevices = () =>
  PROFILES.map((_, i) => createFlashDevice({ profile: 'femu', name: `ssd${i}`, seed: 10 + i }));

describe('lake demo --models', () => {
  test('--models parses known shapes once each', () => {
    assert.deepEqual(parseShapeList('nn, nn+1,nn+2'), ['nn', 'nn+1', 'nn+2']);
    assert.throws(
      () => parseShapeList('nn,nn+3'),
      (e: unknown) => e instanceof LakeError && /unknown model "nn\+3"/.test(e.message),
    );
    assert.throws(() => parseShapeList('nn,nn'), /nn is listed twice/);
    assert.throws(() => parseShapeList(' , '), /at least one/);
  });

  test('models trained per shape from the traced stretch replay the unseen one on LAKE', async () => {
    const records: IoRecord[] = [];
    replay(stream(0, 1000)(), {
      devices: makeDevices(),
      policy: { name: 'baseline' },
      onRecord: (r) => records.push(r),
    });
    const { models, trained } = trainShapeModels({
      records,
      deviceCount: 3,
      shapes: ['nn', 'nn+1'],
      epochs: 1,
      seed: 3,
    });
    assert.deepEqual(
      models.map((m) => [m.shape, m.models.filter((x) => x !== undefined).length]),
      [
        ['nn', 3],
        ['nn+1', 3],
      ],
    );
    assert.equal(models[1]!.models[0]!.layers.length, 3, 'NN+1: 31-256-256-2');
    assert.ok(
      trained['nn']!.every((m) => m.predictor.disposed),
      "serving is the batch runners' job",
    );
    const reuse = trainShapeModels({
      records: [],
      deviceCount: 3,
      shapes: ['nn'],
      trained: { nn: trained['nn']! },
    });
    assert.equal(reuse.models[0]!.models[2], trained['nn']![2]!.model, 'given models are reused');

    const sizes = [1, 2, 4, 8];
    const result = await runLakeLinnos({
      shapes: models,
      arrivals: stream(1000, 1300),
      makeDevices,
      variants: ['cpu', 'lake'],
      calibration: ['nn', 'nn+1'].map((model) =>
        calibrationTable({
          model,
          batchSizes: sizes,
          inlineUs: sizes.map((n) => 3 * n),
          backends: [{ backend: 'cpu-wasm', usPerBatch: sizes.map((n) => 4 + n) }],
        }),
      ),
      utilisation: false,
      lakeLibOptions: { arenaBytes: 8 << 20, hangTimeoutMs: 10_000 },
    });
    const json = lakeResultJson(result) as {
      shapes: Record<
        string,
        {
          crossovers: Record<string, number | null>;
          runs: Record<string, { decisions: number; policyFaults: number }>;
        }
      >;
    };
    assert.deepEqual(Object.keys(json.shapes), ['nn', 'nn+1']);
    assert.equal(json.shapes['nn']!.crossovers['cpu-wasm'], 4);
    for (const shape of Object.values(json.shapes)) {
      assert.deepEqual(Object.keys(shape.runs), ['cpu', 'lake']);
      for (const run of Object.values(shape.runs)) {
        assert.ok(run.decisions > 0);
        assert.equal(run.policyFaults, 0);
      }
    }
  });
});
