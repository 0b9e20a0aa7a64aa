import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import {
  extractLinnosDataset,
  extractLinnosFromTrace,
  type ReplayedIo,
  traceRecordAsReplayed,
} from '../../src/linnos/extract.js';
import { decodeLinnosVector, LINNOS_FEATURES } from '../../src/linnos/features.js';
import { Random } from '../../src/random.js';
import type { TraceRecord } from '../../src/trace/types.js';
import { readFixtureText } from '../helpers/fixtures.js';
import { bruteForceVectors } from './brute-force.js';

const KB = 1024;
const tencent = 'traces/flashnet-trovi-tencent-nvme/tencent.cut.per_50k.rw_60_40.490.trace';

function io(
  servedBy: number,
  read: boolean,
  size: number,
  submitUs: number,
  completeUs: number,
  submitSeq?: number,
): ReplayedIo {
  return submitSeq === undefined
    ? { servedBy, read, size, submitUs, completeUs }
    : { servedBy, read, size, submitUs, completeUs, submitSeq };
}

function rows(vectors: Uint8Array, count: number): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < count; r++) out.push(decodeLinnosVector(vectors, r * LINNOS_FEATURES));
  return out;
}

describe('extractLinnosDataset', () => {
  test('a read gets a vector once its device has completed 4 reads; history and pending as recorded', () => {
    const records = [
      io(0, true, 4 * KB, 0, 100),
      io(0, true, 8 * KB, 10, 250),
      io(0, false, 16 * KB, 20, 60), // writes occupy the device but are not history
      io(0, true, 4 * KB, 30, 300),
      io(0, true, 4 * KB, 40, 400),
      io(0, true, 4 * KB, 350, 500), // 3 reads done: no vector
      io(0, true, 12 * KB, 450, 900), // 4 reads done
    ];
    const [d] = extractLinnosDataset(records);
    assert.equal(d!.device, 0);
    assert.equal(d!.count, 1);
    assert.deepEqual([...d!.index], [6]);
    assert.deepEqual([...d!.latencyUs], [450]);
    // pending at issue (pages, itself included): #0 1, #1 1+2 = 3, #3 3+4+1 = 8 (the write ends at 60), #4 9;
    // at 450 only #5 (1 page) is in flight, plus the arriving 3 pages.
    assert.deepEqual(rows(d!.vectors, 1), [[1, 3, 8, 9, 4, 100, 240, 270, 360]]);
  });

  test('at equal times completions run before submissions, and a zero-latency I/O after its own submission', () => {
    const history = [0, 1, 2, 3].map((k) => io(0, true, 4 * KB, k * 20, k * 20 + 10));
    const records = [
      ...history,
      io(0, true, 4 * KB, 80, 110), // completes at 110 ...
      io(0, true, 4 * KB, 110, 140), // ... before this submission at 110: its latency (30) is the newest
      io(0, true, 8 * KB, 140, 140), // zero latency: after the completion at 140, before the next submission
      io(0, true, 4 * KB, 140, 150),
    ];
    const [d] = extractLinnosDataset(records);
    const byIndex = new Map(
      [...d!.index].map((i, r) => [i, decodeLinnosVector(d!.vectors, r * LINNOS_FEATURES)]),
    );
    assert.deepEqual(byIndex.get(4), [1, 1, 1, 1, 1, 10, 10, 10, 10]);
    assert.deepEqual(byIndex.get(5), [1, 1, 1, 1, 1, 10, 10, 10, 30]);
    assert.deepEqual(byIndex.get(6), [1, 1, 1, 1, 2, 10, 10, 30, 30]);
    assert.deepEqual(byIndex.get(7), [1, 1, 1, 2, 1, 10, 30, 30, 0]);
    assert.deepEqual(brute(records), datasets(records));
  });

  test('submitSeq, not input order, orders submissions at equal times', () => {
    const history = [0, 1, 2, 3].map((k) => io(0, true, 4 * KB, k * 20, k * 20 + 10, k));
    const a = io(0, true, 4 * KB, 100, 200, 5);
    const b = io(0, true, 8 * KB, 100, 200, 4); // submitted first despite coming later in the input
    const [d] = extractLinnosDataset([...history, a, b]);
    assert.deepEqual([...d!.index], [5, 4]);
    assert.equal(decodeLinnosVector(d!.vectors, 0)[4], 2);
    assert.equal(decodeLinnosVector(d!.vectors, LINNOS_FEATURES)[4], 3);
  });

  test('devices are independent, and `devices` restricts the output', () => {
    const records: ReplayedIo[] = [];
    for (let k = 0; k < 6; k++) {
      records.push(io(1, true, 4 * KB, k * 10, k * 10 + 5));
      records.push(io(0, true, 4 * KB, k * 10 + 1, k * 10 + 100));
    }
    const all = extractLinnosDataset(records);
    assert.deepEqual(
      all.map((d) => [d.device, d.count]),
      [
        [0, 0],
        [1, 2],
      ],
    );
    const only1 = extractLinnosDataset(records, [1]);
    assert.deepEqual(
      only1.map((d) => d.device),
      [1],
    );
    assert.deepEqual([...only1[0]!.vectors], [...all.find((d) => d.device === 1)!.vectors]);
  });

  test('equals a brute-force reading of the event-order contract on random records with ties', () => {
    const random = new Random(42);
    for (let trial = 0; trial < 20; trial++) {
      const records: ReplayedIo[] = [];
      const n = 60 + random.int(60);
      for (let i = 0; i < n; i++) {
        const submitUs = random.int(200); // coarse times: many ties
        const latency = random.int(4) === 0 ? 0 : random.int(60);
        records.push(
          io(random.int(2), random.int(4) !== 0, (1 + random.int(40)) * 512, submitUs, submitUs + latency),
        );
      }
      assert.deepEqual(datasets(records), brute(records), `trial ${trial}`);
    }
  });

  test('rejects a completion before its submission', () => {
    assert.throws(
      () => extractLinnosDataset([io(0, true, 4096, 10, 5)]),
      (e: unknown) => e instanceof LakeError && e.code === 'LAKE_E_USAGE' && /record 0/.test(e.message),
    );
  });
});

