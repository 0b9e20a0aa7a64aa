/**
 * Writers: every format round-trips seeded random records exactly (at each format's resolution), the
 * writers accept sync and async sources, and writes are atomic.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { Random } from '../../src/random.js';
import { parseDecimal } from '../../src/trace/fields.js';
import { readTraceAll } from '../../src/trace/read.js';
import { type TraceFormat, type TraceRecord, traceFormats } from '../../src/trace/types.js';
import { MSR_EPOCH_SECONDS, writeTrace } from '../../src/trace/write.js';

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lake-trace-write-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Random records at the resolution each format keeps (ms to 3 decimals, us latencies, 100 ns for MSR). */
function randomRecords(format: TraceFormat, n: number, seed: number): TraceRecord[] {
  const random = new Random(seed);
  const records: TraceRecord[] = [];
  let ticks = 0;
  for (let i = 0; i < n; i++) {
    ticks += random.int(50000);
    const record: TraceRecord = {
      arrivalMs: 0,
      device: format === 'heimdall' ? 0 : random.int(4),
      offset: random.int(1 << 30) * 4096,
      size: (1 + random.int(256)) * 512,
      read: random.next() < 0.5,
    };
    switch (format) {
      case 'linnos-input':
        record.arrivalMs = random.next() * 1e6; // any double: written in shortest round-trip form
        break;
      case 'linnos-output':
      case 'heimdall':
        record.arrivalMs = ticks / 1000;
        record.latencyUs = random.int(100000);
        record.submitMs = (ticks + random.int(1000)) / 1000;
        break;
      case 'msr':
        record.arrivalMs = i === 0 ? 0 : ticks / 1e4;
        record.latencyUs = random.int(1000000) / 10;
        break;
    }
    records.push(record);
  }
  return records;
}

describe('round trip', () => {
  for (const format of traceFormats) {
    test(`${format}: write then read gives the same records`, async () => {
      const records = randomRecords(format, 2000, 42);
      const path = join(scratch, `${format}.trace`);
      const summary = await writeTrace(path, records, format);
      assert.deepEqual(summary, { file: path, format, records: records.length });
      const back = await readTraceAll(path);
      assert.equal(back.format, format);
      assert.deepEqual(back.records, records);
    });

    test(`${format}: an async source writes the same bytes as a sync one`, async () => {
      const records = randomRecords(format, 300, 7);
      async function* slowly(): AsyncGenerator<TraceRecord> {
        for (const r of records) yield r;
      }
      const a = join(scratch, `${format}.sync`);
      const b = join(scratch, `${format}.async`);
      await writeTrace(a, records, format);
      await writeTrace(b, slowly(), format);
      assert.ok((await readFile(a)).equals(await readFile(b)));
    });
  }

  test('linnos-input arrival times survive any double (shortest round-trip text)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: 0, max: 1e12, noNaN: true }), { minLength: 1, maxLength: 20 }),
        async (times) => {
          const records = times.map((arrivalMs) => ({
            arrivalMs,
            device: 0,
            offset: 0,
            size: 4096,
            read: true,
          }));
          const path = join(scratch, 'times.trace');
          await writeTrace(path, records, 'linnos-input');
          const back = await readTraceAll(path, { format: 'linnos-input' });
          assert.deepEqual(
            back.records.map((r) => r.arrivalMs),
            times.map((t) => (t === 0 ? 0 : t)),
          );
        },
      ),
      { numRuns: 50, seed: 1 },
    );
  });

  test('the MSR writer keeps filetimes exact beyond 2^53', async () => {
    const path = join(scratch, 'epoch.msr');
    await writeTrace(
      path,
      [
        { arrivalMs: 0, device: 1, offset: 0, size: 4096, read: true, latencyUs: 6.2 },
        { arrivalMs: 1234.5678, device: 1, offset: 4096, size: 4096, read: false, latencyUs: 10 },
      ],
      'msr',
      { hostname: 'hm' },
    );
    const text = await readFile(path, 'latin1');
    assert.equal(
      text,
      `${MSR_EPOCH_SECONDS}0000000,hm,1,Read,0,4096,62\n${MSR_EPOCH_SECONDS + 1}2345678,hm,1,Write,4096,4096,100\n`,
    );
  });
});

