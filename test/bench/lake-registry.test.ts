import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchRegistry } from '../../src/bench/lake-registry.js';

// Correctness only: speed belongs to the benchmark runs, not to unit tests.

test('benchRegistry loses and tears nothing', async () => {
  const result = await benchRegistry({ seconds: 0.3, capacity: 256 });
  assert.equal(result.producers, 2);
  assert.ok(result.captures > 0);
  assert.equal(result.lost, 0);
  assert.equal(result.torn, 0);
});
