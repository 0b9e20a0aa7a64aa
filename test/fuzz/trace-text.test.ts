/**
 * Fuzzing the four text trace formats (linnos-input, linnos-output, heimdall, msr): valid lines mutated
 * (byte flips, truncation, field swaps, huge numbers, NaN, negatives, empty lines, CRLF, NUL bytes) and
 * random bytes, through the line parsers, format detection and whole files (plain and gzip, detected and
 * named, strict and skipping bad lines). Every input gives well-formed records or a coded error.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { detectLineFormat } from '../../src/trace/detect.js';
import { forEachLine } from '../../src/trace/lines.js';
import { createLineParser } from '../../src/trace/parse.js';
import { readTraceAll } from '../../src/trace/read.js';
import { type TraceFormat, type TraceRecord, traceFormats } from '../../src/trace/types.js';
import { FUZZ_SEED, latin1, mutatedFrom, outcomeOf, outcomeOfAsync, randomBytes, tokenSoup } from './fuzz.js';

const TRACE_CODES = ['LAKE_E_TRACE_PARSE', 'LAKE_E_TRACE_FORMAT'] as const;
const encoder = new TextEncoder();

const count = fc.oneof(fc.nat(1000), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER));
const ms = fc.oneof(
  fc.double({ min: 0, max: 1e9, noNaN: true }).map((v) => String(v)),
  fc.nat(10_000_000).map((v) => (v / 1000).toFixed(3)),
);
const size = fc.integer({ min: 1, max: 1 << 24 });
const rw = fc.constantFrom('0', '1');

/** A line as each format's tool writes it. */
const lineArb: Record<TraceFormat, fc.Arbitrary<string>> = {
  'linnos-input': fc
    .tuple(ms, fc.nat(16), count, size, rw)
    .map(([t, d, o, s, r]) => `${t} ${d} ${o} ${s} ${r}`),
  'linnos-output': fc
    .tuple(count, fc.nat(3), ms, fc.nat(1e6), rw, size, count, ms, fc.constantFrom('1', '0', '-1'))
    .map((f) => f.join(',')),
  heimdall: fc.tuple(ms, fc.nat(1e6), rw, size, count, ms, size).map((f) => f.join(',')),
  msr: fc
    .tuple(
      fc.bigInt({ min: 0n, max: 1n << 62n }),
      fc.constantFrom('hm', 'src1', 'web'),
      fc.nat(8),
      fc.constantFrom('Read', 'Write', 'read'),
      count,
      size,
      fc.nat(1e7),
    )
    .map((f) => f.join(',')),
};

const fileArb = (format: TraceFormat): fc.Arbitrary<Uint8Array> =>
  fc
    .array(lineArb[format], { minLength: 1, maxLength: 12 })
    .map((lines) => encoder.encode(`${lines.join('\n')}\n`));

const TOKENS = ['0', '1', '12', '4096', '1.5', ',', ' ', '\t', '\n', '-', 'e', 'Read', 'Write', 'host'];

/** What every record of every format must be. */
function checkRecord(record: TraceRecord, format: TraceFormat): void {
  assert.ok(Number.isFinite(record.arrivalMs), `arrivalMs ${record.arrivalMs}`);
  // MSR arrivals are relative to the first record, so a later line with an earlier timestamp is negative.
  if (format !== 'msr') assert.ok(record.arrivalMs >= 0, `arrivalMs ${record.arrivalMs}`);
  assert.ok(Number.isSafeInteger(record.device) && record.device >= 0, `device ${record.device}`);
  assert.ok(Number.isSafeInteger(record.offset) && record.offset >= 0, `offset ${record.offset}`);
  assert.ok(Number.isSafeInteger(record.size) && record.size > 0, `size ${record.size}`);
  assert.equal(typeof record.read, 'boolean');
  const latency = record.latencyUs;
  if (format === 'linnos-input') assert.equal(latency, undefined);
  else assert.ok(latency !== undefined && Number.isFinite(latency) && latency >= 0, `latencyUs ${latency}`);
  const submit = record.submitMs;
  if (format === 'linnos-output' || format === 'heimdall')
    assert.ok(submit !== undefined && Number.isFinite(submit) && submit >= 0, `submitMs ${submit}`);
  else assert.equal(submit, undefined);
}

