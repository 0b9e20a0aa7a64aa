/**
 * Bad input: each kind of bad line names file:line:field; skipBad counts instead of throwing; line
 * handling (CRLF, blank lines, no final newline, chunk boundaries); undetectable formats.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LakeError, TraceParseError } from '../../src/errors.js';
import { detectTraceFormat } from '../../src/trace/detect.js';
import { openTrace, readTrace, readTraceAll } from '../../src/trace/read.js';
import type { TraceFormat } from '../../src/trace/types.js';

let scratch: string;
let counter = 0;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lake-trace-bad-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function traceFile(text: string): Promise<string> {
  const path = join(scratch, `t${counter++}.trace`);
  await writeFile(path, text);
  return path;
}

const GOOD = {
  'linnos-input': '0.5 0 4096 8192 1',
  'linnos-output': '0,1,0.000,5231,0,16384,268435456,3.637,1',
  heimdall: '0.000,134,1,4096,42242048,0.100,4096',
  msr: '128166372003061629,hm,1,Read,3154132992,4096,62',
} as const satisfies Record<TraceFormat, string>;

interface BadCase {
  name: string;
  format: TraceFormat;
  line: string;
  field: string;
  reason: RegExp;
}

const cases: BadCase[] = [
  {
    name: 'bad number',
    format: 'linnos-input',
    line: '0.5 0 40x96 8192 1',
    field: 'offset_B',
    reason: /not a number: "40x96"/,
  },
  {
    name: 'bad number',
    format: 'heimdall',
    line: '0.000,1e,1,4096,0,0.1,4096',
    field: 'latency_us',
    reason: /not a number/,
  },
  {
    name: 'bad number',
    format: 'msr',
    line: '128166372003061629,hm,1,Read,abc,4096,62',
    field: 'Offset',
    reason: /not a number/,
  },
  {
    name: 'missing field',
    format: 'heimdall',
    line: '0.000,134,1,,42242048,0.100,4096',
    field: 'size_B',
    reason: /missing value/,
  },
  {
    name: 'missing field',
    format: 'linnos-output',
    line: '0,1,0.000,5231,,16384,268435456,3.637,1',
    field: 'rw',
    reason: /missing value/,
  },
  {
    name: 'missing field',
    format: 'msr',
    line: '128166372003061629,,1,Read,0,4096,62',
    field: 'Hostname',
    reason: /missing value/,
  },
  {
    name: 'unknown op',
    format: 'linnos-input',
    line: '0.5 0 4096 8192 2',
    field: 'rw',
    reason: /unknown op "2"/,
  },
  {
    name: 'unknown op',
    format: 'heimdall',
    line: '0.000,134,r,4096,0,0.1,4096',
    field: 'rw',
    reason: /unknown op "r"/,
  },
  {
    name: 'unknown op',
    format: 'msr',
    line: '128166372003061629,hm,1,Trim,0,4096,62',
    field: 'Type',
    reason: /unknown op "Trim"/,
  },
  {
    name: 'negative size',
    format: 'linnos-input',
    line: '0.5 0 4096 -8192 1',
    field: 'size_B',
    reason: /size must be > 0, got -8192/,
  },
  {
    name: 'zero size',
    format: 'heimdall',
    line: '0.000,134,1,0,0,0.1,0',
    field: 'size_B',
    reason: /size must be > 0, got 0/,
  },
  {
    name: 'negative offset',
    format: 'linnos-input',
    line: '0.5 0 -4096 8192 1',
    field: 'offset_B',
    reason: /must be >= 0, got -4096/,
  },
  {
    name: 'fractional size',
    format: 'linnos-input',
    line: '0.5 0 4096 8192.5 1',
    field: 'size_B',
    reason: /not an integer/,
  },
  {
    name: 'truncated line',
    format: 'linnos-input',
    line: '0.5 0 4096',
    field: 'size_B',
    reason: /line truncated: 3 of 5 columns/,
  },
  {
    name: 'truncated line',
    format: 'heimdall',
    line: '0.000,134,1,4096',
    field: 'offset_B',
    reason: /line truncated: 4 of 7/,
  },
  {
    name: 'truncated line',
    format: 'linnos-output',
    line: '0,1,0.000,5231,0,16384,268435456,3.637',
    field: 'ret',
    reason: /8 of 9/,
  },
  {
    name: 'NaN',
    format: 'linnos-input',
    line: 'NaN 0 4096 8192 1',
    field: 'ts_ms',
    reason: /not a finite number: "NaN"/,
  },
  {
    name: 'Infinity',
    format: 'heimdall',
    line: '0.000,Infinity,1,4096,0,0.1,4096',
    field: 'latency_us',
    reason: /not a finite number/,
  },
  {
    name: 'overflow',
    format: 'heimdall',
    line: '0.000,1e999,1,4096,0,0.1,4096',
    field: 'latency_us',
    reason: /not a finite number/,
  },
  {
    name: 'negative time',
    format: 'linnos-input',
    line: '-1 0 4096 8192 1',
    field: 'ts_ms',
    reason: /must be >= 0/,
  },
  {
    name: 'extra column',
    format: 'linnos-input',
    line: '0.5 0 4096 8192 1 7',
    field: 'column 6',
    reason: /expected 5 columns, got 6/,
  },
  {
    name: 'extra column',
    format: 'linnos-output',
    line: `${GOOD['linnos-output']},0,9`,
    field: 'column 11',
    reason: /got 11/,
  },
  {
    name: 'bad filetime',
    format: 'msr',
    line: '1281663720.5,hm,1,Read,0,4096,62',
    field: 'Timestamp',
    reason: /unsigned integer/,
  },
];

describe('a bad line names file:line:field', () => {
  for (const c of cases) {
    test(`${c.format}: ${c.name} -> ${c.field}`, async () => {
      // Good line 1, a blank line 2, the bad line 3, a good line 4.
      const path = await traceFile(`${GOOD[c.format]}\n\n${c.line}\n${GOOD[c.format]}\n`);
      await assert.rejects(readTraceAll(path, { format: c.format }), (error: unknown) => {
        assert.ok(error instanceof TraceParseError);
        assert.equal(error.code, 'LAKE_E_TRACE_PARSE');
        assert.equal(error.file, path);
        assert.equal(error.line, 3);
        assert.equal(error.field, c.field);
        assert.ok(error.message.startsWith(`${path}:3: field ${c.field}: `), error.message);
        assert.match(error.message, c.reason);
        return true;
      });
    });
  }

  test('format detection still works when the first line is bad, and the bad line is reported', async () => {
    const path = await traceFile(`0.000,134,1,,4096,0.1,4096\n${GOOD.heimdall}\n`);
    await assert.rejects(readTraceAll(path), /:1: field size_B: missing value/);
  });
});

describe('skipBad', () => {
  test('counts every bad line, keeps the first messages, and returns the good records', async () => {
    const format = 'linnos-input';
    const bad = cases.filter((c) => c.format === format);
    const lines = [GOOD[format], ...bad.map((c) => c.line), GOOD[format]];
    const path = await traceFile(`${lines.join('\n')}\n`);
    const result = await readTraceAll(path, { format, skipBad: true, keptErrors: 3 });
    assert.equal(result.records.length, 2);
    assert.equal(result.skipped, bad.length);
    assert.equal(result.errors.length, 3);
    assert.match(result.errors[0]!, new RegExp(`:2: field ${bad[0]!.field}: `));
    assert.equal(result.lines, lines.length);
  });

  test('reports the summary on the reader after a streamed pass', async () => {
    const path = await traceFile(`${GOOD.heimdall}\n0.000,134,1,-4,0,0.1,4096\n${GOOD.heimdall}\n`);
    const reader = openTrace(path, { skipBad: true });
    let n = 0;
    for await (const batch of reader) n += batch.length;
    assert.equal(n, 2);
    assert.equal(reader.format, 'heimdall');
    assert.equal(reader.summary.skipped, 1);
    assert.equal(reader.summary.records, 2);
    assert.match(reader.summary.errors[0]!, /:2: field size_B: size must be > 0/);
  });

  test('does not hide errors that are not about a line (undetectable file)', async () => {
    const path = await traceFile('hello world\n');
    await assert.rejects(readTraceAll(path, { skipBad: true }), { code: 'LAKE_E_TRACE_FORMAT' });
  });
});

describe('lines', () => {
  test('CRLF, blank and whitespace-only lines, no final newline, padding', async () => {
    const path = await traceFile(
      '\r\n  0.5 0 4096 8192 1\r\n\t\r\n   \n1.5\t0  8192 4096 0  \r\n2 3 0 512 1',
    );
    const result = await readTraceAll(path);
    assert.equal(result.format, 'linnos-input');
    assert.deepEqual(result.records, [
      { arrivalMs: 0.5, device: 0, offset: 4096, size: 8192, read: true },
      { arrivalMs: 1.5, device: 0, offset: 8192, size: 4096, read: false },
      { arrivalMs: 2, device: 3, offset: 0, size: 512, read: true },
    ]);
    assert.equal(result.lines, 6);
  });

  test('a bad line after CRLF lines is numbered by physical line', async () => {
    const path = await traceFile(
      `${GOOD.heimdall}\r\n\r\n${GOOD.heimdall}\r\n0.000,134,2,4096,0,0.1,4096\r\n`,
    );
    await assert.rejects(readTraceAll(path), /:4: field rw: unknown op "2"/);
  });

  test('spaces around CSV fields are allowed', async () => {
    const path = await traceFile('0, 1, 0.000, 5231, 0, 16384, 268435456, 3.637, 1\n');
    const { records, format } = await readTraceAll(path);
    assert.equal(format, 'linnos-output');
    assert.equal(records[0]!.latencyUs, 5231);
  });

  test('tiny read chunks (lines split across reads, buffer growth) give the same records and line numbers', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 300; i++)
      lines.push(i % 7 === 3 ? '' : `${i * 0.125} ${i % 3} ${i * 4096} ${4096 * (1 + (i % 5))} ${i % 2}`);
    lines.push('9 0 4096 0 1');
    const path = await traceFile(lines.join('\n'));
    const whole = await readTraceAll(path, { skipBad: true });
    for (const chunkBytes of [1, 3, 7, 64]) {
      const small = await readTraceAll(path, { skipBad: true, chunkBytes, batchSize: 5 });
      assert.deepEqual(small.records, whole.records);
      assert.deepEqual(small.errors, whole.errors);
      assert.equal(small.lines, lines.length);
    }
    assert.equal(whole.skipped, 1);
    assert.match(whole.errors[0]!, new RegExp(`:${lines.length}: field size_B`));
  });

  test('readTrace yields the records one by one, in batches of the requested size underneath', async () => {
    const path = await traceFile(Array.from({ length: 10 }, (_, i) => `${i} 0 0 4096 1`).join('\n'));
    const sizes: number[] = [];
    for await (const batch of openTrace(path, { batchSize: 4 })) sizes.push(batch.length);
    assert.deepEqual(sizes, [4, 4, 2]);
    const times: number[] = [];
    for await (const r of readTrace(path)) times.push(r.arrivalMs);
    assert.deepEqual(times, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('format detection', () => {
  const detected: [string, TraceFormat][] = [
    [GOOD['linnos-input'], 'linnos-input'],
    [GOOD['linnos-output'], 'linnos-output'],
    [`${GOOD['linnos-output']},0`, 'linnos-output'],
    [GOOD.heimdall, 'heimdall'],
    [GOOD.msr, 'msr'],
  ];
  for (const [line, format] of detected) {
    test(`"${line}" is ${format}`, async () => {
      const path = await traceFile(`\n${line}\n`);
      assert.equal((await detectTraceFormat(path)).format, format);
    });
  }

  test('an MSR header line is skipped', async () => {
    const path = await traceFile(
      `Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime\n${GOOD.msr}\n`,
    );
    const result = await readTraceAll(path);
    assert.equal(result.format, 'msr');
    assert.equal(result.records.length, 1);
    const given = await readTraceAll(path, { format: 'msr' });
    assert.deepEqual(given.records, result.records);
  });

  test('a header-like line after the first is an error, not a header', async () => {
    const path = await traceFile(`${GOOD.msr}
Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime
`);
    await assert.rejects(readTraceAll(path), /:2: field Timestamp: not an unsigned integer/);
  });

  test('a directory is LAKE_E_IO', async () => {
    await assert.rejects(readTraceAll(scratch, { format: 'msr' }), { code: 'LAKE_E_IO' });
  });

  for (const [name, text] of [
    ['an empty file', ''],
    ['only blank lines', '\n \r\n\t\n'],
    ['4 columns', '0.5 0 4096 8192\n'],
    ['8 CSV columns', '1,2,3,4,5,6,7,8\n'],
    ['prose', 'this is not a trace\n'],
  ] as const) {
    test(`${name}: LAKE_E_TRACE_FORMAT naming the file`, async () => {
      const path = await traceFile(text);
      await assert.rejects(readTraceAll(path), (error: unknown) => {
        assert.ok(error instanceof LakeError);
        assert.equal(error.code, 'LAKE_E_TRACE_FORMAT');
        assert.ok(error.message.startsWith(`${path}: cannot detect the trace format`), error.message);
        return true;
      });
    });
  }

  test('an explicit format skips detection: an empty file has no records', async () => {
    const path = await traceFile('');
    const result = await readTraceAll(path, { format: 'heimdall' });
    assert.equal(result.records.length, 0);
  });

  test('a missing file is LAKE_E_IO naming the path', async () => {
    const path = join(scratch, 'does-not-exist.trace');
    await assert.rejects(readTraceAll(path, { format: 'msr' }), (error: unknown) => {
      assert.ok(error instanceof LakeError);
      assert.equal(error.code, 'LAKE_E_IO');
      assert.ok(error.message.includes(path));
      return true;
    });
  });

  test('bad options are LAKE_E_USAGE', () => {
    assert.throws(() => openTrace('x', { format: 'csv' as TraceFormat }), {
      code: 'LAKE_E_USAGE',
      message: /options.format/,
    });
    assert.throws(() => openTrace('x', { batchSize: 0 }), {
      code: 'LAKE_E_USAGE',
      message: /options.batchSize/,
    });
  });
});
