/**
 * Every real trace in test/fixtures: detected format, counts and durations as the fixture READMEs give
 * them, read-write-read round trips, and byte-identical rewrites where the tools' number formats allow it.
 * The large traces are stored gzip-compressed and read as they are.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readTraceAll } from '../../src/trace/read.js';
import type { TraceFormat, TraceRecord } from '../../src/trace/types.js';
import { writeTrace } from '../../src/trace/write.js';
import { fixturePath, readFixture } from '../helpers/fixtures.js';

interface Expected {
  path: string;
  format: TraceFormat;
  reads: number;
  writes: number;
  /** Duration (last - first arrival) in ms and the tolerance the README's rounding allows. */
  durationMs?: [number, number];
  sha256?: string;
  /** linnos-input decimals that reproduce the file byte for byte. */
  tsDecimals?: number;
}

// Counts and durations from fixtures/traces/README.md and fixtures/linnos/README.md.
const expected: Expected[] = [
  {
    path: 'traces/flashnet-trovi-tencent-nvme/tencent.cut.per_50k.most_rand_iops.537.trace',
    format: 'heimdall',
    reads: 41036,
    writes: 8964,
    durationMs: [54000, 0],
    sha256: 'f3b2d2e40d7cba97b683410b6269dc2420779032583c98e5a46335410f04572b',
  },
  {
    path: 'traces/flashnet-trovi-tencent-nvme/tencent.cut.per_50k.rw_60_40.490.trace',
    format: 'heimdall',
    reads: 30012,
    writes: 19988,
    durationMs: [147000, 0],
    sha256: '2b2ffaea1b1b1d904a07fd7b06c83feefc798718badc425b5877774a5864984c',
  },
  {
    path: 'traces/flashnet-trovi-tencent-nvme/tencent.cut.per_50k.rw_75_25.379.trace',
    format: 'heimdall',
    reads: 37885,
    writes: 12115,
    durationMs: [87000, 0],
    sha256: '2a5ea1d13560d605c10d29c305f6b7c279b534e8fcb9ec236da0251378b05e31',
  },
  {
    path: 'traces/heimdall-msr-raw/msr.cut.per_10k.most_thpt_rand_iops.1006.trace',
    format: 'linnos-input',
    reads: 8316,
    writes: 1684,
    durationMs: [1000, 50],
    sha256: '641d91becb6cba535cfbb8d2fb935c60278c7697f2ef05f573c7f8128742e924',
    tsDecimals: 3,
  },
  {
    path: 'traces/heimdall-msr-raw/msr.cut.per_10k.rw_20_80.105.trace',
    format: 'linnos-input',
    reads: 2020,
    writes: 7980,
    durationMs: [243000, 500],
    sha256: 'ef43beb542f4497041fc57dfdec199ba1dee96f4d578536cb31c227ee1ab0db5',
    tsDecimals: 3,
  },
  // hacktest: 10013 IOs, ~30.8% reads, ~1000 s; traceB: 15245 IOs, ~90% reads, ~15,000 s.
  {
    path: 'linnos/hacktest.trace',
    format: 'linnos-input',
    reads: 3086,
    writes: 6927,
    durationMs: [1000e3, 1e3],
    tsDecimals: 5,
  },
  {
    path: 'linnos/traceB.trace',
    format: 'linnos-input',
    reads: 13712,
    writes: 1533,
    durationMs: [15000e3, 500e3],
    tsDecimals: 5,
  },
  { path: 'linnos/TrainTraceOutput', format: 'linnos-output', reads: 6, writes: 24 },
  { path: 'linnos/TrainTraceOutput_sub', format: 'linnos-output', reads: 6, writes: 24 },
];

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lake-trace-fixtures-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('fixture traces', () => {
  for (const e of expected) {
    const file = fixturePath(e.path);
    test(`${e.path}: ${e.format}, ${e.reads} reads, ${e.writes} writes`, async () => {
      if (e.sha256 !== undefined) {
        const digest = createHash('sha256').update(readFixture(e.path)).digest('hex');
        assert.equal(digest, e.sha256, 'fixture changed');
      }
      const result = await readTraceAll(file);
      assert.equal(result.format, e.format);
      assert.equal(result.skipped, 0);
      assert.equal(result.records.length, e.reads + e.writes);
      assert.equal(result.records.filter((r) => r.read).length, e.reads);
      if (e.durationMs !== undefined) {
        const times = result.records.map((r) => r.arrivalMs);
        const duration = Math.max(...times) - Math.min(...times);
        assert.ok(Math.abs(duration - e.durationMs[0]) <= e.durationMs[1], `duration ${duration} ms`);
      }
      for (const r of result.records) {
        assert.ok(r.size > 0 && Number.isInteger(r.size));
        assert.ok(r.offset >= 0 && Number.isInteger(r.offset));
        assert.equal(r.latencyUs !== undefined, e.format !== 'linnos-input');
      }
    });

    test(`${e.path}: write and read back gives the same records`, async () => {
      const { records } = await readTraceAll(file, { format: e.format });
      const out = join(scratch, `${e.path.replaceAll('/', '_')}.roundtrip`);
      const summary = await writeTrace(out, records, e.format);
      assert.equal(summary.records, e.reads + e.writes);
      const back = await readTraceAll(out);
      assert.equal(back.format, e.format);
      assert.deepEqual(back.records, records);
    });
  }
});

describe('byte-identical rewrites', () => {
  const identical = expected.filter((e) => e.format === 'heimdall' || e.tsDecimals !== undefined);
  for (const e of identical) {
    test(`${e.path} is rewritten byte for byte`, async () => {
      const { records } = await readTraceAll(fixturePath(e.path));
      const out = join(scratch, `${e.path.replaceAll('/', '_')}.same`);
      const options = e.tsDecimals === undefined ? {} : { tsDecimals: e.tsDecimals };
      await writeTrace(out, records, e.format, options);
      assert.ok((await readFile(out)).equals(readFixture(e.path)));
    });
  }

  test('TrainTraceOutput is rewritten byte for byte given its io_index (each input I/O went to 3 devices)', async () => {
    const { records } = await readTraceAll(fixturePath('linnos/TrainTraceOutput'));
    const out = join(scratch, 'TrainTraceOutput.same');
    await writeTrace(out, records, 'linnos-output', { ioIndex: (_r, position) => Math.floor(position / 3) });
    assert.ok((await readFile(out)).equals(readFixture('linnos/TrainTraceOutput')));
  });
});

describe('LinnOS replayer output matches its input', () => {
  test('TrainTraceOutput replays the first 10 I/Os of hacktest.trace on devices 0, 1 and 2', async () => {
    const input = (await readTraceAll(fixturePath('linnos/hacktest.trace'))).records;
    for (const name of ['TrainTraceOutput', 'TrainTraceOutput_sub']) {
      const output = (await readTraceAll(fixturePath(`linnos/${name}`))).records;
      assert.equal(output.length, 30);
      for (let io = 0; io < 10; io++) {
        const group = output.slice(io * 3, io * 3 + 3);
        const source = input[io] as TraceRecord;
        assert.deepEqual(group.map((r) => r.device).sort(), [0, 1, 2]);
        for (const r of group) {
          assert.equal(r.arrivalMs, Number(source.arrivalMs.toFixed(3)));
          assert.equal(r.offset, source.offset);
          assert.equal(r.size, source.size);
          assert.equal(r.read, source.read);
          assert.ok(r.submitMs! >= r.arrivalMs);
        }
      }
    }
  });
});
