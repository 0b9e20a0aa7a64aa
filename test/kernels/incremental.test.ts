import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { LakeError } from '../../src/errors.js';
import { createPredictor } from '../../src/kernels/create.js';
import {
  createIncrementalPredictor,
  type IncrementalBackend,
  type IncrementalPredictor,
} from '../../src/kernels/incremental.js';
import type { Backend, Predictor } from '../../src/kernels/types.js';
import type { DenseModel } from '../../src/models/dense.js';
import { parseLinnosHeader, parseTestVectors } from '../../src/models/linnos-header.js';
import type { LinnosIntegerModel } from '../../src/models/linnos-integer.js';
import { readFixtureText } from '../helpers/fixtures.js';
import { randomModel, realisticDigits, temp1Digits, uniformDigits } from './helpers.js';

/**
 * The incremental predictors against the full forward, raw output for raw output (not decisions within a
 * tolerance): exact against the full exact backend, wasm and int16-js against the full wasm backend.
 */
const PEND_NOW = [12, 13, 14];
const BACKENDS: [IncrementalBackend, Backend][] = [
  ['exact', 'exact'],
  ['wasm', 'wasm'],
  ['int16-js', 'wasm'],
];

/** The full predictor's and the incremental one's raw outputs for every vector; the first difference, or ''. */
function firstDifference(
  full: Predictor,
  incremental: IncrementalPredictor,
  xs: Uint8Array,
  submitPositions: readonly number[],
  context = 0,
): string {
  const inputs = full.inputs;
  const expected = new Float64Array(2);
  const actual = new Float64Array(2);
  const submit = new Uint8Array(submitPositions.length);
  for (let v = 0; v < xs.length / inputs; v++) {
    const x = xs.subarray(v * inputs, (v + 1) * inputs);
    full.rawScores(x, expected);
    incremental.setContext(context, x);
    submitPositions.forEach((position, s) => {
      submit[s] = x[position]!;
    });
    incremental.rawScores(context, submit, actual);
    const decision = incremental.predict(context, submit);
    const byArguments =
      submit.length > 3
        ? decision
        : incremental.predictDigits(context, submit[0]!, submit[1] ?? 0, submit[2] ?? 0);
    if (
      actual[0] !== expected[0] ||
      actual[1] !== expected[1] ||
      decision !== full.predict(x) ||
      byArguments !== decision
    ) {
      return `vector ${v}: full (${expected.join(', ')}), incremental (${actual.join(', ')})`;
    }
  }
  return '';
}

function checkAll(model: DenseModel | LinnosIntegerModel, xs: Uint8Array, positions = PEND_NOW): void {
  for (const [backend, fullBackend] of BACKENDS) {
    const full = createPredictor(model, { backend: fullBackend });
    const incremental = createIncrementalPredictor(model, { backend, submitPositions: positions });
    assert.equal(incremental.rawScale, full.rawScale);
    assert.equal(firstDifference(full, incremental, xs, positions), '', backend);
    full.dispose();
    incremental.dispose();
  }
}

describe('incremental inference equals the full forward on the LinnOS artifact fixtures', () => {
  const vectors = parseTestVectors(readFixtureText('linnos/ml_test.h'), 'ml_test.h').vectors;
  const temp1 = temp1Digits();
  for (const file of ['w_sde.h', 'w_sdf.h', 'weights.h']) {
    test(`${file}: ml_test.h's 26 vectors and temp1's ${temp1.length / 31}`, () => {
      const header = parseLinnosHeader(readFixtureText(`linnos/${file}`), file);
      checkAll(header.model, vectors);
      checkAll(header.model, temp1);
    });
  }

  test('the README check values hold on the incremental exact path', () => {
    const header = parseLinnosHeader(readFixtureText('linnos/w_sde.h'), 'w_sde.h');
    const incremental = createIncrementalPredictor(header.model, {
      backend: 'exact',
      submitPositions: PEND_NOW,
    });
    incremental.setContext(0, vectors.subarray(0, 31));
    const raw = new Float64Array(2);
    incremental.rawScores(0, vectors.subarray(12, 15), raw);
    assert.deepEqual([...raw], [-384, -3083901]);
  });
});

