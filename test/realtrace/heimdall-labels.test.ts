import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inflectionPoint } from '../../src/linnos/labels.js';
import {
  type HeimdallThresholds,
  heimdallPeriodLabels,
  heimdallThresholds,
  OUTLIER_FAST_IN_SLOW,
  OUTLIER_NONE,
  OUTLIER_SHORT_PERIOD,
  OUTLIER_SLOW_IN_FAST,
  roundHalfEven,
  throughputOf,
} from '../../src/realtrace/heimdall-labels.js';
import { ioTableFromRecords } from '../../src/realtrace/io-table.js';

function table(latencies: number[], size = 4096) {
  return ioTableFromRecords(
    latencies.map((latencyUs, i) => ({
      arrivalMs: i,
      submitMs: i,
      latencyUs,
      size,
      read: true,
      offset: 0,
      device: 0,
    })),
  );
}

// With 4 KiB I/Os: 200 us -> 20 B/us (fast), 400 us -> 10, 1500 us -> 3, 2000 us -> 2 (slow).
const thresholds: HeimdallThresholds = {
  latencyKneeUs: 1000,
  latencyKneePercentile: 70,
  throughputKnee: 20,
  throughputKneePercentile: 80,
  medianLatencyUs: 500,
  medianThroughput: 8,
};

describe("Heimdall's period labels and noise filter", () => {
  const latencies = [1500, 200, 2000, 400, 2000, 2000, 2000, 200, 200, 200, 2000, 200, 200, 200, 200];
  const labels = heimdallPeriodLabels(table(latencies), 0, latencies.length, thresholds);

  test('a period starts at a slow I/O whose throughput dropped >= 1.7x and lasts until 3 fast I/Os in a row', () => {
    // 2 starts (20 -> 2 B/us), 3..6 continue (never 3 fast in a row), 7 ends it (7, 8, 9 all fast);
    // 10 starts another that 11 ends; 0 is slow but cannot start one (no throughput before it).
    assert.deepEqual([...labels.tail], [0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
  });

  test('stage 1 drops fast I/Os inside a period, stage 2 slow I/Os outside, stage 3 periods of <= 3 left', () => {
    const expected = new Array<number>(latencies.length).fill(OUTLIER_NONE);
    expected[3] = OUTLIER_FAST_IN_SLOW; // 400 us, 10 B/us: at or under both medians' fast side
    expected[0] = OUTLIER_SLOW_IN_FAST; // above the knee, below the median throughput, in no period
    expected[10] = OUTLIER_SHORT_PERIOD; // a period of one I/O
    assert.deepEqual([...labels.outlier], expected);
  });

  test('stage 3 counts a period after stages 1 and 2: 4 marked I/Os minus 1 outlier is still kept', () => {
    // Period 2..6 keeps 2, 4, 5, 6 (four I/Os > 3): not a short period.
    for (const i of [2, 4, 5, 6]) assert.equal(labels.outlier[i], OUTLIER_NONE);
  });

  test('thresholds: tangent knees of latency and throughput over every I/O, and the medians', () => {
    const lat = [100, 120, 130, 150, 160, 900, 1000, 1200, 5000, 140, 135, 125];
    const t = heimdallThresholds(table(lat));
    assert.equal(t.latencyKneeUs, inflectionPoint(lat).thresholdUs);
    assert.equal(t.throughputKnee, inflectionPoint(lat.map((l) => throughputOf(4096, l))).thresholdUs);
    assert.equal(t.medianLatencyUs, (140 + 150) / 2);
  });

  test('throughput rounds half to even, as numpy does', () => {
    assert.equal(roundHalfEven(2.5), 2);
    assert.equal(roundHalfEven(3.5), 4);
    assert.equal(roundHalfEven(2.4), 2);
    assert.equal(throughputOf(4096, 1638.4), 2); // 2.5
    assert.equal(throughputOf(4096, 0), 4096); // a 0 us latency counts as 1 us
  });
});
