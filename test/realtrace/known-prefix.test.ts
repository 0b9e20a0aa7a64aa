import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Random } from '../../src/random.js';
import { completedBefore, knownPrefix, splitIndex } from '../../src/realtrace/evaluation.js';
import { type IoTable, ioTableFromRecords } from '../../src/realtrace/io-table.js';
import { runLake } from '../../src/realtrace/lake-pipeline.js';
import type { TraceRecord } from '../../src/trace/types.js';
import { loadWindow, WINDOWS } from './fixtures.js';

function io(submitMs: number, latencyUs: number, read = true): TraceRecord {
  return { arrivalMs: submitMs, submitMs, latencyUs, device: 0, offset: 0, size: 4096, read };
}

describe('the training labeller sees only what was known at the split', () => {
  test('knownPrefix stops at the first I/O still in flight when the second half begins', () => {
    // I/O 1 takes 10 ms: still in flight when I/O 3 (the split of 6) is submitted at 3 ms.
    const table = ioTableFromRecords([
      io(0, 100),
      io(1, 10_000),
      io(2, 100),
      io(3, 100),
      io(4, 100),
      io(5, 100),
    ]);
    assert.equal(splitIndex(table), 3);
    assert.equal(knownPrefix(table, 3), 1);
  });

  test('on a real window every I/O of the prefix completed before the split, and the next did not', async () => {
    const table = await loadWindow(WINDOWS.rw6040);
    const split = splitIndex(table);
    const k = knownPrefix(table, split);
    assert.ok(k > split * 0.9 && k <= split, `prefix ${k} of ${split}`);
    for (let i = 0; i < k; i++) assert.ok(completedBefore(table, i, split));
    if (k < split) assert.ok(!completedBefore(table, k, split));
  });

  test('a latency unknown at the split changes nothing the lake model learns before it serves', async () => {
    const base = await loadWindow(WINDOWS.rw6040);
    const split = splitIndex(base);
    const k = knownPrefix(base, split);
    // Re-draw the latency of every first-half I/O not known at the split (it still ends after the split).
    const random = new Random(11);
    const records: TraceRecord[] = [];
    for (let i = 0; i < base.count; i++) {
      let latencyUs = base.latencyUs[i]!;
      if (i >= k && i < split) {
        const minimum = base.submitUs[split]! - base.submitUs[i]! + 1;
        latencyUs = Math.max(latencyUs, minimum) + random.int(20_000);
      }
      records.push({
        arrivalMs: base.submitUs[i]! / 1000,
        submitMs: base.submitUs[i]! / 1000,
        latencyUs,
        device: 0,
        offset: base.offset[i]!,
        size: base.size[i]!,
        read: base.read[i] === 1,
      });
    }
    const changed: IoTable = ioTableFromRecords(records);
    const options = { timeServing: false, refitEvery: 0 } as const;
    const a = runLake(base, options);
    const b = runLake(changed, options);
    assert.equal(a.trainCount, b.trainCount);
    assert.deepEqual(a.labels, b.labels);
    assert.equal(a.decisionThreshold, b.decisionThreshold);
  });
});
