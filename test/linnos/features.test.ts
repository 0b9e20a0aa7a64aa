import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DeviceState, pagesOf } from '../../src/array/device-state.js';
import {
  decodeLinnosVector,
  encodeLinnosVector,
  LINNOS_FEATURES,
  linnosFeatures,
  writeDigits,
} from '../../src/linnos/features.js';
import { readFixtureText } from '../helpers/fixtures.js';

/** The 26 rows of ml_test.h's test_input. */
function mlTestRows(): number[][] {
  const text = readFixtureText('linnos/ml_test.h');
  return [...text.matchAll(/\{([0-9,]+)\}/g)].map((m) => m[1]!.split(',').map(Number));
}

/** A device whose last completed reads had these pending-at-issue and latencies (oldest first). */
function deviceWithHistory(pending: number[], latency: number[]): DeviceState {
  const state = new DeviceState(0);
  for (let k = 0; k < pending.length; k++) {
    state.submit(4096);
    state.complete(true, 4096, pending[k]!, latency[k]!, 1000 * (k + 1));
  }
  return state;
}

describe('writeDigits', () => {
  test('zero-pads, rounds down and caps', () => {
    const out = new Uint8Array(4);
    writeDigits(7, 3, 999, out, 0);
    assert.deepEqual([...out.subarray(0, 3)], [0, 0, 7]);
    writeDigits(1234.9, 4, 9999, out, 0);
    assert.deepEqual([...out], [1, 2, 3, 4]);
    writeDigits(12000, 4, 9999, out, 0);
    assert.deepEqual([...out], [9, 9, 9, 9]);
    writeDigits(-3, 4, 9999, out, 0);
    assert.deepEqual([...out], [0, 0, 0, 0]);
    writeDigits(Number.NaN, 4, 9999, out, 0);
    assert.deepEqual([...out], [0, 0, 0, 0]);
  });
});

describe('linnosFeatures', () => {
  test('returns false and writes nothing before 4 reads have completed', () => {
    const state = deviceWithHistory([1, 2, 3], [10, 20, 30]);
    const out = new Uint8Array(LINNOS_FEATURES).fill(7);
    assert.equal(linnosFeatures(state, 4096, out), false);
    assert.ok(out.every((d) => d === 7));
    // writes do not count as completed reads
    state.submit(4096);
    state.complete(false, 4096, 1, 50, 9000);
    assert.equal(linnosFeatures(state, 4096, out), false);
  });

  test('reproduces ml_test.h row 4 (pendings 574,542,510,510, now 321, latencies 7308,7460,7553,9999)', () => {
    const row = mlTestRows()[4]!;
    const state = deviceWithHistory([574, 542, 510, 510], [7308, 7460, 7553, 12000]);
    // 320 pages in flight now; the arriving 4 KiB read makes pend_now 321.
    state.submit(320 * 4096);
    const out = new Uint8Array(LINNOS_FEATURES);
    assert.equal(linnosFeatures(state, 4096, out), true);
    assert.deepEqual([...out], row);
    assert.deepEqual(decodeLinnosVector(out), [574, 542, 510, 510, 321, 7308, 7460, 7553, 9999]);
  });

  test('oldest first; only the last four completed reads; latency rounded down; pending capped', () => {
    const state = deviceWithHistory([5, 1500, 2, 3, 4], [100.9, 2000.99, 30.5, 40, 50.2]);
    const out = new Int32Array(LINNOS_FEATURES + 5);
    assert.equal(linnosFeatures(state, 0, out, 5), true);
    assert.deepEqual([...out.subarray(0, 5)], [0, 0, 0, 0, 0]);
    assert.deepEqual(decodeLinnosVector(out, 5), [999, 2, 3, 4, 0, 2000, 30, 40, 50]);
  });

  test('pend_now counts the arriving I/O (the caller calls before submitting it)', () => {
    const state = deviceWithHistory([1, 1, 1, 1], [1, 1, 1, 1]);
    state.submit(8192); // 2 pages in flight
    const out = new Uint8Array(LINNOS_FEATURES);
    linnosFeatures(state, 64 * 1024, out);
    assert.equal(decodeLinnosVector(out)[4], 2 + pagesOf(64 * 1024));
    assert.equal(decodeLinnosVector(out)[4], 18);
    // 512 bytes is one page, as LinnOS counts: floor((1 + 7) / 8)
    linnosFeatures(state, 512, out);
    assert.equal(decodeLinnosVector(out)[4], 3);
    state.submit(4096 * 2000);
    linnosFeatures(state, 4096, out);
    assert.equal(decodeLinnosVector(out)[4], 999);
  });

  test('encodeLinnosVector matches linnosFeatures for the same values', () => {
    const state = deviceWithHistory([12, 345, 6, 78], [9, 87, 654, 3210]);
    state.submit(4096 * 41);
    const online = new Uint8Array(LINNOS_FEATURES);
    linnosFeatures(state, 4096, online);
    const encoded = new Uint8Array(LINNOS_FEATURES);
    encodeLinnosVector(12, 345, 6, 78, 42, 9, 87, 654, 3210, encoded);
    assert.deepEqual([...online], [...encoded]);
  });
});
