import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { concatTables, ioTableFromRecords, sliceTable, withLatencies } from '../../src/realtrace/io-table.js';
import type { TraceRecord } from '../../src/trace/types.js';

const r = (submitMs: number, latencyUs: number | undefined, device = 0, read = true): TraceRecord => ({
  arrivalMs: Math.floor(submitMs),
  submitMs,
  ...(latencyUs !== undefined ? { latencyUs } : {}),
  device,
  read,
  size: 4096,
  offset: 0,
});

describe('I/O tables', () => {
  test('sorted by submit time to the microsecond, ties in file order, completion = submit + latency', () => {
    const t = ioTableFromRecords([r(0.002, 10), r(0.001, 5), r(0.0011, 7), r(0.001, 1)]);
    // 0.0011 ms rounds to 1 us: three I/Os at 1 us keep their file order.
    assert.deepEqual([...t.source], [1, 2, 3, 0]);
    assert.deepEqual([...t.submitUs], [1, 1, 1, 2]);
    assert.deepEqual([...t.completeUs], [6, 8, 2, 12]);
  });

  test('a record without latency, or a trace of several devices without a choice, is refused', () => {
    assert.throws(
      () => ioTableFromRecords([r(0, 5), r(1, undefined)], { file: 'x.trace' }),
      (e: unknown) =>
        e instanceof LakeError && e.code === 'LAKE_E_TRACE_FORMAT' && /x\.trace: record 2/.test(e.message),
    );
    assert.throws(() => ioTableFromRecords([r(0, 5, 0), r(1, 5, 1)]), /devices 0, 1: choose one/);
    assert.equal(ioTableFromRecords([r(0, 5, 0), r(1, 5, 1)], { device: 1 }).count, 1);
  });

  test('slices, latency replacement and concatenation on one time line', () => {
    const a = ioTableFromRecords([r(0, 100), r(1, 50)]);
    const b = ioTableFromRecords([r(5, 10), r(6, 10)]);
    const both = concatTables([a, b], 1000);
    // b starts 1000 us after a's last completion (1050 us).
    assert.deepEqual([...both.submitUs], [0, 1000, 2050, 3050]);
    assert.deepEqual([...both.source], [0, 1, 2, 3]);
    assert.equal(sliceTable(both, 1, 3).count, 2);
    const changed = withLatencies(a, Float64Array.from([7, 8]));
    assert.deepEqual([...changed.completeUs], [7, 1008]);
    assert.deepEqual([...a.latencyUs], [100, 50]);
  });
});
