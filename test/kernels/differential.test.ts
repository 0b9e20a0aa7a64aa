import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPredictor } from '../../src/kernels/create.js';
import type { Predictor } from '../../src/kernels/types.js';
import type { DenseModel } from '../../src/models/dense.js';
import { quantizeLinnos } from '../../src/models/linnos-integer.js';
import { floatForward, randomModel, realisticDigits, temp1Digits, uniformDigits } from './helpers.js';

/**
 * js vs wasm vs exact on seeded random models whose last bias puts half the vectors on each side of the
 * boundary (many near ties: the hard case). Tolerances, stated per backend against the float reference:
 * - js: logits within 1e-9 of an independent float64 forward pass (weights are float32, sums float64);
 * - wasm (int16): decisions agree on >= 99.9% of vectors for NN (the serving target), >= 99.5% for NN+1 and
 *   NN+2; logits within 2e-2 absolute;
 * - exact (LinnOS x1000 integers): decisions agree on >= 99% (the paper reports ~0.1% accuracy loss; our
 *   boundary-heavy vectors are harsher); its raw outputs equal an independent BigInt port bit for bit.
 */
/** name, layer sizes, vectors per input set, least wasm agreement, wasm logit tolerance. */
const shapes: [string, number[], number, number, number][] = [
  ['NN 31-256-2', [31, 256, 2], 6000, 0.999, 2e-2],
  ['NN+1 31-256-256-2', [31, 256, 256, 2], 2000, 0.995, 2e-2],
  ['NN+2 31-256-256-256-2', [31, 256, 256, 256, 2], 1000, 0.995, 5e-2],
  ['odd widths 31-100-2', [31, 100, 2], 3000, 0.999, 2e-2],
];

const inputSets: [string, (n: number) => Uint8Array][] = [
  ['realistic', (n) => realisticDigits(11, n)],
  ['uniform', (n) => uniformDigits(12, n)],
  ['fixtures temp1', (n) => temp1Digits().subarray(0, n * 31)],
];

function decisions(predictor: Predictor, xs: Uint8Array): Uint8Array {
  const n = xs.length / 31;
  const out = new Uint8Array(n);
  predictor.predictBatch(xs, n, out);
  return out;
}

function agreement(a: Uint8Array, b: Uint8Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

for (const [shapeName, sizes, vectors, wasmAgreement, wasmTolerance] of shapes) {
  describe(`backends agree: ${shapeName}`, () => {
    for (const [setName, makeInputs] of inputSets) {
      test(`${setName} vectors`, () => {
        const xs = makeInputs(vectors);
        const n = xs.length / 31;
        const model = randomModel(sizes.length * 101 + setName.length, sizes, xs.subarray(0, 500 * 31));
        const js = createPredictor(model, { backend: 'js' });
        const wasm = createPredictor(model, { backend: 'wasm' });
        const exact = createPredictor(model, { backend: 'exact' });
        const jsScores = new Float64Array(2 * n);
        js.scoresBatch(xs, n, jsScores);
        const reference = Uint8Array.from({ length: n }, (_, v) =>
          jsScores[2 * v + 1]! > jsScores[2 * v]! ? 1 : 0,
        );
        assert.deepEqual(decisions(js, xs.subarray(0, 100 * 31)), reference.subarray(0, 100));
        const slow = reference.reduce((sum, d) => sum + d, 0);
        assert.ok(slow > n * 0.2 && slow < n * 0.8, `both classes present: ${slow} of ${n} slow`);
        const wasmShare = agreement(reference, decisions(wasm, xs));
        assert.ok(wasmShare >= wasmAgreement, `wasm agrees on ${(wasmShare * 100).toFixed(3)}%`);
        const exactShare = agreement(reference, decisions(exact, xs));
        assert.ok(exactShare >= 0.99, `exact agrees on ${(exactShare * 100).toFixed(3)}%`);

        const wasmScores = new Float64Array(2 * n);
        wasm.scoresBatch(xs, n, wasmScores);
        let worst = 0;
        for (let i = 0; i < 2 * n; i++) worst = Math.max(worst, Math.abs(jsScores[i]! - wasmScores[i]!));
        assert.ok(worst <= wasmTolerance, `wasm logits within ${worst}`);
        for (let v = 0; v < n; v += 97) {
          const expected = floatForward(model, xs.subarray(v * 31, (v + 1) * 31));
          assert.ok(Math.abs(jsScores[2 * v]! - expected[0]!) < 1e-9);
          assert.ok(Math.abs(jsScores[2 * v + 1]! - expected[1]!) < 1e-9);
        }
        for (const p of [js, wasm, exact]) p.dispose();
      });
    }
  });
}

/** LinnOS's integer inference with C's 64-bit semantics, in BigInt (truncating division, as C's `/`). */
function bigIntForward(model: DenseModel, x: ArrayLike<number>): bigint[] {
  const integer = quantizeLinnos(model);
  let input = Array.from(x, (v) => BigInt(v));
  integer.layers.forEach((layer, l) => {
    const last = l === integer.layers.length - 1;
    const output: bigint[] = [];
    for (let o = 0; o < layer.outputs; o++) {
      let sum = BigInt(layer.bias[o]!);
      for (let i = 0; i < layer.inputs; i++) sum += input[i]! * BigInt(layer.weights[o * layer.inputs + i]!);
      if (last) output.push(sum);
      else {
        const relu = sum > 0n ? sum : 0n;
        output.push(l === 0 ? relu : relu / 1000n);
      }
    }
    input = output;
  });
  return input;
}

describe('exact backend equals a BigInt port of the C integer path', () => {
  // Weights scaled up so that sums are large (bounds ~1e11-1e14) and any double rounding would show.
  for (const [sizes, scale] of [
    [[31, 256, 2], 37],
    [[31, 256, 256, 2], 8],
    [[31, 64, 64, 64, 2], 3],
  ] as const) {
    test(sizes.join('-'), () => {
      const xs = realisticDigits(21, 120);
      const model = randomModel(sizes.length, [...sizes], xs);
      for (const layer of model.layers)
        for (let i = 0; i < layer.weights.length; i++) layer.weights[i]! *= scale;
      const exact = createPredictor(model, { backend: 'exact' });
      const raw = new Float64Array(2);
      for (let v = 0; v < 120; v++) {
        const x = xs.subarray(v * 31, (v + 1) * 31);
        exact.rawScores(x, raw);
        const expected = bigIntForward(model, x);
        assert.equal(BigInt(raw[0]!), expected[0]);
        assert.equal(BigInt(raw[1]!), expected[1]);
        assert.equal(exact.predict(x), expected[1]! > expected[0]! ? 1 : 0);
      }
      exact.dispose();
    });
  }
});
