import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchInference } from '../../src/bench/inference.js';
import { assertPlainData } from '../helpers/plain-data.js';

// Shape and ratios only: speed belongs in `lake bench`, not in unit tests.
test('benchInference returns JSON-able medians per backend and batch size, with ratios to js', () => {
  const suite = benchInference({ batchSizes: [1, 8], samples: 2, runMs: 5 });
  assert.equal(suite.suite, 'inference');
  assert.equal(suite.shape, '31-256-2');
  assert.deepEqual(
    suite.results.map((r) => r.name),
    ['wasm batch 1', 'exact batch 1', 'js batch 1', 'wasm batch 8', 'exact batch 8', 'js batch 8'],
  );
  for (const result of suite.results) {
    assert.equal(result.state, 'completed');
    assert.equal(result.unit, 'ns/prediction');
    assert.equal(result.samples, 2);
    assert.ok(result.median > 0 && result.min <= result.median && result.median <= result.max);
    const reference = suite.results.find((r) => r.name === result.reference)!;
    assert.equal(reference.details?.['batch'], result.details?.['batch']);
    assert.ok(Math.abs(result.ratio! - result.median / reference.median) < 1e-12);
  }
  assertPlainData(suite);
});
