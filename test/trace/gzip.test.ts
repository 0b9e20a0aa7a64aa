/**
 * gzip traces read as they are: recognised by their magic bytes (not their name), inflated as a stream in
 * every reader (the four text formats with detection, blkparse text, binary blktrace, `lake stats`), and a
 * damaged one is a coded error naming the file.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { registerStats } from '../../src/cli/stats.js';
import { LakeError } from '../../src/errors.js';
import { Random } from '../../src/random.js';
import { formatBlkparse, readBlkparseEvents } from '../../src/trace/blkparse.js';
import {
  BLK_TA,
  BLK_TC,
  type BlkTraceEvent,
  blkAction,
  encodeBlktrace,
  makeDev,
  readBlktraceEvents,
} from '../../src/trace/blktrace.js';
import { isGzip, openByteSource } from '../../src/trace/bytes.js';
import { readTraceAll } from '../../src/trace/read.js';
import type { TraceFormat } from '../../src/trace/types.js';
import { runCommands } from '../helpers/cli.js';

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lake-trace-gzip-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** `n` seeded lines of a format, as its tools write them. */
function traceText(format: TraceFormat, n: number, seed: number): string {
  const random = new Random(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const ms = (i * 1.25).toFixed(3);
    const offset = random.int(1 << 20) * 4096;
    const size = (1 + random.int(64)) * 512;
    const rw = random.int(2);
    const latency = 50 + random.int(5000);
    switch (format) {
      case 'linnos-input':
        lines.push(`${ms} ${random.int(3)} ${offset} ${size} ${rw}`);
        break;
      case 'linnos-output':
        lines.push(`${i},${random.int(3)},${ms},${latency},${rw},${size},${offset},${ms},1`);
        break;
      case 'heimdall':
        lines.push(`${ms},${latency},${rw},${size},${offset},${ms},${size}`);
        break;
      case 'msr':
        lines.push(
          `${128166372000000000 + i * 12500},host,${random.int(3)},${rw ? 'Read' : 'Write'},${offset},${size},${latency}`,
        );
        break;
    }
  }
  return `${lines.join('\n')}\n`;
}

async function file(name: string, content: string | Uint8Array): Promise<string> {
  const path = join(scratch, name);
  await writeFile(path, content);
  return path;
}

function codedError(code: string, path: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof LakeError, String(error));
    assert.equal(error.code, code);
    assert.ok(error.message.startsWith(`${path}:`), error.message);
    return true;
  };
}

describe('text traces', () => {
  for (const format of ['linnos-input', 'linnos-output', 'heimdall', 'msr'] as const) {
    test(`${format}: a gzip file gives the records of the plain one, its format detected`, async () => {
      const text = traceText(format, 3000, 11);
      const plain = await readTraceAll(await file(`${format}.trace`, text));
      const compressed = await readTraceAll(await file(`${format}.trace.gz`, gzipSync(text)));
      assert.equal(plain.format, format);
      assert.equal(compressed.format, format);
      assert.equal(compressed.records.length, 3000);
      assert.deepEqual(compressed.records, plain.records);
      assert.equal(compressed.lines, plain.lines);
    });
  }

  test('recognised by its magic bytes: a gzip file not named .gz reads, a plain file named .gz reads as text', async () => {
    const text = traceText('heimdall', 500, 12);
    const expected = (await readTraceAll(await file('plain.trace', text))).records;
    const disguised = await file('disguised.trace', gzipSync(text));
    assert.deepEqual((await readTraceAll(disguised)).records, expected);
    const misnamed = await file('misnamed.trace.gz', text);
    assert.deepEqual((await readTraceAll(misnamed)).records, expected);
  });

  test('lines cut across inflated chunks and read buffers come out whole', async () => {
    const text = traceText('linnos-output', 2000, 13);
    const path = await file('chunks.trace.gz', gzipSync(text, { level: 1 }));
    const whole = (await readTraceAll(path)).records;
    for (const chunkBytes of [1, 7, 64, 4093]) {
      assert.deepEqual((await readTraceAll(path, { chunkBytes })).records, whole, `chunkBytes ${chunkBytes}`);
    }
  });

  test('concatenated gzip members read as one file, as gunzip reads them', async () => {
    const a = traceText('linnos-input', 200, 14);
    const b = traceText('linnos-input', 300, 15);
    const path = await file('members.trace.gz', Buffer.concat([gzipSync(a), gzipSync(b)]));
    const plain = await readTraceAll(await file('members.trace', a + b));
    assert.deepEqual((await readTraceAll(path)).records, plain.records);
  });

  test('a truncated gzip file is LAKE_E_TRACE_FORMAT naming the file', async () => {
    const whole = gzipSync(traceText('heimdall', 4000, 16));
    const path = await file('cut.trace.gz', whole.subarray(0, Math.floor(whole.length / 2)));
    await assert.rejects(readTraceAll(path), codedError('LAKE_E_TRACE_FORMAT', path));
    await assert.rejects(readTraceAll(path), /corrupt gzip data: the compressed data ends early/);
  });

  test('a gzip file whose checksum does not match its content is a coded error naming the file', async () => {
    const whole = Buffer.from(gzipSync(traceText('heimdall', 100, 17)));
    // The trailer's CRC-32 (bytes -8..-5): the content inflates fine, the check fails at the end.
    whole[whole.length - 8]! ^= 0xff;
    const path = await file('crc.trace.gz', whole);
    await assert.rejects(readTraceAll(path), codedError('LAKE_E_TRACE_FORMAT', path));
  });

  test('a gzip header followed by garbage is a coded error naming the file', async () => {
    const path = await file(
      'garbage.trace',
      Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
    );
    await assert.rejects(readTraceAll(path), codedError('LAKE_E_TRACE_FORMAT', path));
  });

  test('an empty gzip file reads as an empty trace would: no line to detect a format from', async () => {
    const path = await file('empty.trace.gz', gzipSync(''));
    await assert.rejects(readTraceAll(path), /it has no non-blank line/);
    const given = await readTraceAll(path, { format: 'heimdall' });
    assert.equal(given.records.length, 0);
  });
});

