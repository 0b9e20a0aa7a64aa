import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extraIosPerRead, revokesPerRead } from '../../src/report/rates.js';
import { latencyTables } from '../../src/report/table.js';
import type { LatencySummary } from '../../src/report/types.js';

test('per-read rates divide by the reads, and are undefined with none', () => {
  assert.equal(extraIosPerRead(30, 120), 0.25);
  assert.equal(revokesPerRead(240, 120), 2);
  assert.equal(extraIosPerRead(3, 0), undefined);
  assert.equal(revokesPerRead(0, 0), undefined);
});

test("the ratio table's extra I/O column is extraIosPerRead in percent", () => {
  const read = (count: number): LatencySummary => ({
    count,
    avgUs: 100,
    p50Us: 80,
    p90Us: 150,
    p95Us: 200,
    p99Us: 400,
    p999Us: 900,
    p9999Us: 1000,
    maxUs: 1200,
  });
  const policy = (name: string, count: number, extraIos: number) => ({
    name,
    read: read(count),
    write: read(0),
    extraIos,
    revokes: 0,
    devices: [],
    cdf: [],
  });
  const [, ratios] = latencyTables([
    policy('baseline', 800, 0),
    policy('hedging90', 800, 7),
    policy('none', 0, 0),
  ]);
  assert.deepEqual(
    ratios!.rows.map((row) => row[row.length - 1]),
    ['0.0%', '0.9%', '-'],
  );
});
