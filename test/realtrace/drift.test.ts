import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { type DriftReport, runOnline } from '../../src/realtrace/drift.js';
import { concatTables, type IoTable } from '../../src/realtrace/io-table.js';
import { loadWindow, WINDOWS } from './fixtures.js';

// Two windows back to back: a 60:40 read/write mix, then the most random-IOPS window. The first model
// learns from the first half of the first window; the workload changes at the boundary.
describe('drift: online accuracy, background retraining and atomic swaps on a changing workload', () => {
  let table: IoTable;
  let boundaryRead: number;
  let online: DriftReport;
  let baseline: DriftReport;
  const delay = 50_000;
  before(async () => {
    const first = await loadWindow(WINDOWS.rw6040);
    const second = await loadWindow(WINDOWS.mostRandIops);
    table = concatTables([first, second]);
    const start = Math.floor(first.count / 2);
    boundaryRead = 0;
    for (let i = start; i < first.count; i++) boundaryRead += first.read[i]!;
    online = runOnline(table, { initialTrainEnd: start, retrainDelayUs: delay });
    baseline = runOnline(table, { initialTrainEnd: start, retrain: false });
  });

  test('accuracy is measured online from completed reads, over a rolling window', () => {
    assert.ok(online.reads > 50_000, `${online.reads} reads resolved`);
    assert.ok(online.timeline.length > 50);
    // A point every 500 resolved reads (checkEvery), each the share of the last 2000 (window) predicted right.
    let previous = 0;
    for (const p of online.timeline) {
      assert.equal(p.reads % 500, 0, `point at read ${p.reads}`);
      assert.ok(p.reads > previous);
      previous = p.reads;
      const right = p.rollingAccuracy * 2000;
      assert.ok(Math.abs(right - Math.round(right)) < 1e-6, `${p.rollingAccuracy} is not k/2000`);
    }
    const rolling = online.timeline.map((p) => p.rollingAccuracy);
    assert.equal(online.minRollingAccuracy, Math.min(...rolling));
    assert.equal(online.maxRollingAccuracy, Math.max(...rolling));
    assert.ok(online.maxRollingAccuracy > online.minRollingAccuracy, 'the accuracy moves with the workload');
  });

  test('no retrain while the workload stays the same; a retrain once it has changed', () => {
    assert.equal(baseline.retrains.length, 0);
    assert.ok(online.retrains.length >= 1);
    const first = online.retrains[0]!;
    assert.ok(
      first.startedAtRead > boundaryRead,
      `first retrain at read ${first.startedAtRead}, change at ${boundaryRead}`,
    );
    assert.ok(first.rollingAccuracy < first.bar);
  });

  test('the new model goes live only after its background training time, in one swap', () => {
    let generation = 0;
    for (const p of online.timeline) {
      assert.ok(p.generation === generation || p.generation === generation + 1, 'one model at a time');
      generation = p.generation;
    }
    assert.equal(generation, online.retrains.length);
    for (const r of online.retrains) {
      assert.equal(r.swappedAtUs, r.startedAtUs + delay);
      const before = online.timeline.filter((p) => p.timeUs < r.swappedAtUs);
      const after = online.timeline.filter((p) => p.timeUs >= r.swappedAtUs + 1);
      const last = before[before.length - 1];
      if (last !== undefined && after[0] !== undefined) assert.ok(after[0].generation > last.generation);
    }
  });

  test('retraining after the change predicts the new workload better than keeping the first model', () => {
    assert.ok(online.accuracy > baseline.accuracy, `online ${online.accuracy}, static ${baseline.accuracy}`);
  });
});
