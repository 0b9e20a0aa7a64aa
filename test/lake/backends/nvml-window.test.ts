import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_SAMPLE_INTERVAL_US,
  SampleIntervalEstimate,
  SampleRing,
} from '../../../src/lake/backends/cuda/nvml-window.js';
import { UtilisationMonitor } from '../../../src/lake/policy/utilisation.js';

describe('NVML sample windows', () => {
  test('a ring keeps the newest samples in timestamp order, whatever order they come in', () => {
    const ring = new SampleRing(3);
    assert.equal(ring.newestUs, Number.NEGATIVE_INFINITY);
    ring.add(300, 30);
    ring.add(100, 10);
    ring.add(200, 20);
    ring.add(200, 99); // a stamp already held: the same sample read again
    assert.deepEqual([ring.size, ring.previousUs, ring.newestUs, ring.newestPercent], [3, 200, 300, 30]);
    ring.add(50, 5); // older than all three held in a full ring: dropped
    ring.add(400, 40); // the oldest (100) falls out
    assert.equal(ring.size, 3);
    // Each sample covers the time since the previous one: (200, 300] at 30%, (300, 400] at 40%.
    assert.equal(ring.busyPercentUs(200, 400, 1000), 100 * 30 + 100 * 40);
    assert.equal(ring.coveredUs, 200);
    // With a sample period of 80: each sample covers at most 80 before it, (120, 200] and (220, 300];
    // the window clips them.
    assert.equal(ring.busyPercentUs(0, 250, 80), 80 * 20 + 30 * 30);
    assert.equal(ring.coveredUs, 110);
  });

  test('a sample after an idle gap covers one sample period, not the whole gap', () => {
    const ring = new SampleRing();
    ring.add(1_000_000, 100);
    ring.add(5_000_000, 50); // the process was idle (no samples) in between
    assert.equal(ring.busyPercentUs(4_000_000, 5_000_000, 200_000), 200_000 * 50);
    assert.equal(ring.coveredUs, 200_000);
  });

  test('the sample period is the smallest gap of one series, 1/6 s until one is seen', () => {
    const interval = new SampleIntervalEstimate();
    assert.deepEqual([interval.us, interval.observed], [DEFAULT_SAMPLE_INTERVAL_US, false]);
    interval.observe(Number.NEGATIVE_INFINITY, 100_000);
    interval.observe(100_000, 100_500); // under 1 ms: the same sampling round
    assert.equal(interval.observed, false);
    interval.observe(100_000, 300_000);
    interval.observe(300_000, 400_000);
    interval.observe(400_000, 700_000);
    assert.deepEqual([interval.us, interval.observed], [100_000, true]);
  });

  test("the monitor takes a source's own measure of foreign load as it is, not less lake's estimate", () => {
    let now = 0;
    const sample = { busy: 0.9, windowMs: 20, foreign: 0.75 as number | undefined };
    const monitor = new UtilisationMonitor({ utilisation: () => sample }, { clock: () => now });
    monitor.addOwnBusyUs(15_000); // lake's batches: 75% of the 20 ms window
    now = 20;
    assert.equal(monitor.foreign(), 0.75);
    assert.equal(monitor.overloaded(), true);
    sample.foreign = undefined;
    monitor.addOwnBusyUs(15_000);
    now = 40;
    assert.ok(Math.abs(monitor.foreign() - 0.15) < 1e-12, 'without it: busy less our own share');
  });
});
