import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mergeStreams } from '../../src/array/engine.js';
import { LakeError } from '../../src/errors.js';
import { createFlashDevice } from '../../src/flash/index.js';
import { lakeResultJson } from '../../src/lake/linnos/result-json.js';
import { type RunLakeLinnosOptions, runLakeLinnos } from '../../src/lake/linnos/run.js';
import { parseCrossovers } from '../../src/lake/linnos/shape-options.js';
import { crossoverFrom, nominalCalibration } from '../../src/lake/policy/calibration.js';
import { synthesize } from '../../src/trace/synth.js';
import { randomDenseModel } from './helpers.js';

const PROFILES = ['azure', 'bing-i', 'cosmos'] as const;
const arrivals = () => mergeStreams(PROFILES.map((p, i) => synthesize(p, { durationMs: 300, seed: 90 + i })));
const makeDevices = () =>
  PROFILES.map((_, i) => createFlashDevice({ profile: 'femu', name: `ssd${i}`, seed: 95 + i }));
const NN = PROFILES.map((_, d) => randomDenseModel(40 + d, [31, 256, 2]));

const usage = (pattern: RegExp) => (e: unknown) =>
  e instanceof LakeError && e.code === 'LAKE_E_USAGE' && pattern.test(e.message);

function run(crossovers: RunLakeLinnosOptions['crossovers']) {
  return runLakeLinnos({
    shapes: [{ shape: 'nn', models: NN }],
    arrivals,
    makeDevices,
    // Every read waits 50 us for company, so batches of every size occur on both sides of the crossover.
    batching: { nn: { hold: 'always', windowUs: 50 } },
    ...(crossovers !== undefined ? { crossovers } : {}),
    lakeLibOptions: { arenaBytes: 8 << 20, hangTimeoutMs: 10_000 },
  });
}

/** results.json's lake section without the fields read from the clock (they sit under `timing`). */
function withoutTiming(json: Record<string, unknown>): Record<string, unknown> {
  const { timing, ...rest } = json;
  assert.ok(timing !== undefined && typeof timing === 'object', 'the clock readings are kept apart');
  return rest;
}

describe('--crossovers: a run that does not depend on this machine', () => {
  test('two runs with the same crossovers are identical apart from timing; other crossovers change placement', async () => {
    const first = await run({ nn: 3 });
    const second = await run({ nn: 3 });
    assert.equal(first.crossoversFlag, 'nn=3');
    assert.equal(first.crossoverSource, 'given');
    assert.equal(first.shapes[0]!.calibration.source, 'nominal');
    const a = withoutTiming(lakeResultJson(first));
    const b = withoutTiming(lakeResultJson(second));
    assert.deepEqual(a, b);
    const lake = first.shapes[0]!.runs.find((r) => r.variant === 'lake')!;
    assert.ok((lake.stats.decisionsBy['cpu-wasm'] ?? 0) > 0, 'batches from 3 reads ran on lakeD');
    assert.ok((lake.stats.decisionsBy['inline'] ?? 0) > 0, 'smaller ones inline');
    assert.equal(lake.stats.reasons.utilisation ?? 0, 0, 'no utilisation check');
    assert.equal(
      (lake.stats.batchSizes[1] ?? 0) + (lake.stats.batchSizes[2] ?? 0),
      lake.stats.batchesBy['inline'],
    );

    const never = await run({ nn: null });
    assert.equal(never.crossoversFlag, 'nn=never');
    const none = never.shapes[0]!.runs.find((r) => r.variant === 'lake')!;
    assert.equal(none.stats.decisionsBy['cpu-wasm'] ?? 0, 0, 'lakeD never wins: every batch inline');
    assert.equal(none.stats.decisions, none.stats.decisionsBy['inline']);
  });

  test('the nominal table puts the crossover where it was given', () => {
    const sizes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 32, 64];
    for (const [macs, crossover] of [
      [8448, 1],
      [8448, 9],
      [74_048, 4],
      [139_584, 64],
    ] as const) {
      const table = nominalCalibration({
        model: 'm',
        multiplyAccumulates: macs,
        crossover,
        backends: [{ backend: 'cpu-wasm', mode: 'split' }],
        batchSizes: sizes,
      });
      assert.equal(table.backends[0]!.crossover, crossover);
      assert.equal(crossoverFrom(sizes, table.inlineUs, table.backends[0]!.usPerBatch), crossover);
    }
    const never = nominalCalibration({
      model: 'm',
      multiplyAccumulates: 8448,
      crossover: null,
      backends: [{ backend: 'cpu-wasm', mode: 'split' }],
      batchSizes: sizes,
    });
    assert.equal(never.backends[0]!.crossover, null);
    assert.throws(
      () =>
        nominalCalibration({
          model: 'nn',
          multiplyAccumulates: 8448,
          crossover: 65,
          backends: [],
          batchSizes: sizes,
        }),
      usage(/crossover of nn must be a whole batch size from 1 to 64 or never, got 65/),
    );
  });

  test('--crossovers is parsed for the shapes --models runs, each once', () => {
    assert.deepEqual(parseCrossovers('nn=9, nn+1=4,nn+2=never', ['nn', 'nn+1', 'nn+2']), {
      nn: 9,
      'nn+1': 4,
      'nn+2': null,
    });
    assert.throws(
      () => parseCrossovers('nn=9', ['nn', 'nn+1']),
      usage(/must give every model of --models: missing nn\+1/),
    );
    assert.throws(() => parseCrossovers('nn=9,nn+2=4', ['nn']), usage(/nn\+2 is not among --models \(nn\)/));
    assert.throws(() => parseCrossovers('nn=9,nn=4', ['nn']), usage(/nn is given twice/));
    assert.throws(
      () => parseCrossovers('nn=0', ['nn']),
      usage(/nn=0 must be a batch size from 1 to 64, or never/),
    );
    assert.throws(
      () => parseCrossovers('nn=65', ['nn']),
      usage(/nn=65 must be a batch size from 1 to 64, or never/),
    );
    assert.throws(() => parseCrossovers('nn', ['nn']), usage(/nn= must be a batch size/));
    assert.throws(() => parseCrossovers('nn+3=4', ['nn']), usage(/unknown model "nn\+3"/));
  });
});
