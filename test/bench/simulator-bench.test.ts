import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { arrivalColumns, benchArrivals, benchSimulator, columnRecords } from '../../src/bench/simulator.js';

describe('simulator benchmark', () => {
  test('the in-memory arrivals are exactly the generated ones', () => {
    const generated = [...benchArrivals(3000, 4)];
    const columns = arrivalColumns(3000, 4);
    assert.equal(columns.count, generated.length);
    let i = 0;
    for (const r of columnRecords(columns)) {
      const g = generated[i++]!;
      assert.deepEqual(
        { arrivalMs: r.arrivalMs, device: r.device, offset: r.offset, size: r.size, read: r.read },
        { arrivalMs: g.arrivalMs, device: g.device, offset: g.offset, size: g.size, read: g.read },
      );
    }
    assert.equal(i, generated.length);
    assert.equal([...columnRecords(columns, 10)].length, 10);
  });

  test('reports every figure as a completed result with a ratio to the FIFO reference', async () => {
    const suite = await benchSimulator({ ios: 4000, samples: 1 });
    assert.deepEqual(
      suite.results.map((r) => r.name),
      [
        'generator only',
        'engine + fifo devices',
        'engine + 3 femu SSDs (baseline)',
        'end to end: generator + engine + 3 femu SSDs',
      ],
    );
    for (const r of suite.results) {
      assert.equal(r.state, 'completed', r.error);
      assert.ok(r.median > 0 && Number.isFinite(r.median));
      assert.equal(r.reference, 'engine + fifo devices');
    }
  });
});
