import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { build, JsHistogram } from 'hdr-histogram-js';
import { LakeError } from '../../src/errors.js';
import { Random } from '../../src/random.js';
import { countsIndex, LatencyRecorder } from '../../src/report/histogram.js';
import { exactPercentile, flashLatencies } from './samples.js';

const PERCENTILES = [0, 1, 10, 50, 90, 95, 99, 99.9, 99.99, 100];

/** HdrHistogram with 3 significant digits: within 0.1% of the value, plus 1 ns for rounding to integer ns. */
function assertWithinPrecision(actual: number, exact: number, what: string): void {
  const tolerance = exact * 1e-3 + 0.001;
  assert.ok(
    Math.abs(actual - exact) <= tolerance,
    `${what}: ${actual} vs exact ${exact} (tolerance ${tolerance})`,
  );
}

function recorderOf(latencies: number[]): LatencyRecorder {
  const recorder = new LatencyRecorder();
  for (const latency of latencies) recorder.record(latency);
  return recorder;
}

describe('LatencyRecorder percentiles', () => {
  for (const [name, latencies] of [
    ['lognormal body with a Pareto tail', flashLatencies(1, 200_000)],
    ['sub-microsecond lognormal', flashLatencies(2, 50_000, 0.3, 0)],
    ['heavy tail, 10% stalls', flashLatencies(3, 100_000, 80, 0.1)],
  ] as const) {
    test(`match an exact sorted-array reference: ${name}`, () => {
      const recorder = recorderOf(latencies);
      const sorted = [...latencies].sort((a, b) => a - b);
      for (const p of PERCENTILES) {
        assertWithinPrecision(recorder.percentileUs(p), exactPercentile(sorted, p), `p${p}`);
      }
      const summary = recorder.summary();
      assert.equal(summary.count, latencies.length);
      assertWithinPrecision(summary.p50Us, exactPercentile(sorted, 50), 'summary p50');
      assertWithinPrecision(summary.p999Us, exactPercentile(sorted, 99.9), 'summary p99.9');
      assertWithinPrecision(summary.p9999Us, exactPercentile(sorted, 99.99), 'summary p99.99');
    });
  }

  test('avg, min and max are exact, not bucket approximations', () => {
    const latencies = flashLatencies(4, 10_000);
    const recorder = recorderOf(latencies);
    const sum = latencies.reduce((a, b) => a + b, 0);
    const summary = recorder.summary();
    assert.ok(Math.abs(summary.avgUs - sum / latencies.length) <= 1e-12 * summary.avgUs);
    assert.equal(summary.maxUs, Math.max(...latencies));
    assert.equal(recorder.minUs, Math.min(...latencies));
    assert.equal(recorder.percentileUs(100), summary.maxUs);
  });

  test('percentiles never exceed the exact max', () => {
    const recorder = recorderOf([100.0001, 100.0002, 100.0003]);
    assert.equal(recorder.percentileUs(100), 100.0003);
    assert.ok(recorder.summary().p9999Us <= 100.0003);
  });

  test('an empty recorder summarises to zeros', () => {
    const recorder = new LatencyRecorder();
    assert.deepEqual(recorder.summary(), {
      count: 0,
      avgUs: 0,
      p50Us: 0,
      p90Us: 0,
      p95Us: 0,
      p99Us: 0,
      p999Us: 0,
      p9999Us: 0,
      maxUs: 0,
    });
    assert.equal(recorder.count, 0);
    assert.equal(recorder.minUs, 0);
  });

  test('values beyond 2^32 ns and beyond the initial 10 s range are recorded exactly enough', () => {
    // 1 us, 5 s (library path: above 2^32 ns) and 60 s (resizes the histogram), then the fast path again.
    const latencies = [1, 5_000_000, 60_000_000, 2, 3];
    const recorder = recorderOf(latencies);
    const sorted = [...latencies].sort((a, b) => a - b);
    for (const p of [20, 40, 60, 80, 100]) {
      assertWithinPrecision(recorder.percentileUs(p), exactPercentile(sorted, p), `p${p}`);
    }
    assert.equal(recorder.count, 5);
  });

  test('reset forgets everything', () => {
    const recorder = recorderOf(flashLatencies(5, 1000));
    recorder.reset();
    assert.equal(recorder.summary().count, 0);
    assert.equal(recorder.summary().p99Us, 0);
    recorder.record(7);
    assert.equal(recorder.summary().maxUs, 7);
    assertWithinPrecision(recorder.percentileUs(50), 7, 'p50 after reset');
  });

  test('rejects negative, NaN and infinite latencies and percentiles outside [0, 100]', () => {
    const recorder = new LatencyRecorder();
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => recorder.record(bad),
        (error: unknown) => error instanceof LakeError && error.code === 'LAKE_E_USAGE',
      );
    }
    assert.equal(recorder.count, 0);
    assert.throws(() => recorder.percentileUs(100.5), /percentile must be in \[0, 100\]/);
    assert.throws(() => recorder.percentileUs(-1), LakeError);
  });
});

describe('countsIndex (the inlined index computation)', () => {
  test('agrees with hdr-histogram-js countsArrayIndex', () => {
    const histogram = build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 2 ** 33,
      numberOfSignificantValueDigits: 3,
    });
    assert.ok(histogram instanceof JsHistogram);
    const values = [0, 1, 2, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 2 ** 32 - 1];
    for (let k = 1; k < 32; k++) values.push(2 ** k - 1, 2 ** k, 2 ** k + 1);
    const random = new Random(6);
    for (let i = 0; i < 20_000; i++) values.push(Math.floor(Math.exp(random.next() * Math.log(2 ** 32))) - 1);
    for (const v of values) {
      assert.equal(
        countsIndex(v, histogram.subBucketHalfCountMagnitude, histogram.unitMagnitude),
        histogram.countsArrayIndex(v),
        `value ${v}`,
      );
    }
  });

  test('agrees with the library for a coarser lowest discernible value too', () => {
    const histogram = build({
      lowestDiscernibleValue: 16,
      highestTrackableValue: 2 ** 33,
      numberOfSignificantValueDigits: 2,
    });
    assert.ok(histogram instanceof JsHistogram);
    for (const v of [0, 15, 16, 17, 255, 256, 4095, 4096, 123_456, 2 ** 31, 2 ** 32 - 1]) {
      assert.equal(
        countsIndex(v, histogram.subBucketHalfCountMagnitude, histogram.unitMagnitude),
        histogram.countsArrayIndex(v),
      );
    }
  });
});
