import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BackendReport } from '../../src/lake/backends/types.js';
import { LakeLib } from '../../src/lake/lib/lake-lib.js';
import { calibrateLinnos } from '../../src/lake/linnos/calibrate.js';
import {
  batchCostUs,
  calibrationTable,
  crossoverFrom,
  paddedEnvelope,
} from '../../src/lake/policy/calibration.js';
import { INLINE } from '../../src/lake/policy/constants.js';
import { ContentionPolicy } from '../../src/lake/policy/contention.js';
import { defaultPlacement } from '../../src/lake/policy/placement.js';
import { randomDenseModel } from './helpers.js';

const CPU: BackendReport = {
  name: 'cpu-wasm',
  kind: 'cpu',
  available: true,
  capabilities: ['wasm-simd'],
  description: 'test',
};
const GPU: BackendReport = {
  name: 'webgpu',
  kind: 'gpu',
  available: false,
  reason: 'not available here: test',
  capabilities: [],
  description: 'test',
};

const SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 32];
/** Inline costs 10 us a read; lakeD 35 us plus 5 us a read: lakeD wins from 8 (40+35=75 < 80). */
const injected = calibrationTable({
  model: 'nn',
  batchSizes: SIZES,
  inlineUs: SIZES.map((n) => 10 * n),
  backends: [{ backend: 'cpu-wasm', usPerBatch: SIZES.map((n) => 35 + 5 * n) }],
});

describe('calibrated crossover', () => {
  test('the crossover is the smallest batch from which lakeD wins at every larger size', () => {
    assert.equal(injected.backends[0]!.crossover, 8);
    assert.equal(
      crossoverFrom([1, 2, 4, 8], [1, 2, 4, 8], [9, 1, 9, 1]),
      8,
      'a lucky win at 2 does not count',
    );
    assert.equal(crossoverFrom([1, 2], [1, 2], [5, 5]), null, 'never wins');
  });

  test('the policy runs batches below the crossover inline and from it on lakeD', () => {
    const policy = new ContentionPolicy({ tables: [injected], backends: [CPU, GPU] });
    for (let n = 1; n <= 32; n++) {
      const choice = policy.choose('nn', n, 100);
      if (n < 8) {
        assert.equal(choice.placement, INLINE, `batch ${n}`);
        assert.equal(choice.reason, 'below-crossover');
        assert.equal(choice.costUs, batchCostUs(injected, INLINE, n));
      } else {
        assert.equal(choice.placement, 'cpu-wasm', `batch ${n}`);
        assert.equal(choice.reason, 'crossover');
        assert.equal(choice.costUs, batchCostUs(injected, 'cpu-wasm', n));
      }
    }
    assert.deepEqual(policy.crossovers('nn'), { 'cpu-wasm': 8, webgpu: null });
    assert.equal(policy.worthBatching('nn'), 8);
  });

  test('an unusable backend is never chosen, whatever its timings', () => {
    const table = calibrationTable({
      model: 'nn',
      batchSizes: [1, 2],
      inlineUs: [10, 20],
      backends: [{ backend: 'webgpu', mode: 'offload', usPerBatch: [1, 1] }],
    });
    const policy = new ContentionPolicy({ tables: [table], backends: [CPU, GPU] });
    const choice = policy.choose('nn', 2, 100);
    assert.equal(choice.placement, INLINE);
    assert.equal(choice.reason, 'no-backend');
    const gpu = policy.backendStates('nn', 2).find((b) => b.name === 'webgpu')!;
    assert.equal(gpu.usable, false);
    assert.match(gpu.reason ?? '', /not available here/);
  });

  test('costs are the measured figures, linear between sizes and extrapolated beyond them', () => {
    assert.equal(batchCostUs(injected, 'cpu-wasm', 8), 75);
    assert.equal(batchCostUs(injected, INLINE, 12), 120); // between 10 (100) and 16 (160)
    assert.equal(batchCostUs(injected, INLINE, 64), 640); // beyond 32, from the last two
    assert.throws(() => batchCostUs(injected, 'tpu', 1), /no placement tpu/);
  });

  test('a measured curve is capped by its padded envelope: a batch can always run as a larger one', () => {
    assert.deepEqual(paddedEnvelope([112, 110, 12, 60, 9.7, 11]), [9.7, 9.7, 9.7, 9.7, 9.7, 11]);
    assert.deepEqual(paddedEnvelope([1, 2, 3]), [1, 2, 3], 'an increasing curve is left alone');
  });

  test('bad tables are refused with the model and the reason', () => {
    assert.throws(
      () => calibrationTable({ model: 'nn', batchSizes: [2, 1], inlineUs: [1, 1], backends: [] }),
      /calibration table for nn: batch sizes must be ascending/,
    );
    assert.throws(
      () => calibrationTable({ model: 'nn', batchSizes: [1], inlineUs: [0], backends: [] }),
      /inline: timing 0 is not positive/,
    );
    assert.throws(
      () =>
        calibrationTable({
          model: 'nn+1',
          batchSizes: [1, 2],
          inlineUs: [1, 2],
          backends: [{ backend: 'cpu-wasm', usPerBatch: [1] }],
        }),
      /cpu-wasm: 1 timings for 2 batch sizes/,
    );
    const policy = new ContentionPolicy({ tables: [injected], backends: [CPU] });
    assert.throws(() => policy.choose('nn+2', 1, 0), /no calibration for model nn\+2 \(have nn\)/);
  });

  test('the default placement is a plain function of its input (what user policies replace)', () => {
    const policy = new ContentionPolicy({ tables: [injected], backends: [CPU, GPU] });
    const input = policy.input('nn', 9, 50);
    assert.equal(input.batchSize, 9);
    assert.equal(input.interArrivalUs, 50);
    assert.equal(input.inlineUs, 90);
    assert.equal(defaultPlacement(input), 'cpu-wasm');
    // Plain data: a copy, as a user policy on its own thread receives it, is equal and places the same way.
    const copy = structuredClone(input);
    assert.deepEqual(copy, input);
    assert.equal(defaultPlacement(copy), 'cpu-wasm');
    assert.equal(defaultPlacement(JSON.parse(JSON.stringify(input))), 'cpu-wasm');
  });
});

