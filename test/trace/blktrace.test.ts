/**
 * One capture, read as binary blktrace files (per-CPU, both byte orders) and as blkparse text output, gives
 * the same per-I/O records; and those records are the ones the known events say.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  formatBlkparse,
  parseBlkparse,
  readBlkparseRecords,
  rwbsCategories,
} from '../../src/trace/blkparse.js';
import {
  BLK_TA,
  BLK_TA_CGROUP,
  BLK_TC,
  type BlkTraceEvent,
  blkAction,
  blktraceEndianness,
  encodeBlktrace,
  makeDev,
  parseBlktrace,
  readBlktraceRecords,
} from '../../src/trace/blktrace.js';
import type { TraceRecord } from '../../src/trace/types.js';

const dir = mkdtempSync(join(tmpdir(), 'lake-blktrace-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Boot time of the capture: beyond 2^53 ns, so times must be read as 64-bit integers. */
const T0 = 9_500_000_000_000_000n;
const us = (n: number): bigint => T0 + BigInt(n * 1000);
const SDA = makeDev(8, 0);
const SDB = makeDev(8, 16);
const NVME = makeDev(259, 0);
const { READ, WRITE, SYNC, DISCARD, FLUSH, NOTIFY, QUEUE, ISSUE, COMPLETE, REQUEUE } = BLK_TC;

let sequence = 0;
function event(
  code: number,
  categories: number[],
  at: bigint,
  device: number,
  sector: number,
  bytes: number,
  cpu: number,
  extra: Partial<BlkTraceEvent> = {},
): BlkTraceEvent {
  const stage =
    code === BLK_TA.ISSUE
      ? ISSUE
      : code === BLK_TA.COMPLETE
        ? COMPLETE
        : code === BLK_TA.REQUEUE
          ? REQUEUE
          : QUEUE;
  return {
    sequence: ++sequence,
    timeNs: at,
    sector,
    bytes,
    action: blkAction(code, stage, ...categories),
    pid: code === BLK_TA.COMPLETE ? 0 : 4147,
    device,
    cpu,
    error: 0,
    ...extra,
  };
}

/** A small capture with the cases pairing must get right. Issues on CPU 0, completions on CPU 1. */
function capture(): BlkTraceEvent[] {
  sequence = 0;
  const e: BlkTraceEvent[] = [];
  // A process-name notify event with its payload (binary only; blkparse prints no line for it).
  e.push({
    ...event(0, [NOTIFY], us(0), SDA, 0, 0, 0),
    action: blkAction(0, NOTIFY),
    pdu: new TextEncoder().encode('fio\0'),
  });
  // A completion whose issue came before the capture began.
  e.push(event(BLK_TA.COMPLETE, [READ], us(5), SDB, 7777, 4096, 1));
  // 1: a read, queued, inserted, issued, completed: 100 us.
  e.push(event(BLK_TA.QUEUE, [READ], us(8), SDA, 1000, 4096, 0));
  e.push(event(BLK_TA.INSERT, [READ], us(9), SDA, 1000, 4096, 0));
  e.push(event(BLK_TA.ISSUE, [READ], us(10), SDA, 1000, 4096, 0));
  // 2: a sync write on another disk: 500 us.
  e.push(event(BLK_TA.ISSUE, [WRITE, SYNC], us(20), SDB, 2048, 8192, 0));
  e.push(event(BLK_TA.COMPLETE, [READ], us(110), SDA, 1000, 4096, 1));
  // 3: the same sector read again once the first completed: 60 us.
  e.push(event(BLK_TA.ISSUE, [READ], us(200), SDA, 1000, 4096, 0));
  e.push(event(BLK_TA.COMPLETE, [READ], us(260), SDA, 1000, 4096, 1));
  // 4: issued, requeued, issued again: 80 us from the second issue.
  e.push(event(BLK_TA.ISSUE, [READ], us(300), SDB, 4096, 4096, 0));
  e.push(event(BLK_TA.REQUEUE, [READ], us(310), SDB, 4096, 4096, 0));
  e.push(event(BLK_TA.ISSUE, [READ], us(320), SDB, 4096, 4096, 0));
  // A discard and a flush without data: not I/Os to replay.
  e.push(event(BLK_TA.ISSUE, [DISCARD, WRITE], us(330), SDA, 50000, 1 << 20, 0));
  e.push(event(BLK_TA.COMPLETE, [DISCARD, WRITE], us(340), SDA, 50000, 1 << 20, 1));
  e.push(event(BLK_TA.ISSUE, [FLUSH, WRITE], us(345), SDA, 0, 0, 0));
  // A write that failed (error 5): not recorded.
  e.push(event(BLK_TA.ISSUE, [WRITE], us(350), SDA, 8000, 4096, 0));
  e.push(event(BLK_TA.COMPLETE, [READ], us(400), SDB, 4096, 4096, 1));
  e.push(event(BLK_TA.COMPLETE, [WRITE], us(450), SDA, 8000, 4096, 1, { error: 5 }));
  e.push(event(BLK_TA.COMPLETE, [WRITE, SYNC], us(520), SDB, 2048, 8192, 1));
  // An issue never completed within the capture.
  e.push(event(BLK_TA.ISSUE, [READ], us(600), SDA, 9999, 4096, 0));
  // 5: a read from a cgroup (payload: its 8-byte id) far into a large NVMe device: 90 us.
  const cgroupId = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
  e.push({ ...event(BLK_TA.ISSUE, [READ], us(700), NVME, 123_456_789_012, 4096, 0, { pdu: cgroupId }) });
  e[e.length - 1]!.action = (e[e.length - 1]!.action | BLK_TA_CGROUP) >>> 0;
  e.push(event(BLK_TA.COMPLETE, [READ], us(790), NVME, 123_456_789_012, 4096, 1));
  return e;
}