describe('line parsers', () => {
  for (const format of traceFormats) {
    test(`${format}: valid lines parse; mutated and random lines parse or fail with TraceParseError`, () => {
      const line = fc.oneof(
        lineArb[format].map((l) => encoder.encode(l)),
        mutatedFrom(lineArb[format].map((l) => encoder.encode(l))),
        tokenSoup(TOKENS, 20),
        randomBytes,
      );
      let parsed = 0;
      let refused = 0;
      fc.assert(
        fc.property(line, (bytes) => {
          const parser = createLineParser(format, 'fuzz.trace');
          const result = outcomeOf(['LAKE_E_TRACE_PARSE'], () => parser.parse(bytes, 0, bytes.length, 7));
          if (result.ok) {
            parsed++;
            checkRecord(result.value, format);
          } else {
            refused++;
            assert.match(result.error.message, /^fuzz\.trace:7: field [^:]+: /);
          }
        }),
        { seed: FUZZ_SEED, numRuns: 3000 },
      );
      // Both sides of the property were exercised.
      assert.ok(parsed > 100 && refused > 100, `${parsed} parsed, ${refused} refused`);
    });
  }

  test('a valid line parses to the values written in it', () => {
    fc.assert(
      fc.property(fc.tuple(fc.nat(1e6), fc.nat(16), fc.nat(1 << 30), size, rw), ([t, d, o, s, r]) => {
        const bytes = encoder.encode(`${t / 1000} ${d} ${o} ${s} ${r}`);
        const record = createLineParser('linnos-input', 'x').parse(bytes, 0, bytes.length, 1);
        assert.deepEqual(record, { arrivalMs: t / 1000, device: d, offset: o, size: s, read: r === '1' });
      }),
      { seed: FUZZ_SEED, numRuns: 500 },
    );
  });
});

describe('format detection and line splitting', () => {
  test('detectLineFormat names a format, a header or nothing for any line', () => {
    const known = new Set<string | undefined>([...traceFormats, 'header', undefined]);
    fc.assert(
      fc.property(fc.oneof(tokenSoup(TOKENS, 40), randomBytes, fileArb('msr')), (bytes) => {
        const kind = outcomeOf([], () => detectLineFormat(latin1(bytes)) ?? 'nothing');
        assert.ok(kind.ok && known.has(kind.value === 'nothing' ? undefined : kind.value));
      }),
      { seed: FUZZ_SEED, numRuns: 2000 },
    );
  });

  test('forEachLine reports non-blank, trimmed lines in order, within the chunk', () => {
    fc.assert(
      fc.property(
        fc.oneof(tokenSoup(TOKENS), randomBytes),
        fc.integer({ min: 1, max: 99 }),
        (bytes, first) => {
          let last = first - 1;
          const next = forEachLine(bytes, first, (start, end, line) => {
            assert.ok(start >= 0 && start < end && end <= bytes.length);
            assert.ok(line > last);
            last = line;
            for (const at of [start, end - 1]) assert.ok(![32, 9, 13, 10].includes(bytes[at]!));
          });
          assert.equal(
            next,
            first +
              bytes.filter((b) => b === 10).length +
              (bytes.at(-1) === 10 ? 0 : 1) -
              (bytes.length === 0 ? 1 : 0),
          );
        },
      ),
      { seed: FUZZ_SEED, numRuns: 2000 },
    );
  });

  test('regression: detection of a line with a 200 kB run of digits is linear (it backtracked quadratically)', () => {
    // Five columns, so that the first is matched as a number: the old pattern took about a minute here.
    for (const line of [`${'7'.repeat(200_000)}x 1 2 3 4`, `1,${'7'.repeat(200_000)}x,1,2,3,4,5`]) {
      const result = outcomeOf([], () => detectLineFormat(line) ?? 'nothing');
      assert.deepEqual(result, { ok: true, value: 'nothing' });
    }
  });
});

describe('whole files', () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'lake-fuzz-trace-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  const formatArb = fc.constantFrom(...traceFormats);
  const contentArb = formatArb.chain((format) =>
    fc.tuple(
      fc.constant(format),
      fc.oneof(fileArb(format), mutatedFrom(fileArb(format)), tokenSoup(TOKENS, 80), randomBytes),
    ),
  );

  test('any file, plain or gzip, detected or named, strict or skipping: records or a coded error', async () => {
    let ok = 0;
    let refused = 0;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        contentArb,
        fc.constantFrom('plain', 'gzip', 'damaged-gzip'),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 64 }),
        async ([format, content], container, named, skipBad, chunkBytes) => {
          let bytes: Uint8Array = content;
          if (container !== 'plain') bytes = gzipSync(content);
          if (container === 'damaged-gzip') bytes = bytes.subarray(0, Math.max(2, bytes.length - 9));
          const path = join(scratch, `case-${run++}.trace`);
          await writeFile(path, bytes);
          const options = { ...(named ? { format } : {}), skipBad, chunkBytes };
          const result = await outcomeOfAsync(TRACE_CODES, () => readTraceAll(path, options));
          if (!result.ok) {
            refused++;
            assert.ok(result.error.message.startsWith(`${path}:`), result.error.message);
            return;
          }
          ok++;
          const read = result.value;
          if (named) assert.equal(read.format, format);
          for (const record of read.records) checkRecord(record, read.format);
          assert.ok(read.records.length + read.skipped <= read.lines, `${read.lines} lines`);
          if (!skipBad) assert.equal(read.skipped, 0);
          for (const message of read.errors) assert.ok(message.startsWith(`${path}:`), message);
        },
      ),
      { seed: FUZZ_SEED, numRuns: 300 },
    );
    assert.ok(ok > 30 && refused > 30, `${ok} read, ${refused} refused`);
  });
});
