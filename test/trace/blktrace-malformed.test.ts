import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LakeError, TraceParseError } from '../../src/errors.js';
import { readBlkparseRecords } from '../../src/trace/blkparse.js';
import {
  BLK_IO_TRACE_BYTES,
  BLK_TA,
  BLK_TC,
  type BlkTraceEvent,
  blkAction,
  encodeBlktrace,
  makeDev,
  parseBlktrace,
  readBlktraceRecords,
} from '../../src/trace/blktrace.js';

const dir = mkdtempSync(join(tmpdir(), 'lake-blktrace-bad-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const events: BlkTraceEvent[] = [0, 1, 2].map((i) => ({
  sequence: i + 1,
  timeNs: BigInt(1000 * (i + 1)),
  sector: 8 * i,
  bytes: 4096,
  action: blkAction(i === 2 ? BLK_TA.COMPLETE : BLK_TA.ISSUE, BLK_TC.READ),
  pid: 1,
  device: makeDev(8, 0),
  cpu: 0,
  error: 0,
}));

function parseError(bytes: Uint8Array): TraceParseError {
  try {
    parseBlktrace(bytes, 'bad.blktrace');
  } catch (error) {
    assert.ok(error instanceof TraceParseError, String(error));
    return error;
  }
  assert.fail('no error');
}

describe('malformed blktrace input', () => {
  test('a corrupt magic names the event and the field', () => {
    const bytes = encodeBlktrace(events);
    bytes[BLK_IO_TRACE_BYTES * 2 + 1] = 0xff;
    const error = parseError(bytes);
    assert.equal(error.line, 3);
    assert.equal(error.field, 'magic');
    assert.match(error.message, /^bad\.blktrace:3: field magic: bad magic/);
  });

  test('events in two byte orders are refused', () => {
    const mixed = new Uint8Array([
      ...encodeBlktrace(events.slice(0, 1), 'little'),
      ...encodeBlktrace(events.slice(1), 'big'),
    ]);
    assert.equal(parseError(mixed).line, 2);
  });

  test('a file that ends inside an event is refused', () => {
    const bytes = encodeBlktrace(events).subarray(0, BLK_IO_TRACE_BYTES * 2 + 20);
    const error = parseError(bytes);
    assert.equal(error.field, 'pdu_len');
    assert.match(error.message, /ends inside an event/);
  });

  test('another version of the format is refused', () => {
    const bytes = encodeBlktrace(events);
    bytes[0] = 0x06;
    assert.match(parseError(bytes).message, /version 6/);
  });

  test('text is not a binary trace; a binary trace is not blkparse output', async () => {
    const text = join(dir, 'text.blktrace');
    writeFileSync(text, '  8,0    1        1     0.000000000  4147  D   R 8 + 8 [fio]\n');
    await assert.rejects(readBlktraceRecords(text), /not a blktrace file/);
    const binary = join(dir, 'binary.txt');
    writeFileSync(binary, 'this is not\nblkparse output\n');
    await assert.rejects(
      readBlkparseRecords(binary),
      (e: unknown) => e instanceof LakeError && e.code === 'LAKE_E_TRACE_FORMAT',
    );
    await assert.rejects(
      readBlktraceRecords(join(dir, 'missing')),
      (e: unknown) => e instanceof LakeError && e.code === 'LAKE_E_IO',
    );
  });
});
