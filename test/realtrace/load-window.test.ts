import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ioTableFromRecords } from '../../src/realtrace/io-table.js';
import { loadIoTable } from '../../src/realtrace/load.js';
import { readTraceAll } from '../../src/trace/read.js';
import { lakeEval, WINDOWS, windowPath } from './fixtures.js';

describe('a window of a trace', () => {
  const path = windowPath(WINDOWS.rw7525);

  test('keeps exactly the records start..start+count-1 of the file', async () => {
    const all = (await readTraceAll(path, { format: 'heimdall' })).records;
    const loaded = await loadIoTable([path], { format: 'heimdall', window: { start: 12_345, count: 3000 } });
    const expected = ioTableFromRecords(all.slice(12_345, 15_345), { file: path });
    assert.equal(loaded.table.count, 3000);
    assert.deepEqual(loaded.table.submitUs, expected.submitUs);
    assert.deepEqual(loaded.table.latencyUs, expected.latencyUs);
    assert.equal(loaded.files[0]!.firstRecord, 12_345);
  });

  test('a window past the end keeps what is there; one starting past the end is refused', async () => {
    const tail = await loadIoTable([path], { window: { start: 49_000, count: 5000 } });
    assert.equal(tail.table.count, 1000);
    await assert.rejects(loadIoTable([path], { window: { start: 50_000, count: 10 } }), {
      code: 'LAKE_E_USAGE',
      message: /starts at record 50000, but the trace has 50000 record/,
    });
  });

  test('lake eval --window says which records it used, and refuses a malformed window', async () => {
    const text = await lakeEval([
      '--trace',
      path,
      '--pipeline',
      'lake',
      '--window',
      '1000:4000',
      '--no-timing',
      '--no-drift',
    ]);
    assert.match(text, /\(heimdall, 4000 I\/Os, records 1000-4999\)/);
    await assert.rejects(lakeEval(['--trace', path, '--window', '4000']), /--window must be START:COUNT/);
    await assert.rejects(lakeEval(['--trace', path, '--window', '0:0']), /COUNT >= 1/);
  });
});