describe('incremental inference equals the full forward on seeded random models', () => {
  const shapes: [string, number[], number][] = [
    ['NN 31-256-2', [31, 256, 2], 3000],
    ['NN+1 31-256-256-2', [31, 256, 256, 2], 600],
    ['NN+2 31-256-256-256-2', [31, 256, 256, 256, 2], 300],
    ['odd widths 31-100-2', [31, 100, 2], 1000],
  ];
  for (const [name, sizes, count] of shapes) {
    test(name, () => {
      const realistic = realisticDigits(21, count);
      const model = randomModel(sizes.length * 7, sizes, realistic.subarray(0, 300 * 31));
      checkAll(model, realistic);
      checkAll(model, uniformDigits(22, count));
    });
  }

  test('contexts with no, one, an odd and an even number of nonzero digits (wasm sums only those)', () => {
    const xs = uniformDigits(24, 64);
    const model = randomModel(6, [31, 256, 2], xs);
    const sparse = new Uint8Array(8 * 31);
    // Vector 0: all zeros; then 1, 2, 3 and 30 nonzero digits; then every digit nonzero; the last two
    // with nonzero digits only in the submit positions, or only at the first and last position.
    const nonzero = [[], [7], [0, 30], [1, 15, 29], Array.from({ length: 30 }, (_, i) => i)];
    nonzero.forEach((positions, v) => {
      for (const i of positions) sparse[v * 31 + i] = 1 + ((v + i) % 9);
    });
    sparse.fill(9, 5 * 31, 6 * 31);
    for (const i of PEND_NOW) sparse[6 * 31 + i] = 4;
    sparse[7 * 31] = 3;
    sparse[7 * 31 + 30] = 8;
    checkAll(model, sparse);
  });

  test('any submit positions, one to three of them (wasm takes at most three)', () => {
    const xs = uniformDigits(23, 400);
    const model = randomModel(5, [31, 64, 2], xs);
    for (const positions of [[0], [30, 2], [5, 17, 29]]) checkAll(model, xs, positions);
    const exact = createPredictor(model, { backend: 'exact' });
    const positions = [0, 3, 9, 12, 13, 14, 30];
    const incremental = createIncrementalPredictor(model, { backend: 'exact', submitPositions: positions });
    assert.equal(firstDifference(exact, incremental, xs, positions), '');
    assert.throws(() => incremental.predictDigits(0, 1, 2, 3), /takes 3 digits; this predictor has 7/);
  });
});

/** One completed read's 7 history digits (3 pending, 4 latency) and a submit's 3 pend_now digits. */
const digits = (length: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: length, maxLength: length });
const step = fc.oneof(
  fc.record({ kind: fc.constant('complete' as const), device: fc.nat(2), pend: digits(3), lat: digits(4) }),
  fc.record({ kind: fc.constant('submit' as const), device: fc.nat(2), now: digits(3) }),
);

/** The 31-digit LinnOS vector of a device whose last four completions are `history` (oldest first). */
function vectorOf(history: number[][], now: number[]): Uint8Array {
  const x = new Uint8Array(31);
  history.forEach((digitsOfRead, slot) => {
    x.set(digitsOfRead.slice(0, 3), slot * 3);
    x.set(digitsOfRead.slice(3), 15 + slot * 4);
  });
  x.set(now, 12);
  return x;
}