describe('atomic writes', () => {
  test('a bad record leaves the previous file untouched and no temporary file behind', async () => {
    const dir = await mkdtemp(join(scratch, 'atomic-'));
    const path = join(dir, 'out.trace');
    await writeFile(path, 'previous\n');
    const records: TraceRecord[] = [
      { arrivalMs: 0, device: 0, offset: 0, size: 4096, read: true },
      { arrivalMs: 1, device: 0, offset: 0, size: 0, read: true },
    ];
    await assert.rejects(writeTrace(path, records, 'linnos-input'), {
      code: 'LAKE_E_USAGE',
      message: /record 1: size/,
    });
    assert.equal(await readFile(path, 'latin1'), 'previous\n');
    assert.deepEqual(await readdir(dir), ['out.trace']);
  });

  test('a failing source leaves no file', async () => {
    const dir = await mkdtemp(join(scratch, 'atomic-'));
    const path = join(dir, 'out.trace');
    async function* failing(): AsyncGenerator<TraceRecord> {
      yield { arrivalMs: 0, device: 0, offset: 0, size: 4096, read: true };
      throw new Error('source broke');
    }
    await assert.rejects(writeTrace(path, failing(), 'linnos-input'), {
      code: 'LAKE_E_IO',
      message: /source broke/,
    });
    assert.deepEqual(await readdir(dir), []);
  });

  test('formats that record latency refuse records without it', async () => {
    const path = join(scratch, 'nolatency.trace');
    const record = { arrivalMs: 0, device: 0, offset: 0, size: 4096, read: true };
    for (const format of ['linnos-output', 'heimdall', 'msr'] as const) {
      await assert.rejects(writeTrace(path, [record], format), {
        code: 'LAKE_E_USAGE',
        message: /latencyUs is missing/,
      });
    }
  });

  test('a directory that does not exist is LAKE_E_IO', async () => {
    await assert.rejects(writeTrace(join(scratch, 'no', 'such', 'dir.trace'), [], 'heimdall'), {
      code: 'LAKE_E_IO',
    });
  });
});

describe('parseDecimal', () => {
  const parse = (text: string): number => {
    const bytes = Buffer.from(text, 'latin1');
    return parseDecimal(bytes, 0, bytes.length);
  };

  test('agrees with Number() on decimal text, bit for bit', () => {
    const decimal = fc
      .tuple(
        fc.constantFrom('', '-', '+'),
        fc.stringMatching(/^[0-9]{1,25}$/),
        fc.option(fc.stringMatching(/^[0-9]{0,25}$/)),
        fc.option(fc.integer({ min: -330, max: 330 })),
      )
      .map(
        ([sign, int, frac, exp]) =>
          `${sign}${int}${frac === null ? '' : `.${frac}`}${exp === null ? '' : `e${exp}`}`,
      );
    fc.assert(
      fc.property(decimal, (text) => Object.is(parse(text), Number(text))),
      { numRuns: 5000, seed: 7 },
    );
  });

  test('agrees with Number() on the shortest text of any double', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) =>
        Object.is(parse(String(x)), Number(String(x))),
      ),
      { numRuns: 5000, seed: 8 },
    );
  });

  test('rejects what is not a plain decimal', () => {
    for (const text of [
      '',
      '-',
      '.',
      '1e',
      '1e+',
      '0x10',
      '1_000',
      ' 1',
      '1 ',
      'NaN',
      'Infinity',
      '--1',
      '1.2.3',
      '١',
    ]) {
      assert.ok(Number.isNaN(parse(text)), text);
    }
  });
});
