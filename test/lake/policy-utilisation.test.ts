import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BackendReport } from '../../src/lake/backends/types.js';
import type { UtilisationSample } from '../../src/lake/lib/types.js';
import { calibrationTable } from '../../src/lake/policy/calibration.js';
import { INLINE } from '../../src/lake/policy/constants.js';
import { ContentionPolicy } from '../../src/lake/policy/contention.js';
import { UtilisationMonitor } from '../../src/lake/policy/utilisation.js';

const CPU: BackendReport = {
  name: 'cpu-wasm',
  kind: 'cpu',
  available: true,
  capabilities: [],
  description: 'test',
};
const table = calibrationTable({
  model: 'nn',
  batchSizes: [1, 4, 8],
  inlineUs: [10, 40, 80],
  backends: [{ backend: 'cpu-wasm', usPerBatch: [50, 50, 50] }],
});

/** A lakeD whose busy fraction the test sets, on a clock the test moves. */
class FakeLakeD {
  nowMs = 0;
  busy = 0;
  calls = 0;
  #lastMs = 0;
  utilisation(): UtilisationSample {
    this.calls++;
    const windowMs = this.nowMs - this.#lastMs;
    this.#lastMs = this.nowMs;
    return { busy: this.busy, windowMs, busyNow: false, inFlight: 0, mode: 'daemon' };
  }
}

describe('utilisation check', () => {
  test("lakeD is sampled at most once a period (LAKE's 20 ms), lazily, on the first query after it", () => {
    const lakeD = new FakeLakeD();
    const monitor = new UtilisationMonitor(lakeD, { clock: () => lakeD.nowMs });
    const opened = lakeD.calls;
    lakeD.busy = 0.9;
    lakeD.nowMs = 19.9;
    assert.equal(monitor.foreign(), 0, 'no sample before 20 ms');
    assert.equal(lakeD.calls, opened);
    lakeD.nowMs = 20;
    assert.equal(monitor.foreign(), 0.9);
    assert.equal(monitor.samples, 1);
    lakeD.nowMs = 30;
    lakeD.busy = 0;
    assert.equal(monitor.foreign(), 0.9, 'the last sample holds until the next period');
  });

  test("a busy lakeD (over LAKE's 70%) moves batches above the crossover inline, and back when it quietens", () => {
    const lakeD = new FakeLakeD();
    const monitor = new UtilisationMonitor(lakeD, { clock: () => lakeD.nowMs });
    const policy = new ContentionPolicy({ tables: [table], backends: [CPU], monitor });
    assert.equal(policy.choose('nn', 8, 1).placement, 'cpu-wasm');
    lakeD.busy = 0.71;
    lakeD.nowMs += 20;
    const busy = policy.choose('nn', 8, 1);
    assert.equal(busy.placement, INLINE);
    assert.equal(busy.reason, 'utilisation');
    assert.equal(busy.costUs, 80);
    assert.equal(policy.worthBatching('nn'), null, 'no point batching for a busy lakeD');
    lakeD.busy = 0.7; // at the threshold, not over it
    lakeD.nowMs += 20;
    assert.equal(policy.choose('nn', 8, 1).placement, 'cpu-wasm');
  });

  test("our own batches do not count: only other clients' load moves work inline", () => {
    const lakeD = new FakeLakeD();
    const monitor = new UtilisationMonitor(lakeD, { clock: () => lakeD.nowMs });
    const policy = new ContentionPolicy({ tables: [table], backends: [CPU], monitor });
    lakeD.busy = 0.9;
    monitor.addOwnBusyUs(15_000); // 15 of the 20 ms were ours
    lakeD.nowMs += 20;
    assert.equal(policy.choose('nn', 8, 1).placement, 'cpu-wasm');
    assert.ok(Math.abs(monitor.last!.own - 0.75) < 1e-9);
    assert.ok(Math.abs(monitor.last!.foreign - 0.15) < 1e-9);
    lakeD.nowMs += 20; // the same load, none of it ours now
    assert.equal(policy.choose('nn', 8, 1).placement, INLINE);
  });

  test('without a monitor nothing is ever busy', () => {
    const policy = new ContentionPolicy({ tables: [table], backends: [CPU] });
    assert.equal(policy.choose('nn', 8, 1).placement, 'cpu-wasm');
  });
});
