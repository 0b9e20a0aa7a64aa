import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { LakeError, TraceParseError } from '../../src/errors.js';
import { decodeLinnosVector, LINNOS_FEATURES } from '../../src/linnos/features.js';
import { parseLinnosVectors, readLinnosVectors, writeLinnosVectors } from '../../src/linnos/vector-file.js';
import { fixturePath, readFixtureText } from '../helpers/fixtures.js';

const temp1 = fixturePath('linnos/temp1');

function digitsOf(vectors: Uint8Array, row: number): string {
  return [...vectors.subarray(row * LINNOS_FEATURES, (row + 1) * LINNOS_FEATURES)].join('');
}

describe('LinnOS raw vectors (temp1)', () => {
  const file = readLinnosVectors(temp1);

  test('7804 vectors with their label latency', () => {
    assert.equal(file.format, 'raw');
    assert.equal(file.dataset.count, 7804);
    assert.equal(file.dataset.vectors.length, 7804 * LINNOS_FEATURES);
    assert.equal(file.dataset.latencyUs[0], 8859);
    assert.equal(
      file.dataset.latencyUs[7803],
      Number(readFixtureText('linnos/temp1').trim().split('\n').at(-1)!.split(',')[9]),
    );
    assert.deepEqual([...file.dataset.index.subarray(0, 3)], [0, 1, 2]);
  });

  test('caps pending at 999 and latency at 9999, zero-padded', () => {
    // line 1: 2085,79,2235,2124,2577,3829,9049,2675,3313,8859
    assert.equal(
      digitsOf(file.dataset.vectors, 0),
      '999' + '079' + '999' + '999' + '999' + '3829904926753313',
    );
    assert.deepEqual(
      decodeLinnosVector(file.dataset.vectors, 0),
      [999, 79, 999, 999, 999, 3829, 9049, 2675, 3313],
    );
    // every row decodes to its capped raw values
    const lines = readFixtureText('linnos/temp1').trim().split('\n');
    for (const row of [1, 2, 100, 5000, 7803]) {
      const raw = lines[row]!.split(',').map(Number);
      const want = raw.slice(0, 9).map((v, k) => Math.min(v, k < 5 ? 999 : 9999));
      assert.deepEqual(decodeLinnosVector(file.dataset.vectors, row * LINNOS_FEATURES), want, `row ${row}`);
    }
  });
});

describe('parseLinnosVectors errors', () => {
  const bad = (text: string, check: (e: TraceParseError) => void): void => {
    assert.throws(
      () => parseLinnosVectors(text, 'v.csv'),
      (e: unknown) => {
        assert.ok(e instanceof TraceParseError, String(e));
        check(e);
        return true;
      },
    );
  };

  test('name file, line and field', () => {
    bad('1,2,3,4,5,6,7,8,9,10\n1,2,3,x,5,6,7,8,9,10\n', (e) => {
      assert.equal(e.file, 'v.csv');
      assert.equal(e.line, 2);
      assert.equal(e.field, 'pend_h1');
      assert.match(e.message, /^v\.csv:2: field pend_h1: "x" is not an integer/);
    });
    bad('1,2,3,4,5,6,7,8,9,10\n1,2,3,4,5,6,7,8,-9,10\n', (e) => assert.equal(e.field, 'lat_h1'));
    bad('1,2,3,4,5,6,7,8,9,10\n1,2,3,4,5,6,7,8,9\n', (e) => assert.equal(e.line, 2));
    bad(`${'0,'.repeat(31)}12.5\n${'0,'.repeat(30)}10,12\n`, (e) => {
      assert.equal(e.field, 'd30');
      assert.match(e.message, /not a digit/);
    });
    bad('device,index\n', (e) => assert.equal(e.field, 'header'));
  });

  test('an unknown column count is a format error', () => {
    assert.throws(
      () => parseLinnosVectors('1,2,3\n', 'v.csv'),
      (e: unknown) =>
        e instanceof LakeError && e.code === 'LAKE_E_TRACE_FORMAT' && /v\.csv:1/.test(e.message),
    );
  });

  test('a missing file is an I/O error', () => {
    assert.throws(
      () => readLinnosVectors('/nonexistent/vectors.csv'),
      (e: unknown) => e instanceof LakeError && e.code === 'LAKE_E_IO',
    );
  });
});

describe('lake vector files', () => {
  test('write then read gives the same devices, indices, digits and latencies; written atomically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lake-vectors-'));
    try {
      const vectors = new Uint8Array(2 * LINNOS_FEATURES).map((_, i) => i % 10);
      const path = join(dir, 'v.csv');
      const rows = await writeLinnosVectors(path, [
        {
          device: 0,
          count: 1,
          vectors: vectors.slice(0, 31),
          latencyUs: Float64Array.of(12.5),
          index: Int32Array.of(7),
        },
        {
          device: 2,
          count: 1,
          vectors: vectors.slice(31),
          latencyUs: Float64Array.of(900),
          index: Int32Array.of(3),
        },
      ]);
      assert.equal(rows, 2);
      assert.deepEqual(readdirSync(dir), ['v.csv']);
      const back = readLinnosVectors(path);
      assert.equal(back.format, 'lake');
      assert.deepEqual([...back.device], [0, 2]);
      assert.deepEqual([...back.dataset.index], [7, 3]);
      assert.deepEqual([...back.dataset.latencyUs], [12.5, 900]);
      assert.deepEqual([...back.dataset.vectors], [...vectors]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('31 digits + latency without a header', () => {
    const file = parseLinnosVectors(`${'1,'.repeat(31)}250.5\n\n${'0,'.repeat(31)}7\n`, 'd.csv');
    assert.equal(file.format, 'digits');
    assert.equal(file.dataset.count, 2);
    assert.deepEqual([...file.dataset.latencyUs], [250.5, 7]);
    assert.equal(digitsOf(file.dataset.vectors, 0), '1'.repeat(31));
  });
});