describe('block-layer captures', () => {
  const dev = makeDev(259, 0);
  const events: BlkTraceEvent[] = [];
  for (let i = 0; i < 400; i++) {
    const t = BigInt(i) * 10_000n;
    const common = { sector: 8 * i, bytes: 4096, pid: 7, device: dev, cpu: i % 2, error: 0 };
    const op = i % 3 === 0 ? BLK_TC.WRITE : BLK_TC.READ;
    events.push({ ...common, sequence: 2 * i, timeNs: t, action: blkAction(BLK_TA.ISSUE, op, BLK_TC.ISSUE) });
    events.push({
      ...common,
      sequence: 2 * i + 1,
      timeNs: t + 80_000n,
      action: blkAction(BLK_TA.COMPLETE, op, BLK_TC.COMPLETE),
    });
  }

  test('a gzip blktrace binary gives the events of the plain one', async () => {
    const bytes = encodeBlktrace(events, 'big');
    const plain = await readBlktraceEvents(await file('capture.blktrace.0', bytes));
    const compressed = await readBlktraceEvents(await file('capture.blktrace.0.gz', gzipSync(bytes)));
    assert.equal(plain.length, 800);
    assert.deepEqual(compressed, plain);
  });

  test('a gzip blkparse text gives the events of the plain one', async () => {
    const text = formatBlkparse(events);
    const plain = await readBlkparseEvents(await file('capture.txt', text));
    const compressed = await readBlkparseEvents(await file('capture.txt.gz', gzipSync(text)));
    assert.equal(plain.length, 800);
    assert.deepEqual(compressed, plain);
  });

  test('a truncated gzip blktrace binary is a coded error naming the file', async () => {
    const whole = gzipSync(encodeBlktrace(events));
    const path = await file('cut.blktrace.gz', whole.subarray(0, whole.length - 20));
    await assert.rejects(readBlktraceEvents(path), codedError('LAKE_E_TRACE_FORMAT', path));
  });
});

describe('byte sources', () => {
  test('isGzip looks at the two magic bytes only', () => {
    assert.equal(isGzip(Uint8Array.of(0x1f, 0x8b)), true);
    assert.equal(isGzip(Uint8Array.of(0x1f)), false);
    assert.equal(isGzip(Uint8Array.of(0x8b, 0x1f)), false);
    assert.equal(isGzip(new Uint8Array(0)), false);
  });

  test('a source says whether it inflates, and a missing file is LAKE_E_IO naming it', async () => {
    const gz = await openByteSource(await file('flag.gz', gzipSync('1 2 3 4 5\n')));
    const plain = await openByteSource(await file('flag.txt', '1 2 3 4 5\n'));
    try {
      assert.equal(gz.compressed, true);
      assert.equal(plain.compressed, false);
      const into = new Uint8Array(64);
      assert.equal(Buffer.from(into.subarray(0, await gz.read(into, 0, 64))).toString(), '1 2 3 4 5\n');
      assert.equal(await gz.read(into, 0, 64), 0);
    } finally {
      await gz.close();
      await plain.close();
    }
    const missing = join(scratch, 'missing.trace');
    await assert.rejects(openByteSource(missing), codedError('LAKE_E_IO', missing));
  });
});

test('lake stats prints the same tables for a gzip trace as for the plain one', async () => {
  const text = traceText('heimdall', 1500, 18);
  const plain = await file('stats.trace', text);
  const compressed = await file('stats.trace.gz', gzipSync(text));
  const stats = (path: string) => runCommands([registerStats], ['stats', path, '--json']);
  const a = JSON.parse(await stats(plain)) as Record<string, unknown>;
  const b = JSON.parse(await stats(compressed)) as Record<string, unknown>;
  assert.equal(a['records'], 1500);
  assert.deepEqual({ ...b, file: a['file'] }, a);
});
