/**
 * Fuzzing the block-layer capture readers: binary blktrace (valid captures in either byte order, mutated,
 * cut into arbitrary chunks, and random bytes) and blkparse text (valid output, mutated, token soup), then
 * the pairing of issues with completions. Every input gives well-formed events and records or a coded
 * error; a binary capture parses the same whatever its chunking.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { formatBlkparse, parseBlkparse, readBlkparseEvents } from '../../src/trace/blkparse.js';
import {
  BLK_TA,
  BLK_TC,
  type BlkPairing,
  type BlkTraceEvent,
  BlktraceParser,
  blkAction,
  encodeBlktrace,
  makeDev,
  pairBlkEvents,
  parseBlktrace,
} from '../../src/trace/blktrace.js';
import { FUZZ_SEED, mutatedFrom, outcomeOf, outcomeOfAsync, randomBytes, tokenSoup, utf8 } from './fuzz.js';

const CODES = ['LAKE_E_TRACE_PARSE', 'LAKE_E_TRACE_FORMAT'] as const;
const U32 = 0xffff_ffff;
const encoder = new TextEncoder();

const categories = fc
  .subarray([BLK_TC.READ, BLK_TC.WRITE, BLK_TC.SYNC, BLK_TC.FUA, BLK_TC.META, BLK_TC.DISCARD, BLK_TC.PC])
  .map((list) => list.reduce((a, c) => a | c, 0));
const action = fc.oneof(
  fc
    .tuple(fc.constantFrom(BLK_TA.ISSUE, BLK_TA.COMPLETE, BLK_TA.REQUEUE, BLK_TA.QUEUE), categories)
    .map(([code, cats]) => blkAction(code, cats)),
  fc.nat(U32),
);
const eventArb: fc.Arbitrary<BlkTraceEvent> = fc.record({
  sequence: fc.nat(U32),
  timeNs: fc.oneof(
    fc.bigInt({ min: 0n, max: 10n ** 12n }),
    fc.bigUint64Array({ maxLength: 1 }).map((a) => a[0] ?? 0n),
  ),
  sector: fc.oneof(fc.nat(1 << 30), fc.nat()),
  bytes: fc.oneof(fc.constantFrom(0, 512, 4096, 65536), fc.nat(U32)),
  action,
  pid: fc.nat(U32),
  device: fc.tuple(fc.nat(0xfff), fc.nat(0xfffff)).map(([major, minor]) => makeDev(major, minor)),
  cpu: fc.nat(63),
  error: fc.oneof(fc.constant(0), fc.nat(0xffff)),
});

/** A plausible capture: requests issued and completed (some requeued, some failed), in time order. */
const captureArb: fc.Arbitrary<BlkTraceEvent[]> = fc
  .array(
    fc.record({
      device: fc.constantFrom(makeDev(8, 0), makeDev(8, 16), makeDev(259, 1)),
      sector: fc.nat(1 << 28),
      sectors: fc.integer({ min: 1, max: 256 }),
      write: fc.boolean(),
      gapNs: fc.nat(100_000),
      latencyNs: fc.nat(5_000_000),
      failed: fc.boolean(),
    }),
    { maxLength: 20 },
  )
  .map((requests) => {
    const events: BlkTraceEvent[] = [];
    let t = 1_000_000_000n;
    requests.forEach((r, i) => {
      t += BigInt(r.gapNs);
      const op = r.write ? BLK_TC.WRITE : BLK_TC.READ;
      const common = { sector: r.sector, bytes: r.sectors * 512, pid: 100 + i, device: r.device, cpu: i % 4 };
      events.push({ ...common, sequence: 2 * i, timeNs: t, action: blkAction(BLK_TA.ISSUE, op), error: 0 });
      events.push({
        ...common,
        sequence: 2 * i + 1,
        timeNs: t + BigInt(r.latencyNs),
        action: blkAction(BLK_TA.COMPLETE, op),
        error: r.failed ? 5 : 0,
      });
    });
    return events;
  });

function checkEvent(e: BlkTraceEvent): void {
  for (const [name, value, max] of [
    ['sequence', e.sequence, U32],
    ['bytes', e.bytes, U32],
    ['action', e.action, U32],
    ['pid', e.pid, U32],
    ['device', e.device, U32],
    ['cpu', e.cpu, U32],
    ['error', e.error, 0xffff],
  ] as const) {
    assert.ok(Number.isInteger(value) && value >= 0 && value <= max, `${name} ${value}`);
  }
  assert.equal(typeof e.timeNs, 'bigint');
  assert.ok(e.timeNs >= 0n && e.timeNs < 1n << 64n, `timeNs ${e.timeNs}`);
  // A sector whose byte offset passes 2^53 could not be reported exactly.
  assert.ok(Number.isSafeInteger(e.sector) && e.sector >= 0, `sector ${e.sector}`);
  assert.ok(Number.isSafeInteger(e.sector * 512), `sector ${e.sector}: offset beyond 2^53`);
}

