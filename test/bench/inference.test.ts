import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchInference } from '../../src/bench/inference.js';
import { assertPlainData } from '../helpers/plain-data.js';

// Shape and ratios only: speed belongs in `lake bench`, not in unit tests.
test('benchInference returns JSON-able medians per backend and batch size, with ratios to js', async () => {
  const suite = await benchInference({ batchSizes: [1, 8], samples: 2, runMs: 5, native: false });
  assert.equal(suite.suite, 'inference');
  assert.equal(suite.shape, '31-256-2');
  assert.deepEqual(suite.native, { status: 'skipped', reason: 'not asked for (native: false)' });
  assert.deepEqual(
    suite.results.map((r) => r.name),
    [
      'wasm batch 1',
      'exact batch 1',
      'js batch 1',
      'wasm batch 8',
      'exact batch 8',
      'js batch 8',
      'linnos submit path wasm batch 1',
      'incremental wasm submit batch 1',
      'incremental int16-js submit batch 1',
      'incremental exact submit batch 1',
      'incremental wasm context update',
    ],
  );
  for (const result of suite.results) {
    assert.equal(result.state, 'completed', `${result.name}: ${result.error ?? ''}`);
    assert.equal(result.unit, result.name.endsWith('update') ? 'ns/update' : 'ns/prediction');
    assert.equal(result.samples, 2);
    assert.ok(result.median > 0 && result.min <= result.median && result.median <= result.max);
    const reference = suite.results.find((r) => r.name === result.reference)!;
    assert.equal(reference.details?.['backend'], 'js');
    if (result.name.includes(' batch '))
      assert.equal(reference.details?.['batch'], result.details?.['batch']);
    assert.ok(Math.abs(result.ratio! - result.median / reference.median) < 1e-12);
    assert.equal(result.details?.['vsNativeInt16'], undefined, 'no native figure, no ratio to it');
  }
  assertPlainData(suite);
});

test('benchInference without the incremental rows keeps the full-forward rows alone', async () => {
  const suite = await benchInference({
    batchSizes: [1],
    samples: 1,
    runMs: 2,
    native: false,
    incremental: false,
  });
  assert.deepEqual(
    suite.results.map((r) => r.name),
    ['wasm batch 1', 'exact batch 1', 'js batch 1'],
  );
});
