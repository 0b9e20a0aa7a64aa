import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyRecorder } from '../../src/report/histogram.js';
import type { CdfPoint } from '../../src/report/types.js';
import { countAtOrBelow, flashLatencies } from './samples.js';

function recorderOf(latencies: number[]): LatencyRecorder {
  const recorder = new LatencyRecorder();
  for (const latency of latencies) recorder.record(latency);
  return recorder;
}

function assertMonotone(cdf: CdfPoint[]): void {
  for (let i = 1; i < cdf.length; i++) {
    assert.ok(cdf[i]!.latencyUs >= cdf[i - 1]!.latencyUs, `latency not increasing at ${i}`);
    assert.ok(cdf[i]!.fraction > cdf[i - 1]!.fraction, `fraction not increasing at ${i}`);
  }
}

test('the CDF is monotone, bounded in size, and ends at (max, 1)', () => {
  const latencies = flashLatencies(21, 200_000);
  const recorder = recorderOf(latencies);
  const max = latencies.reduce((a, b) => Math.max(a, b), 0);
  for (const maxPoints of [400, 100, 10]) {
    const cdf = recorder.cdf(maxPoints);
    assert.ok(cdf.length <= maxPoints && cdf.length >= 2, `${cdf.length} points for maxPoints ${maxPoints}`);
    assertMonotone(cdf);
    assert.deepEqual(cdf.at(-1), { latencyUs: max, fraction: 1 });
  }
});

test('every CDF point agrees with the exact empirical CDF (within bucket width and ns rounding)', () => {
  const latencies = flashLatencies(22, 100_000);
  const sorted = [...latencies].sort((a, b) => a - b);
  const cdf = recorderOf(latencies).cdf();
  for (const point of cdf) {
    // All counted latencies round to <= the bucket top; all uncounted ones round above it.
    const below = countAtOrBelow(sorted, point.latencyUs - 0.0005) / sorted.length;
    const atOrBelow = countAtOrBelow(sorted, point.latencyUs + 0.0005) / sorted.length;
    assert.ok(
      below <= point.fraction && point.fraction <= atOrBelow,
      `${JSON.stringify(point)}: [${below}, ${atOrBelow}]`,
    );
  }
});

test('thinning keeps the tail: points beyond p99.9 and p99.99 survive', () => {
  const cdf = recorderOf(flashLatencies(23, 200_000)).cdf(200);
  assert.ok(cdf.some((point) => point.fraction > 0.999 && point.fraction < 0.9999));
  assert.ok(cdf.some((point) => point.fraction > 0.9999 && point.fraction < 1));
  assert.ok(cdf.some((point) => point.fraction < 0.1));
});

test('few distinct values give the exact step function', () => {
  const cdf = recorderOf([1, 2, 2, 3]).cdf();
  assert.deepEqual(cdf, [
    { latencyUs: 1, fraction: 0.25 },
    { latencyUs: 2, fraction: 0.75 },
    { latencyUs: 3, fraction: 1 },
  ]);
});

test('an empty recorder has an empty CDF; maxPoints must be an integer >= 2', () => {
  assert.deepEqual(new LatencyRecorder().cdf(), []);
  assert.throws(() => new LatencyRecorder().cdf(1), /maxPoints/);
  assert.throws(() => new LatencyRecorder().cdf(2.5), /maxPoints/);
});