describe('calibration measured on lakeD', () => {
  let lib: LakeLib;
  before(async () => {
    lib = await LakeLib.open({ arenaBytes: 8 << 20, hangTimeoutMs: 10_000 });
  });
  after(async () => {
    await lib.close();
  });

  test('a measured table is well formed and the policy follows its crossover', () => {
    const table = calibrateLinnos(lib, randomDenseModel(3, [31, 256, 2]), {
      name: 'nn',
      batchSizes: [1, 2, 4, 8, 16],
      trials: 1,
    });
    assert.equal(table.source, 'measured');
    assert.deepEqual(table.batchSizes, [1, 2, 4, 8, 16]);
    assert.ok(table.inlineUs.every((t) => t > 0));
    assert.deepEqual(
      table.inlineUs,
      paddedEnvelope(table.inlineUs),
      'measured curves are their own envelope',
    );
    const cpu = table.backends.find((b) => b.backend === 'cpu-wasm');
    assert.ok(cpu !== undefined, 'cpu-wasm is calibrated');
    assert.equal(cpu.mode, 'split');
    assert.equal(cpu.crossover, crossoverFrom(table.batchSizes, table.inlineUs, cpu.usPerBatch));
    const policy = new ContentionPolicy({ tables: [table], backends: lib.listBackends() });
    for (const n of table.batchSizes) {
      const expected: string = cpu.crossover !== null && n >= cpu.crossover ? 'cpu-wasm' : INLINE;
      assert.equal(policy.choose('nn', n, 10).placement, expected, `batch ${n}`);
    }
  });
});
