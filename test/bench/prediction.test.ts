import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { benchPrediction, benchTable } from '../../src/bench/prediction.js';

describe('prediction benchmark', () => {
  test('its trace has simulated latencies for every I/O', () => {
    const table = benchTable(200);
    assert.ok(table.count > 1000);
    for (let i = 0; i < table.count; i++)
      assert.ok(table.latencyUs[i]! > 0 && Number.isFinite(table.latencyUs[i]!));
  });

  test('reports lake beside the Heimdall reference, ratios only between predictions', async () => {
    const suite = await benchPrediction({ samples: 1, durationMs: 300 });
    assert.equal(suite.suite, 'prediction');
    assert.equal(suite.results.length, 4);
    for (const r of suite.results) {
      assert.equal(r.state, 'completed', r.error);
      // The feature costs are differences of two timed walks, clamped at 0 (src/realtrace/serving-time.ts):
      // only finiteness says something here (NaN when nothing was timed); sizes are the benchmark's figures.
      assert.ok(Number.isFinite(r.median), `${r.name}: ${r.median}`);
    }
    const [reference, lake, upkeep, vector] = suite.results;
    assert.ok(reference!.median > 0 && lake!.median > 0);
    assert.equal(reference!.ratio, 1);
    assert.ok(lake!.unit === 'ns/prediction' && lake!.ratio !== undefined);
    assert.equal(upkeep!.ratio, undefined);
    assert.equal(vector!.ratio, undefined);
  });
});