function checkPairing(pairing: BlkPairing, events: readonly BlkTraceEvent[]): void {
  const { records, stats } = pairing;
  assert.equal(stats.paired, records.length);
  assert.ok(stats.paired + stats.failed + stats.unmatchedCompletions <= stats.completions);
  assert.ok(stats.paired <= stats.issues);
  let lastArrival = Number.NEGATIVE_INFINITY;
  for (const r of records) {
    assert.ok(Number.isFinite(r.arrivalMs) && r.arrivalMs >= 0, `arrivalMs ${r.arrivalMs}`);
    assert.ok(r.arrivalMs >= lastArrival, 'records in issue order');
    lastArrival = r.arrivalMs;
    assert.ok(r.latencyUs !== undefined && Number.isFinite(r.latencyUs) && r.latencyUs >= 0);
    assert.ok(Number.isSafeInteger(r.offset) && r.offset >= 0, `offset ${r.offset}`);
    assert.ok(Number.isSafeInteger(r.size) && r.size > 0, `size ${r.size}`);
    assert.ok(Number.isInteger(r.device) && r.device >= 0 && r.device < stats.devices.length);
  }
  assert.ok(stats.devices.every((d) => events.some((e) => e.device === d)));
}

describe('binary blktrace', () => {
  const valid = fc
    .tuple(
      fc.array(eventArb, { maxLength: 12 }),
      fc.constantFrom('little', 'big') as fc.Arbitrary<'little' | 'big'>,
    )
    .map(([events, order]) => encodeBlktrace(events, order));
  const inputs = fc.oneof(
    valid,
    mutatedFrom(valid),
    randomBytes,
    captureArb.map((c) => encodeBlktrace(c)),
  );

  test('valid, mutated and random bytes: events and records, or TraceParseError', () => {
    let parsed = 0;
    let refused = 0;
    fc.assert(
      fc.property(inputs, (bytes) => {
        const result = outcomeOf(CODES, () => parseBlktrace(bytes, 'cpu0.blktrace'));
        if (!result.ok) {
          refused++;
          assert.match(result.error.message, /^cpu0\.blktrace:\d+: field \w+: /);
          return;
        }
        parsed++;
        for (const e of result.value) checkEvent(e);
        const pairing = outcomeOf([], () => pairBlkEvents(result.value), 'pairBlkEvents');
        assert.ok(pairing.ok);
        checkPairing(pairing.value, result.value);
      }),
      { seed: FUZZ_SEED, numRuns: 2000 },
    );
    assert.ok(parsed > 100 && refused > 100, `${parsed} parsed, ${refused} refused`);
  });

  test('a capture parses the same however its bytes are cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.oneof(valid, mutatedFrom(valid)),
        fc.array(fc.nat(), { maxLength: 6 }),
        (bytes, cuts) => {
          const whole = outcomeOf(CODES, () => parseBlktrace(bytes, 'f'));
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunked = outcomeOf(CODES, () => {
            const events: BlkTraceEvent[] = [];
            const parser = new BlktraceParser('f', events);
            let from = 0;
            for (const at of [...points, bytes.length]) {
              parser.push(bytes.subarray(from, at));
              from = at;
            }
            parser.end();
            return events;
          });
          assert.equal(chunked.ok, whole.ok);
          if (whole.ok && chunked.ok) assert.deepEqual(chunked.value, whole.value);
          if (!whole.ok && !chunked.ok) assert.equal(chunked.error.message, whole.error.message);
        },
      ),
      { seed: FUZZ_SEED, numRuns: 1000 },
    );
  });

  test('regression: a sector whose byte offset passes 2^53 is refused, not reported rounded', () => {
    const base = { sequence: 0, timeNs: 0n, bytes: 4096, action: blkAction(BLK_TA.ISSUE, BLK_TC.READ) };
    const event = { ...base, pid: 1, device: makeDev(8, 0), cpu: 0, error: 0 };
    const bytes = encodeBlktrace([{ ...event, sector: 2 ** 50 }]);
    const result = outcomeOf(CODES, () => parseBlktrace(bytes, 'big.blktrace'));
    assert.equal(result.ok, false);
    assert.ok(!result.ok && /field sector: .*out of range/.test(result.error.message));
    const largest = Math.floor(Number.MAX_SAFE_INTEGER / 512);
    const ok = outcomeOf(CODES, () => parseBlktrace(encodeBlktrace([{ ...event, sector: largest }])));
    assert.ok(ok.ok && ok.value[0]?.sector === largest);
  });
});

