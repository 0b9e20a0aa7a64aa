import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mergeStreams, replay } from '../../src/array/engine.js';
import { createFlashDevice } from '../../src/flash/index.js';
import { createPredictor } from '../../src/kernels/create.js';
import { LakeLib } from '../../src/lake/lib/lake-lib.js';
import { runLakeLinnos } from '../../src/lake/linnos/run.js';
import { calibrationTable } from '../../src/lake/policy/calibration.js';
import { INLINE } from '../../src/lake/policy/constants.js';
import { LinnosPolicy } from '../../src/linnos/policy.js';
import { LatencyRecorder } from '../../src/report/histogram.js';
import { synthesize } from '../../src/trace/synth.js';
import { randomDenseModel } from './helpers.js';

const PROFILES = ['azure', 'bing-i', 'cosmos'] as const;
const arrivals = () => mergeStreams(PROFILES.map((p, i) => synthesize(p, { durationMs: 300, seed: 50 + i })));
const makeDevices = () =>
  PROFILES.map((_, i) => createFlashDevice({ profile: 'femu', name: `ssd${i}`, seed: 60 + i }));
const NN = PROFILES.map((_, d) => randomDenseModel(70 + d, [31, 256, 2]));
const NN2 = PROFILES.map((_, d) => randomDenseModel(80 + d, [31, 256, 256, 256, 2]));

/** Injected tables (reproducible runs): lakeD wins from 2 reads a batch. */
function table(model: string, perRead: number) {
  const sizes = [1, 2, 4, 8, 16];
  return calibrationTable({
    model,
    batchSizes: sizes,
    inlineUs: sizes.map((n) => perRead * n),
    backends: [{ backend: 'cpu-wasm', usPerBatch: sizes.map((n) => perRead * 0.75 + (perRead * n) / 2) }],
  });
}

describe('LinnOS on LAKE, end to end (the lake demo --models table)', () => {
  let lib: LakeLib;
  before(async () => {
    lib = await LakeLib.open({ arenaBytes: 16 << 20, hangTimeoutMs: 10_000 });
  });
  after(async () => {
    await lib.close();
  });

  test('every shape and run: latency, where inference ran, and no decision lost', async () => {
    const result = await runLakeLinnos({
      shapes: [
        { shape: 'nn', models: NN },
        { shape: 'nn+2', models: NN2 },
      ],
      arrivals,
      makeDevices,
      calibration: [table('nn', 1), table('nn+2', 5)],
      batching: { nn: { hold: 'always', windowUs: 50 }, 'nn+2': { hold: 'always' } },
      utilisation: false,
      lib,
    });
    assert.equal(result.table.rows.length, 1 + 2 * 3);
    assert.deepEqual(
      result.table.rows.map((r) => `${r[0]}/${r[1]}`),
      ['baseline/-', 'nn/cpu', 'nn/lakeD', 'nn/lake', 'nn+2/cpu', 'nn+2/lakeD', 'nn+2/lake'],
    );
    assert.ok(result.table.rows.every((r) => r.length === result.table.headers.length));
    for (const shape of result.shapes) {
      assert.equal(shape.calibration.source, 'injected');
      assert.deepEqual(shape.crossovers, { 'cpu-wasm': 2, webgpu: null, cuda: null });
      assert.deepEqual(shape.skipped, []);
      for (const run of shape.runs) {
        const s = run.stats;
        assert.ok(s.decisions > 100, `${run.name}: ${s.decisions} decisions`);
        assert.equal(run.replay.policyFaults, 0, run.name);
        assert.equal(run.replay.heldTries, s.decisions, `${run.name}: every held read decided`);
        assert.equal(run.read.count, result.baseline.count, `${run.name}: the same reads`);
        assert.equal(
          s.batchSizes.reduce((sum, count, size) => sum + count * size, 0),
          s.decisions,
        );
        const inline = s.decisionsBy[INLINE] ?? 0;
        const onLakeD = s.decisionsBy['cpu-wasm'] ?? 0;
        assert.equal(inline + onLakeD, s.decisions);
        if (run.variant === 'cpu') {
          assert.equal(onLakeD, 0);
          assert.equal(run.largestBatch, 1, 'no batching');
        } else if (run.variant === 'lakeD') {
          assert.equal(inline, 0);
          assert.ok(run.largestBatch > 1);
        } else {
          assert.ok(inline > 0 && onLakeD > 0, 'lone reads inline, batches on lakeD');
          assert.equal(s.reasons['crossover'], s.batchesBy['cpu-wasm']);
        }
        assert.ok(run.meanWaitUs >= run.meanInferenceUs / run.meanBatch - 1e-9);
      }
    }
    assert.deepEqual(JSON.parse(JSON.stringify(result)), result, 'plain data: JSON keeps every field');
    assert.equal(result.lakeLib.restarts, 0);
  });

  test('with inference (almost) free, the cpu run decides exactly as the inline LinnOS policy does', async () => {
    const free = calibrationTable({
      model: 'nn',
      batchSizes: [1, 2],
      inlineUs: [1e-9, 2e-9],
      backends: [{ backend: 'cpu-wasm', usPerBatch: [1, 1] }],
    });
    const result = await runLakeLinnos({
      shapes: [{ shape: 'nn', models: NN }],
      arrivals,
      makeDevices,
      variants: ['cpu'],
      calibration: [free],
      utilisation: false,
      lib,
    });
    const lake = result.shapes[0]!.runs[0]!;
    const predictors = NN.map((model) => createPredictor(model, { backend: 'wasm' }));
    const inline = new LinnosPolicy({ name: 'linnos', predictors });
    const read = new LatencyRecorder();
    const plain = replay(arrivals(), { devices: makeDevices(), policy: inline, readLatency: read });
    for (const p of predictors) p.dispose();
    assert.equal(lake.stats.decisions, inline.stats.predicted);
    assert.equal(lake.stats.revoked, inline.stats.revoked);
    assert.equal(lake.revokes, plain.revokes);
    assert.ok(
      Math.abs(lake.read.avgUs - read.summary().avgUs) < 0.01,
      `${lake.read.avgUs} vs ${read.summary().avgUs}`,
    );
  });

  test('a faulty user policy is reported and the default decides', async () => {
    const result = await runLakeLinnos({
      shapes: [{ shape: 'nn', models: NN }],
      arrivals,
      makeDevices,
      variants: ['lake'],
      calibration: [table('nn', 1)],
      batching: { nn: { hold: 'always', windowUs: 50 } },
      utilisation: false,
      userPolicy: { name: 'bad.js', choose: () => 'gpu-9000' },
      lib,
    });
    const run = result.shapes[0]!.runs[0]!;
    assert.equal(result.userPolicy?.faults, run.batches);
    assert.match(result.userPolicy?.firstFault ?? '', /policy bad\.js returned 'gpu-9000'/);
    assert.equal(run.stats.reasons['user-fallback'], run.batches);
    assert.ok((run.stats.decisionsBy['cpu-wasm'] ?? 0) > 0, 'the default put batches on lakeD');
  });
});
