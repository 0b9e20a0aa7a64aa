/**
 * The LinnOS pipeline on a recorded trace trains only on what was known at the split: reads of the first
 * half that had COMPLETED when the first I/O of the second half was submitted (a read still in flight has
 * no latency yet, so no label). Checked against the rows and the threshold worked out here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inflectionPoint } from '../../src/linnos/labels.js';
import { LinnosExtractor, runLinnos } from '../../src/linnos/trace-pipeline.js';
import { extractCausal } from '../../src/realtrace/event-stream.js';
import { sliceTable } from '../../src/realtrace/io-table.js';
import { loadWindow, WINDOWS } from '../realtrace/fixtures.js';

test('the LinnOS pipeline trains on the first half reads complete at the split, and only those', async () => {
  const table = sliceTable(await loadWindow(WINDOWS.rw6040), 0, 3000);
  const split = Math.floor(table.count / 2);
  const splitSubmitUs = table.submitUs[split]!;
  const withFeatures = extractCausal(table, new LinnosExtractor()).rows;
  const known: number[] = [];
  let inFlight = 0;
  for (const io of withFeatures) {
    if (io >= split) continue;
    const done = table.submitUs[io]! + table.latencyUs[io]!;
    if (done < splitSubmitUs || (done === splitSubmitUs && io < split)) known.push(io);
    else inFlight++;
  }
  // The data must hold reads still in flight at the split, or this test could not tell the difference.
  assert.ok(inFlight >= 10, `${inFlight} reads in flight at the split`);
  const result = runLinnos(table, { epochs: 1, timeServing: false });
  assert.equal(result.trainCount, known.length);
  assert.equal(result.testCount, withFeatures.filter((io) => io >= split).length);
  const threshold = inflectionPoint(Float64Array.from(known, (io) => table.latencyUs[io]!));
  assert.equal(result.labels.thresholdUs, threshold.thresholdUs);
});