describe('blkparse text', () => {
  const valid = fc
    .oneof(captureArb, fc.array(eventArb, { maxLength: 10 }))
    .map((events) => encoder.encode(formatBlkparse(events)));
  const TOKENS = [
    '  8,0 ',
    '  259,1 ',
    ' 3 ',
    '  17 ',
    ' 0.000123456 ',
    ' 697 ',
    ' D ',
    ' C ',
    ' R ',
    ' Q ',
    ' W ',
    ' R ',
    ' RS ',
    ' FWS ',
    '223490 + 8 ',
    '[kworker/u8:0]',
    '[0]',
    '[5]',
    '\n',
    'CPU0 (8,0):\n',
    ' Reads Queued: 5\n',
  ];
  const inputs = fc.oneof(valid, mutatedFrom(valid), tokenSoup(TOKENS, 60), randomBytes);

  test('valid, mutated and random text: events and records, or a coded error', () => {
    let parsed = 0;
    let refused = 0;
    fc.assert(
      fc.property(inputs, (bytes) => {
        const result = outcomeOf(CODES, () => parseBlkparse(utf8(bytes), 'capture.txt'));
        if (!result.ok) {
          refused++;
          assert.ok(result.error.message.startsWith('capture.txt'), result.error.message);
          return;
        }
        parsed++;
        for (const e of result.value) checkEvent(e);
        const pairing = outcomeOf([], () => pairBlkEvents(result.value), 'pairBlkEvents');
        assert.ok(pairing.ok);
        checkPairing(pairing.value, result.value);
      }),
      { seed: FUZZ_SEED, numRuns: 2000 },
    );
    assert.ok(parsed > 100 && refused > 100, `${parsed} parsed, ${refused} refused`);
  });

  test('blkparse text and the binary capture it was printed from pair into the same records', () => {
    fc.assert(
      fc.property(captureArb, (events) => {
        const fromText = pairBlkEvents(parseBlkparse(formatBlkparse(events), 't')).records;
        const fromBinary = pairBlkEvents(parseBlktrace(encodeBlktrace(events), 'b')).records;
        assert.deepEqual(fromText, fromBinary);
      }),
      { seed: FUZZ_SEED, numRuns: 300 },
    );
  });

  test('regression: numbers beyond their binary field are refused, not wrapped', () => {
    const line = (device: string, rest: string) =>
      `${device}  0        1     0.000000100   697  D   R ${rest}\n`;
    const cases = [
      line('4096,0', '8 + 8 [x]'), // major has 12 bits: 4096 would wrap onto device 0,0
      line('8,1048576', '8 + 8 [x]'), // minor has 20 bits
      line('8,0', `${2 ** 50} + 8 [x]`), // byte offset beyond 2^53
      line('8,0', '8 + 8388608 [x]'), // 2^32 bytes do not fit the u32 byte count
    ];
    for (const text of cases) {
      const result = outcomeOf(CODES, () => parseBlkparse(text, 'capture.txt'));
      assert.equal(result.ok, false, text);
      assert.ok(!result.ok && result.error.code === 'LAKE_E_TRACE_PARSE', text);
      assert.ok(!result.ok && result.error.message.startsWith('capture.txt:1: field '), text);
    }
  });

  test('regression: an error in a blkparse file names its line, blank lines counted', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'lake-fuzz-blkparse-'));
    try {
      const good = '  8,0    0        1     0.000000100   697  D   R 8 + 8 [x]';
      const bad = '  8,0    0        2     0.000000200   697  C   R 8 + 8 [0]'.replace(
        '8 + 8',
        `${2 ** 50} + 8`,
      );
      const path = join(scratch, 'blank-lines.txt');
      await writeFile(path, `${good}\n\n\n${bad}\n`);
      const result = await outcomeOfAsync(CODES, () => readBlkparseEvents(path));
      assert.ok(!result.ok, 'the out-of-range sector was read');
      assert.ok(result.error.message.startsWith(`${path}:4: field sector:`), result.error.message);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
