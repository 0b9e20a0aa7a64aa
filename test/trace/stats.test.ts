/**
 * Trace statistics: exact nearest-rank percentiles, agreement with the replayer's own .stats summaries of
 * the fixture traces, and the bounded-memory fallback to an HdrHistogram.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { ValueCounter } from '../../src/trace/quantiles.js';
import { readTraceAll } from '../../src/trace/read.js';
import { recordStats, traceStats } from '../../src/trace/stats.js';
import { fixturePath } from '../helpers/fixtures.js';

const tencent = ['most_rand_iops.537', 'rw_60_40.490', 'rw_75_25.379'].map(
  (w) => `traces/flashnet-trovi-tencent-nvme/tencent.cut.per_50k.${w}.trace`,
);

/** Nearest rank: the smallest value with at least p% of the values at or below it. */
function nearestRank(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length - 1e-9)) - 1]!;
}

/** `Name = value` lines of a replayer .stats file. */
async function replayerStats(path: string): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    const match = /^(.+?)\s*=\s*([-\d.]+)/.exec(line);
    if (match) values.set(match[1]!.trim(), Number(match[2]));
  }
  return values;
}

describe('traceStats on the Tencent NVMe fixtures', () => {
  for (const file of tencent) {
    test(`${file.split('/').pop()}: agrees with the replayer's .stats`, async () => {
      const s = await traceStats(fixturePath(file));
      const expected = await replayerStats(fixturePath(`${file}.stats`));
      assert.equal(s.format, 'heimdall');
      assert.equal(s.records, expected.get('#IO'));
      assert.equal(s.reads.count, expected.get('#reads'));
      assert.equal(s.writes.count, expected.get('#writes'));
      assert.equal(s.durationMs / 1000, expected.get('Duration'));
      assert.equal(s.iops!.toFixed(2), expected.get('IOPS')!.toFixed(2));
      assert.equal(s.readIops!.toFixed(2), expected.get('Read IOPS')!.toFixed(2));
      assert.equal(s.writeIops!.toFixed(2), expected.get('Write IOPS')!.toFixed(2));
      // The replayer prints the mean latency truncated to whole microseconds.
      assert.equal(Math.floor(s.reads.latencyUs!.mean), expected.get('Avg read latency'));
      assert.equal(Math.floor(s.writes.latencyUs!.mean), expected.get('Avg write latency'));
    });
  }

  test('percentiles are exact nearest-rank values', async () => {
    const file = fixturePath(tencent[0]!);
    const s = await traceStats(file);
    const { records } = await readTraceAll(file);
    for (const [op, stats] of [
      [true, s.reads],
      [false, s.writes],
    ] as const) {
      const mine = records.filter((r) => r.read === op);
      const latencies = mine.map((r) => r.latencyUs!).sort((a, b) => a - b);
      const sizes = mine.map((r) => r.size).sort((a, b) => a - b);
      const l = stats.latencyUs!;
      assert.equal(l.exact, true);
      assert.deepEqual(
        [l.min, l.p50, l.p90, l.p95, l.p99, l.p999, l.max],
        [latencies[0], ...[50, 90, 95, 99, 99.9].map((p) => nearestRank(latencies, p)), latencies.at(-1)],
      );
      const z = stats.sizeBytes!;
      assert.deepEqual(
        [z.p50, z.p90, z.p99, z.max],
        [...[50, 90, 99].map((p) => nearestRank(sizes, p)), sizes.at(-1)],
      );
      assert.equal(
        stats.bytes,
        sizes.reduce((a, b) => a + b, 0),
      );
    }
    // fixtures/traces/README.md: read p50 ~1.4-1.9 ms, p99 ~4.8-7.5 ms, p99.9 ~8.9-11.9 ms, max ~14 ms.
    assert.ok(s.reads.latencyUs!.p50 >= 1400 && s.reads.latencyUs!.p50 <= 1900);
    assert.ok(s.reads.latencyUs!.p99 >= 4700 && s.reads.latencyUs!.p99 <= 7500);
  });

  test('a format without latency reports none; the MSR-raw counts match their .stats', async () => {
    const file = fixturePath('traces/heimdall-msr-raw/msr.cut.per_10k.most_thpt_rand_iops.1006.trace');
    const s = await traceStats(file);
    const expected = await replayerStats(
      fixturePath('traces/heimdall-msr-raw/msr.cut.per_10k.most_thpt_rand_iops.1006.stats'),
    );
    assert.equal(s.format, 'linnos-input');
    assert.equal(s.reads.count, expected.get('#read io'));
    assert.equal(s.writes.count, expected.get('#write io'));
    assert.equal(s.reads.latencyUs, null);
    assert.equal(s.writes.latencyUs, null);
  });
});

describe('recordStats', () => {
  test('empty input', () => {
    const s = recordStats([]);
    assert.equal(s.records, 0);
    assert.equal(s.iops, null);
    assert.equal(s.reads.sizeBytes, null);
    assert.equal(s.firstArrivalMs, null);
  });

  test('unsorted arrivals: duration spans the earliest to the latest', () => {
    const s = recordStats([
      { arrivalMs: 5, device: 0, offset: 0, size: 4096, read: true },
      { arrivalMs: 1, device: 0, offset: 0, size: 8192, read: false },
      { arrivalMs: 2001, device: 0, offset: 0, size: 4096, read: true },
    ]);
    assert.equal(s.durationMs, 2000);
    assert.equal(s.iops, 1.5);
    assert.equal(s.readIops, 1);
    assert.equal(s.readFraction, 2 / 3);
  });
});

describe('ValueCounter', () => {
  test('nearest-rank percentiles of 1..1000', () => {
    const counter = new ValueCounter();
    for (let v = 1000; v >= 1; v--) counter.add(v);
    const d = counter.summary()!;
    assert.deepEqual(
      [d.count, d.min, d.mean, d.p50, d.p90, d.p95, d.p99, d.p999, d.max, d.exact],
      [1000, 1, 500.5, 500, 900, 950, 990, 999, 1000, true],
    );
  });

  test('a single value is every percentile', () => {
    const counter = new ValueCounter();
    counter.add(7.5);
    const d = counter.summary()!;
    assert.deepEqual([d.p50, d.p999, d.max], [7.5, 7.5, 7.5]);
    assert.equal(new ValueCounter().summary(), null);
  });

  test('past maxDistinct values it switches to an HdrHistogram within 0.1%', () => {
    const counter = new ValueCounter({ maxDistinct: 100, unitsPerValue: 1000 });
    const values: number[] = [];
    for (let i = 0; i < 20000; i++) {
      const v = 50 + ((i * 7919) % 10007) / 10; // 50.0 .. 1050.6 us, 10007 distinct values
      values.push(v);
      counter.add(v);
    }
    values.sort((a, b) => a - b);
    const d = counter.summary()!;
    assert.equal(d.exact, false);
    assert.equal(d.count, 20000);
    assert.equal(d.max, values.at(-1));
    for (const [p, got] of [
      [50, d.p50],
      [99, d.p99],
      [99.9, d.p999],
    ] as const) {
      const want = nearestRank(values, p);
      assert.ok(Math.abs(got / want - 1) <= 1e-3, `p${p}: ${got} vs ${want}`);
    }
  });
});
