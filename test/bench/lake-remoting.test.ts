import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchRemoting } from '../../src/bench/lake-remoting.js';
import { assertPlainData } from '../helpers/plain-data.js';

// Shape and correctness only: speed belongs to the benchmark runs, not to unit tests.

test('benchRemoting returns both paths as plain data', async () => {
  const result = await benchRemoting({ calls: 500, sleepCalls: 100 });
  assert.equal(result.spinThenSleep.samples, 500);
  assert.equal(result.sleepOnly.samples, 100);
  for (const summary of [result.spinThenSleep, result.sleepOnly]) {
    assert.ok(summary.minUs > 0 && summary.minUs <= summary.medianUs && summary.medianUs <= summary.p99Us);
  }
  assert.equal(result.targetUs, 2);
  assertPlainData(result);
});
