import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyRecorder } from '../../src/report/histogram.js';
import { flashLatencies } from './samples.js';

function recorderOf(latencies: number[]): LatencyRecorder {
  const recorder = new LatencyRecorder();
  for (const latency of latencies) recorder.record(latency);
  return recorder;
}

test('merging two recorders equals recording everything in one', () => {
  const first = flashLatencies(11, 30_000);
  const second = flashLatencies(12, 20_000, 300, 0.05);
  const merged = recorderOf(first);
  const other = recorderOf(second);
  merged.merge(other);
  const whole = recorderOf([...first, ...second]);

  const a = merged.summary();
  const b = whole.summary();
  assert.equal(a.count, 50_000);
  assert.ok(Math.abs(a.avgUs - b.avgUs) <= 1e-9 * b.avgUs);
  assert.deepEqual({ ...a, avgUs: 0 }, { ...b, avgUs: 0 });
  assert.equal(merged.minUs, whole.minUs);
  assert.deepEqual(merged.cdf(), whole.cdf());
  // The source is unchanged.
  assert.equal(other.count, 20_000);
  assert.deepEqual(other.summary(), recorderOf(second).summary());
});

test('merging into an empty recorder copies; merging an empty one changes nothing', () => {
  const source = recorderOf(flashLatencies(13, 5000));
  const empty = new LatencyRecorder();
  empty.merge(source);
  assert.deepEqual(empty.summary(), source.summary());
  const before = source.summary();
  source.merge(new LatencyRecorder());
  assert.deepEqual(source.summary(), before);
});

test('merging a recorder whose histogram was resized by a huge value', () => {
  const small = recorderOf([10, 20, 30]);
  const huge = recorderOf([40, 120_000_000]);
  small.merge(huge);
  assert.equal(small.count, 5);
  assert.equal(small.summary().maxUs, 120_000_000);
  assert.ok(Math.abs(small.percentileUs(60) - 30) <= 0.03);
});