describe('extractLinnosFromTrace', () => {
  test('submits at submitMs (else arrival), completes latencyUs later, keeps the exact latency', () => {
    const trace: TraceRecord[] = [];
    for (let k = 0; k < 5; k++) {
      trace.push({ arrivalMs: k * 0.1, device: 2, offset: 0, size: 4096, read: true, latencyUs: 37.7 + k });
    }
    trace.push({
      arrivalMs: 0,
      submitMs: 0.55,
      device: 2,
      offset: 0,
      size: 4096,
      read: true,
      latencyUs: 5231,
    });
    const [d] = extractLinnosFromTrace(trace);
    assert.equal(d!.device, 2);
    assert.deepEqual([...d!.index], [4, 5]);
    assert.deepEqual([...d!.latencyUs], [41.7, 5231]);
    assert.deepEqual(rows(d!.vectors, 2)[1], [1, 1, 1, 1, 1, 38, 39, 40, 41]);
  });

  test('Tencent NVMe trace (heimdall format): the first 1500 I/Os match the brute-force reading', () => {
    const lines = readFixtureText(tencent).split('\n').slice(0, 1500);
    // ts_record(ms), latency(us), rw, size, offset, ts_submit(ms), size_after_replay
    const trace: TraceRecord[] = lines.map((line) => {
      const f = line.split(',').map(Number);
      return {
        arrivalMs: f[0]!,
        latencyUs: f[1]!,
        read: f[2] === 1,
        size: f[3]!,
        offset: f[4]!,
        submitMs: f[5]!,
        device: 0,
      };
    });
    const [d] = extractLinnosFromTrace(trace);
    const want = bruteForceVectors(trace.map((r, k) => traceRecordAsReplayed(r, k))).get(0)!;
    assert.ok(d!.count > 800, String(d!.count));
    assert.deepEqual(rows(d!.vectors, d!.count), want.vectors);
    assert.deepEqual([...d!.latencyUs], want.latency);
    assert.deepEqual([...d!.index], want.index);
  });

  test('a trace without latency is refused', () => {
    assert.throws(
      () => extractLinnosFromTrace([{ arrivalMs: 0, device: 0, offset: 0, size: 4096, read: true }]),
      (e: unknown) => e instanceof LakeError && e.code === 'LAKE_E_TRACE_FORMAT',
    );
  });
});

function datasets(
  records: ReplayedIo[],
): Record<number, { vectors: number[][]; latency: number[]; index: number[] }> {
  const out: Record<number, { vectors: number[][]; latency: number[]; index: number[] }> = {};
  for (const d of extractLinnosDataset(records)) {
    if (d.count === 0) continue;
    out[d.device] = { vectors: rows(d.vectors, d.count), latency: [...d.latencyUs], index: [...d.index] };
  }
  return out;
}

function brute(
  records: ReplayedIo[],
): Record<number, { vectors: number[][]; latency: number[]; index: number[] }> {
  return Object.fromEntries(bruteForceVectors(records));
}
