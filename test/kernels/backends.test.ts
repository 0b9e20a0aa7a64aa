import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { createPredictor } from '../../src/kernels/create.js';
import type { Backend } from '../../src/kernels/types.js';
import type { DenseLayer, DenseModel } from '../../src/models/dense.js';
import { uniformDigits } from './helpers.js';

/**
 * Shared cases every backend must pass, on hand-built models whose answers are known exactly:
 * hidden unit j copies input j (identity weights), and class 1 scores input 0 against a bias of 4.5 on
 * class 0, so a vector is slow iff its first digit is 5 or more.
 */
const BACKENDS: Backend[] = ['js', 'exact', 'wasm'];

function identity(width: number): DenseLayer {
  const weights = new Float32Array(width * width);
  for (let j = 0; j < width; j++) weights[j * width + j] = 1;
  return { inputs: width, outputs: width, weights, bias: new Float32Array(width) };
}

function firstDigitModel(extraHidden: number): DenseModel {
  const output = { inputs: 31, outputs: 2, weights: new Float32Array(62), bias: Float32Array.from([4.5, 0]) };
  output.weights[31] = 1; // class 1 <- hidden unit 0
  return { layers: [identity(31), ...Array.from({ length: extraHidden }, () => identity(31)), output] };
}

const expectedDecision = (x: ArrayLike<number>): number => (x[0]! >= 5 ? 1 : 0);

for (const backend of BACKENDS) {
  describe(`${backend} backend`, () => {
    for (const extra of [0, 1, 2]) {
      test(`slow iff the first digit is >= 5 (${extra} extra hidden layers)`, () => {
        const predictor = createPredictor(firstDigitModel(extra), { backend });
        const xs = uniformDigits(extra + 1, 200);
        for (let v = 0; v < 200; v++) {
          const x = xs.subarray(v * 31, (v + 1) * 31);
          assert.equal(predictor.predict(x), expectedDecision(x), `vector ${v}`);
        }
        predictor.dispose();
      });
    }

    test('scores are the logits: (4.5, first digit)', () => {
      const predictor = createPredictor(firstDigitModel(0), { backend });
      const x = new Uint8Array(31).fill(3);
      x[0] = 7;
      const scores = new Float64Array(2);
      predictor.scores(x, scores);
      assert.ok(Math.abs(scores[0]! - 4.5) < 1e-3, `class 0: ${scores[0]}`);
      assert.ok(Math.abs(scores[1]! - 7) < 1e-3, `class 1: ${scores[1]}`);
      const raw = new Float64Array(2);
      predictor.rawScores(x, raw);
      assert.ok(Math.abs(raw[1]! / predictor.rawScale - 7) < 1e-3);
      predictor.dispose();
    });

    test('a tie is fast', () => {
      const model: DenseModel = {
        layers: [
          { inputs: 31, outputs: 8, weights: new Float32Array(248).fill(0.25), bias: new Float32Array(8) },
          {
            inputs: 8,
            outputs: 2,
            weights: new Float32Array(16).fill(0.5),
            bias: Float32Array.from([0.125, 0.125]),
          },
        ],
      };
      const predictor = createPredictor(model, { backend });
      const xs = uniformDigits(9, 50);
      const out = new Uint8Array(50);
      predictor.predictBatch(xs, 50, out);
      assert.deepEqual([...out], new Array(50).fill(0));
      predictor.dispose();
    });

    test('batch results equal one-by-one results, for every input array type', () => {
      const predictor = createPredictor(firstDigitModel(1), { backend });
      const n = 300;
      const bytes = uniformDigits(4, n);
      const single = Uint8Array.from({ length: n }, (_, v) =>
        predictor.predict(bytes.subarray(v * 31, (v + 1) * 31)),
      );
      for (const xs of [bytes, Int32Array.from(bytes), Float32Array.from(bytes), Array.from(bytes)]) {
        const out = new Uint8Array(n);
        predictor.predictBatch(xs, n, out);
        assert.deepEqual(out, single);
      }
      const scores = new Float64Array(2 * n);
      predictor.scoresBatch(bytes, n, scores);
      for (let v = 0; v < n; v++) assert.equal(scores[2 * v + 1]! > scores[2 * v]! ? 1 : 0, single[v]);
      predictor.dispose();
    });

    test('a value that is not a digit 0-9 is refused with its position', () => {
      const predictor = createPredictor(firstDigitModel(0), { backend });
      const good = new Uint8Array(31).fill(1);
      for (const [position, value] of [
        [0, 10],
        [30, 255],
        [7, -1],
        [12, 2.5],
        [3, Number.NaN],
      ] as const) {
        const bad = Float64Array.from(good);
        bad[position] = value;
        assert.throws(
          () => predictor.predict(bad),
          (error: unknown) =>
            error instanceof LakeError &&
            error.code === 'LAKE_E_USAGE' &&
            error.message.includes(`input ${position}`),
        );
      }
      const tooBig = Uint8Array.from(good);
      tooBig[30] = 10;
      assert.throws(() => predictor.predict(tooBig), /input 30 is 10, not a digit/);
      const batch = new Uint8Array(31 * 3).fill(2);
      batch[31 * 2 + 5] = 12;
      assert.throws(() => predictor.predictBatch(batch, 3, new Uint8Array(3)), /vector 2, input 5 is 12/);
      predictor.dispose();
    });

    test('wrong lengths are refused', () => {
      const predictor = createPredictor(firstDigitModel(0), { backend });
      assert.throws(() => predictor.predict(new Uint8Array(30)), /must hold 31 values, got 30/);
      assert.throws(
        () => predictor.predictBatch(new Uint8Array(31), 2, new Uint8Array(2)),
        /needs 62 values/,
      );
      assert.throws(() => predictor.predictBatch(new Uint8Array(62), 2, new Uint8Array(1)), /needs 2 slots/);
      assert.throws(() => predictor.scores(new Uint8Array(31), new Float64Array(1)), /scores need 2 slots/);
      predictor.dispose();
    });

    test('used after dispose: every call throws a clear error', () => {
      const predictor = createPredictor(firstDigitModel(0), { backend });
      predictor.dispose();
      predictor.dispose();
      assert.equal(predictor.disposed, true);
      const x = new Uint8Array(31);
      for (const call of [
        () => predictor.predict(x),
        () => predictor.scores(x, new Float64Array(2)),
        () => predictor.rawScores(x, new Float64Array(2)),
        () => predictor.predictBatch(x, 1, new Uint8Array(1)),
        () => predictor.scoresBatch(x, 1, new Float64Array(2)),
      ]) {
        assert.throws(
          call,
          (error: unknown) => error instanceof LakeError && /used after dispose/.test(error.message),
        );
      }
    });

    test('an empty batch does nothing', () => {
      const predictor = createPredictor(firstDigitModel(0), { backend });
      predictor.predictBatch(new Uint8Array(0), 0, new Uint8Array(0));
      predictor.dispose();
    });
  });
}
