import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchSoak, slopePerMinute, soakSuiteOf } from '../../src/bench/lake-soak.js';

// Correctness only: the throughput and the slopes are the benchmark's figures, not the test's.

test('a short soak through lakeD loses no decision and every decision answers its own request', async () => {
  // A long hang timeout: on a busy shared machine a 1 s silence of lakeD is the scheduler, not a hang.
  const result = await benchSoak({
    seconds: 2,
    sampleMs: 100,
    seed: 3,
    lakeLibOptions: { hangTimeoutMs: 10_000 },
  });
  assert.ok(result.sent > 100, `sent ${result.sent} decisions`);
  assert.equal(result.lost, 0);
  assert.equal(result.received, result.sent);
  assert.equal(result.batchesReceived, result.batchesSent);
  assert.equal(result.mismatched, 0, 'each decision equals the inline predictor on the same vectors');
  assert.ok(result.slow > 0 && result.slow < result.received, 'both classes occur, so a swap would show');
  assert.equal(result.lakeLib.restarts, 0);
  assert.equal(result.lakeLib.inlineCommands, 0, 'lakeD, not the inline fallback, answered');
  assert.equal(result.arena.endBytes, result.arena.steadyBytes, 'lakeShm holds only the soak buffers');
  assert.ok(result.samples.length >= 5, `${result.samples.length} memory samples`);
  const suite = soakSuiteOf(result);
  assert.equal(suite.results.find((r) => r.name === 'lost or wrong decisions')?.state, 'completed');
});

test('slopePerMinute fits a line through the samples', () => {
  const points = [0, 1, 2, 3, 4].map((t) => ({ atS: t * 30, v: 1000 + 7 * t * 30 + (t % 2) * 3 }));
  // 7 bytes per second plus an alternating 3-byte ripple: the fit stays near 420 bytes per minute.
  assert.ok(Math.abs(slopePerMinute(points, (p) => p.v) - 420) < 2);
  assert.equal(
    slopePerMinute([{ atS: 5 }], () => 1),
    0,
  );
});