/** The records the capture holds, worked out by hand. */
const expected: TraceRecord[] = [
  { arrivalMs: 0, device: 0, offset: 1000 * 512, size: 4096, read: true, latencyUs: 100, submitMs: 0 },
  { arrivalMs: 0.01, device: 1, offset: 2048 * 512, size: 8192, read: false, latencyUs: 500, submitMs: 0.01 },
  { arrivalMs: 0.19, device: 0, offset: 1000 * 512, size: 4096, read: true, latencyUs: 60, submitMs: 0.19 },
  { arrivalMs: 0.31, device: 1, offset: 4096 * 512, size: 4096, read: true, latencyUs: 80, submitMs: 0.31 },
  {
    arrivalMs: 0.69,
    device: 2,
    offset: 123_456_789_012 * 512,
    size: 4096,
    read: true,
    latencyUs: 90,
    submitMs: 0.69,
  },
];

function writeCapture(name: string, order: 'little' | 'big'): string[] {
  const events = capture();
  return [0, 1].map((cpu) => {
    const path = join(dir, `${name}.blktrace.${cpu}`);
    writeFileSync(
      path,
      encodeBlktrace(
        events.filter((e) => e.cpu === cpu),
        order,
      ),
    );
    return path;
  });
}

describe('blktrace and blkparse', () => {
  for (const order of ['little', 'big'] as const) {
    test(`binary per-CPU files (${order}-endian) pair into the known records`, async () => {
      const paths = writeCapture(`cap-${order}`, order);
      const { records, stats } = await readBlktraceRecords(paths);
      assert.deepEqual(records, expected);
      assert.deepEqual(stats.devices, [SDA, SDB, NVME]);
      assert.equal(stats.paired, 5);
      assert.equal(stats.unmatchedCompletions, 1);
      assert.equal(stats.unmatchedIssues, 2, 'the requeued issue and the one never completed');
      assert.equal(stats.requeues, 1);
      assert.equal(stats.failed, 1);
    });
  }

  test('blkparse text of the same capture gives identical records (and the same pairing)', async () => {
    const events = capture();
    const text = formatBlkparse(events, { names: new Map([[4147, 'fio']]) });
    const path = join(dir, 'cap.txt');
    writeFileSync(path, text);
    const fromText = await readBlkparseRecords(path);
    const fromBinary = await readBlktraceRecords(writeCapture('cap-text', 'little'));
    assert.deepEqual(fromText.records, fromBinary.records);
    assert.deepEqual(fromText.records, expected);
    const { skipped: _a, ...textStats } = fromText.stats;
    const { skipped: _b, ...binaryStats } = fromBinary.stats;
    assert.deepEqual(textStats, binaryStats);
  });

  test("the text is blkparse's default format", () => {
    const text = formatBlkparse(capture(), { names: new Map([[4147, 'fio']]) });
    const lines = text.split('\n');
    assert.equal(lines[0], '  8,16   1        2     0.000005000     0  C   R 7777 + 8 [0]');
    assert.ok(lines.includes('  8,0    0        5     0.000010000  4147  D   R 1000 + 8 [fio]'));
    assert.ok(lines.includes('  8,16   0        6     0.000020000  4147  D  WS 2048 + 16 [fio]'));
    assert.ok(lines.includes('  8,0    0       15     0.000345000  4147  D  FW [fio]'));
    assert.ok(lines.includes('259,0    0       21     0.000700000  4147  D   R 123456789012 + 8 [fio]'));
  });

  test('hand-written blkparse output: summaries, plugs, messages and -t elapsed times are read or skipped', () => {
    const text = [
      '  8,0    1        1     0.000000000  4147  Q   R 1953584 + 8 [fio]',
      '  8,0    1        2     0.000002712  4147  G   R 1953584 + 8 [fio]',
      '  8,0    1        3     0.000003638  4147  P   N [fio]',
      '  8,0    1        4     0.000004979  4147  U   N [fio] 1',
      '  8,0    1        5     0.000005584  4147  I   R 1953584 + 8 [fio]',
      '  8,0    1        6     0.000011466  4147  D   R 1953584 + 8 [fio]',
      '  8,0    1        0     0.000012000     0  m   N cfq4147S / dispatched a request',
      '  8,0    1        7     0.000015000  4147  D  WS 100 + 16 (    3000) [fio]',
      '  8,0    0        1     0.000192553     0  C   R 1953584 + 8 (  181087) [0]',
      '  8,0    0        2     0.000515000     0  C  WS 100 + 16 [0]',
      '',
      'CPU0 (8,0):',
      ' Reads Queued:           0,        0KiB\t Writes Queued:           0,        0KiB',
      'Total (8,0):',
      'Throughput (R/W): 20KiB/s / 40KiB/s',
      'Events (8,0): 10 entries',
    ].join('\n');
    const events = parseBlkparse(text);
    assert.equal(events.length, 4, 'two issues and two completions');
    const path = join(dir, 'hand.txt');
    writeFileSync(path, text);
    return readBlkparseRecords(path).then(({ records }) => {
      assert.equal(records.length, 2);
      assert.deepEqual(records[0], {
        arrivalMs: 0,
        device: 0,
        offset: 1953584 * 512,
        size: 4096,
        read: true,
        latencyUs: 181.087,
        submitMs: 0,
      });
      assert.equal(records[1]!.read, false);
      assert.equal(records[1]!.size, 8192);
      assert.ok(Math.abs(records[1]!.latencyUs! - 500) < 1e-9);
      assert.ok(Math.abs(records[1]!.arrivalMs - 0.003534) < 1e-12);
    });
  });

  test('rwbs letters map to categories as blkparse prints them', () => {
    assert.equal(rwbsCategories('R'), READ);
    assert.equal(rwbsCategories('WS'), WRITE | SYNC);
    assert.equal(rwbsCategories('FWS'), FLUSH | WRITE | SYNC);
    assert.equal(rwbsCategories('WFS'), WRITE | BLK_TC.FUA | SYNC);
    assert.equal(rwbsCategories('RA'), READ | BLK_TC.AHEAD);
    assert.equal(rwbsCategories('D'), DISCARD);
    assert.equal(rwbsCategories('FN'), FLUSH);
  });

  test('byte order is detected from the magic', () => {
    const events = capture();
    assert.equal(blktraceEndianness(encodeBlktrace(events, 'little')), 'little');
    assert.equal(blktraceEndianness(encodeBlktrace(events, 'big')), 'big');
    assert.deepEqual(
      parseBlktrace(encodeBlktrace(events, 'big'), 'x', true),
      parseBlktrace(encodeBlktrace(events, 'little'), 'x', true),
    );
    assert.equal(blktraceEndianness(new TextEncoder().encode('  8,0    1 ...')), undefined);
  });
});
