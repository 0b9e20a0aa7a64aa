import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import {
  fixedPercentileThreshold,
  inflectionPoint,
  labelByThreshold,
  percentileOfSorted,
  refineThreshold,
} from '../../src/linnos/labels.js';
import { Random } from '../../src/random.js';
import { readFixtureText } from '../helpers/fixtures.js';

function column(path: string, k: number, keep: (fields: string[]) => boolean = () => true): Float64Array {
  const lines = readFixtureText(path).trim().split('\n');
  return Float64Array.from(lines.map((l) => l.split(',')).filter(keep), (f) => Number(f[k]));
}

describe('inflectionPoint (tangent method)', () => {
  // Check values from numpy: the authors' tangent_based() (np.percentile, ECDF side='right', linspace).
  test('temp1 label latencies: 8052 us at percentile 62.5265', () => {
    const t = inflectionPoint(column('linnos/temp1', 9));
    assert.equal(t.method, 'tangent');
    assert.equal(t.thresholdUs, 8052);
    assert.ok(Math.abs(t.percentile - 62.52648962874884) < 1e-9, String(t.percentile));
  });

  test('Tencent NVMe reads (rw_60_40.490): 2440 us at percentile 80.8728', () => {
    const reads = column(
      'traces/flashnet-trovi-tencent-nvme/tencent.cut.per_50k.rw_60_40.490.trace',
      1,
      (f) => f[2] === '1',
    );
    assert.equal(reads.length, 30012);
    const t = inflectionPoint(reads);
    assert.equal(t.thresholdUs, 2440);
    assert.ok(Math.abs(t.percentile - 80.87276287314073) < 1e-9, String(t.percentile));
  });

  test('ignores non-finite values and does not depend on order', () => {
    const random = new Random(3);
    const values = Float64Array.from({ length: 5000 }, () => random.lognormal(4, 0.6));
    const a = inflectionPoint(values);
    const shuffled = [...values].reverse();
    shuffled.push(Number.POSITIVE_INFINITY, Number.NaN);
    assert.deepEqual(inflectionPoint(shuffled), a);
  });

  test('a uniform distribution bends nowhere: the first point wins (y - x is flat)', () => {
    const values = Float64Array.from({ length: 1001 }, (_, i) => i);
    const t = inflectionPoint(values);
    assert.ok(t.thresholdUs <= 1, String(t.thresholdUs));
  });

  test('no finite latency is a usage error', () => {
    assert.throws(
      () => inflectionPoint([]),
      (e: unknown) => e instanceof LakeError && e.code === 'LAKE_E_USAGE',
    );
  });
});

describe('fixed percentile and labels', () => {
  test('linear interpolation as numpy.percentile', () => {
    assert.equal(percentileOfSorted([1, 2, 3, 4], 50), 2.5);
    assert.equal(percentileOfSorted([10, 20, 30, 40, 50], 85), 44);
    const t = fixedPercentileThreshold([50, 10, 40, 20, 30], 85);
    assert.deepEqual(t, { thresholdUs: 44, percentile: 85, method: 'fixed' });
    assert.throws(
      () => fixedPercentileThreshold([1], 101),
      (e: unknown) => e instanceof LakeError,
    );
  });

  test('slow iff strictly above the threshold', () => {
    assert.deepEqual([...labelByThreshold([1, 44, 44.5, 100], 44)], [0, 0, 1, 1]);
  });
});

describe('refineThreshold', () => {
  /** Three replicas: mostly fast (~100 us) with a slow tail (~2-5 ms). */
  function replicas(seed: number): Float64Array[] {
    const random = new Random(seed);
    return [0, 1, 2].map(() =>
      Float64Array.from({ length: 4000 }, () =>
        random.next() < 0.15 ? 2000 + random.next() * 3000 : 60 + random.next() * 80,
      ),
    );
  }

  test('stays within +/-10% of the start percentile, never worse than the start, deterministic', () => {
    const latencies = replicas(5);
    const start = { thresholdUs: 800, percentile: 80 };
    const a = refineThreshold({ latenciesByDevice: latencies, device: 0, start, seed: 9 });
    const b = refineThreshold({ latenciesByDevice: latencies, device: 0, start, seed: 9 });
    assert.deepEqual(a, b);
    assert.equal(a.method, 'refined');
    assert.ok(a.percentile >= 72 - 1e-9 && a.percentile <= 88 + 1e-9, String(a.percentile));
    assert.equal(a.candidates, 1 + 2 * 80);
    assert.ok(a.meanUs <= a.startMeanUs);
    // revoking the slow tail onto mostly-fast replicas beats no revocation by far
    assert.ok(a.meanUs < a.baselineMeanUs * 0.5, `${a.meanUs} vs ${a.baselineMeanUs}`);
  });

  test('a start high in the slow tail moves down, where revoking more pays', () => {
    const latencies = replicas(6);
    // p88 sits above the fast mode's max but inside the slow tail: moving down revokes more of the tail
    const sorted = Float64Array.from(latencies[0]!).sort();
    const start = { thresholdUs: percentileOfSorted(sorted, 88), percentile: 88 };
    const r = refineThreshold({ latenciesByDevice: latencies, device: 0, start });
    assert.ok(r.percentile < 88, String(r.percentile));
    assert.ok(r.meanUs < r.startMeanUs);
  });

  test('a high revoke cost keeps more reads on their device', () => {
    const latencies = replicas(7);
    const start = { thresholdUs: 1000, percentile: 84 };
    const cheap = refineThreshold({ latenciesByDevice: latencies, device: 1, start, revokeCostUs: 0 });
    const dear = refineThreshold({ latenciesByDevice: latencies, device: 1, start, revokeCostUs: 5000 });
    assert.ok(dear.thresholdUs >= cheap.thresholdUs, `${dear.thresholdUs} < ${cheap.thresholdUs}`);
  });

  test('a single replica cannot fail over: the start is kept', () => {
    const r = refineThreshold({
      latenciesByDevice: [[1, 2, 3, 100]],
      device: 0,
      start: { thresholdUs: 3, percentile: 75 },
      replicas: 1,
    });
    assert.equal(r.thresholdUs, 3);
    assert.equal(r.percentile, 75);
    assert.equal(r.meanUs, r.baselineMeanUs);
  });

  test('one device given: its own distribution stands in for the other replicas', () => {
    const own = replicas(8)[0]!;
    const start = { thresholdUs: 800, percentile: 80 };
    const alone = refineThreshold({ latenciesByDevice: [own], device: 0, start });
    const copies = refineThreshold({ latenciesByDevice: [own, own, own], device: 0, start });
    assert.deepEqual(alone, copies);
    assert.ok(alone.meanUs < alone.baselineMeanUs * 0.5);
  });
});