describe('property: completions and submits interleaved over three devices', () => {
  for (const [backend, fullBackend] of BACKENDS) {
    test(`${backend} equals the full ${fullBackend} forward after every step`, () => {
      const model = randomModel(77, [31, 256, 2], realisticDigits(78, 300));
      const full = createPredictor(model, { backend: fullBackend });
      const incremental = createIncrementalPredictor(model, {
        backend,
        submitPositions: PEND_NOW,
        contexts: 3,
      });
      const expected = new Float64Array(2);
      const actual = new Float64Array(2);
      fc.assert(
        fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
          // Contexts persist across runs; each run starts every device from four zero completions.
          const histories = [0, 1, 2].map(() => [0, 1, 2, 3].map(() => [0, 0, 0, 0, 0, 0, 0]));
          for (let d = 0; d < 3; d++) incremental.setContext(d, vectorOf(histories[d]!, [0, 0, 0]));
          for (const s of steps) {
            const history = histories[s.device]!;
            if (s.kind === 'complete') {
              history.shift();
              history.push([...s.pend, ...s.lat]);
              incremental.setContext(s.device, vectorOf(history, [9, 9, 9]));
              continue;
            }
            full.rawScores(vectorOf(history, s.now), expected);
            incremental.rawScores(s.device, s.now, actual);
            if (actual[0] !== expected[0] || actual[1] !== expected[1]) return false;
          }
          return true;
        }),
        { seed: 1414, numRuns: 150 },
      );
      full.dispose();
      incremental.dispose();
    });
  }
});

describe('incremental predictors refuse bad use with coded errors', () => {
  const model = randomModel(3, [31, 32, 2]);
  for (const [backend] of BACKENDS) {
    test(backend, () => {
      const p = createIncrementalPredictor(model, { backend, submitPositions: PEND_NOW, contexts: 2 });
      const usage = (f: () => unknown, pattern: RegExp) =>
        assert.throws(
          f,
          (e: unknown) => e instanceof LakeError && e.code === 'LAKE_E_USAGE' && pattern.test(e.message),
        );
      usage(() => p.predict(2, [1, 2, 3]), /context 2 is not one of 0\.\.1/);
      usage(() => p.predict(-1, [1, 2, 3]), /context -1/);
      usage(() => p.predict(0, [1, 2]), /takes 3 digits, got 2/);
      usage(() => p.predict(0, [1, 10, 3]), /submit digit 1 is 10/);
      usage(() => p.predictDigits(0, 1, 2, 3.5), /submit digit 2 is 3.5/);
      usage(() => p.predictDigits(0, -1, 2, 3), /submit digit 0 is -1/);
      usage(() => p.predictDigits(5, 1, 2, 3), /context 5 is not one of 0\.\.1/);
      const bad = new Uint8Array(31);
      bad[20] = 11;
      usage(() => p.setContext(0, bad), /input 20 is 11/);
      usage(() => p.setContext(0, new Uint8Array(30)), /31 values, got 30/);
      // A digit out of range at a submit position is ignored by setContext: the submit step supplies it.
      bad[20] = 0;
      bad[13] = 42;
      p.setContext(1, bad);
      p.dispose();
      p.dispose();
      assert.equal(p.disposed, true);
      usage(() => p.predict(0, [1, 2, 3]), /after dispose/);
      usage(() => p.predictDigits(0, 1, 2, 3), /after dispose/);
    });
  }

  test('options are checked', () => {
    const usage = (options: object, pattern: RegExp) =>
      assert.throws(
        () => createIncrementalPredictor(model, { submitPositions: PEND_NOW, ...options }),
        (e: unknown) => e instanceof LakeError && e.code === 'LAKE_E_USAGE' && pattern.test(e.message),
      );
    usage({ backend: 'gpu' }, /backend must be one of/);
    usage({ contexts: 0 }, /contexts must be an integer/);
    usage({ submitPositions: [] }, /1 to 3 positions/);
    usage({ submitPositions: [1, 2, 3, 4], backend: 'wasm' }, /1 to 3 positions for wasm/);
    usage({ submitPositions: [31] }, /not an input of 0\.\.30/);
    usage({ submitPositions: [4, 4] }, /repeat/);
    assert.equal(
      createIncrementalPredictor(model, { submitPositions: [1, 2, 3, 4], backend: 'exact' }).contexts,
      1,
    );
  });
});
