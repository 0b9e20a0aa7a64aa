import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { shuffle, trainBatches } from '../../src/learn/fit.js';
import { lossGradient, Mlp } from '../../src/learn/mlp.js';
import { type MlpTrainOptions, mlpLogit, trainSigmoidMlp } from '../../src/learn/sigmoid-mlp.js';
import { Random } from '../../src/random.js';

/** count x width float rows in [0, 1), about 30% exact zeros (min-max scaled features have many). */
function floatRows(count: number, width: number, seed: number): Float64Array {
  const random = new Random(seed);
  const x = new Float64Array(count * width);
  for (let i = 0; i < x.length; i++) x[i] = random.next() < 0.3 ? 0 : random.next();
  return x;
}

/** The data set Heimdall's trainer was fingerprinted on before it ran on the shared stack. */
function heimdallLike(): { x: Float64Array; y: Uint8Array } {
  const r = new Random(9);
  const n = 3000;
  const w = 11;
  const x = new Float64Array(n * w);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < w; j++) {
      const v = r.next() < 0.3 ? 0 : r.next();
      x[i * w + j] = v;
      s += v * ((j % 3) - 1);
    }
    y[i] = s + 0.3 * r.normal() > 0.2 ? 1 : 0;
  }
  return { x, y };
}

describe('the sigmoid head', () => {
  for (const sizes of [
    [5, 1],
    [5, 8, 1],
    [5, 6, 4, 1],
  ]) {
    test(`[${sizes.join(', ')}] gradients on float rows match finite differences`, () => {
      const net = new Mlp(sizes, new Random(2), 1, 'glorot-uniform');
      const x = floatRows(4, sizes[0]!, 3);
      const lossAt = (row: Float64Array, label: number): number =>
        lossGradient(net.forward(row, 0), label, 0, 'sigmoid-xent', new Float64Array(1));
      let checked = 0;
      for (let s = 0; s < 4; s++) {
        const row = x.slice(s * sizes[0]!, (s + 1) * sizes[0]!);
        const label = s % 2;
        net.zeroGradients();
        net.accumulate(row, 0, label, 1, 'sigmoid-xent');
        for (let l = 0; l < net.weights.length; l++) {
          for (const [params, grads] of [
            [net.weights[l]!, net.gradWeights[l]!],
            [net.biases[l]!, net.gradBiases[l]!],
          ] as const) {
            for (let k = 0; k < params.length; k++) {
              const saved = params[k]!;
              const h = 1e-6;
              params[k] = saved + h;
              const up = lossAt(row, label);
              params[k] = saved - h;
              const down = lossAt(row, label);
              params[k] = saved;
              const numeric = (up - down) / (2 * h);
              assert.ok(
                Math.abs(numeric - grads[k]!) <= 1e-6 * Math.max(1, Math.abs(numeric)),
                `layer ${l} param ${k}: numeric ${numeric} vs analytic ${grads[k]}`,
              );
              checked++;
            }
          }
        }
      }
      assert.ok(checked > 0);
    });
  }

  test('loss and gradient of one logit: binary cross-entropy, scale x (sigmoid(z) - y)', () => {
    const g = new Float64Array(1);
    const loss = lossGradient([0.5], 1, 2, 'sigmoid-xent', g);
    assert.ok(Math.abs(loss - Math.log(1 + Math.exp(-0.5))) < 1e-15);
    assert.ok(Math.abs(g[0]! - 2 * (1 / (1 + Math.exp(-0.5)) - 1)) < 1e-15);
  });
});

describe('one stack, two kinds of input', () => {
  test('a float row holding digits gives the bits the digit vector gives, forward and backward', () => {
    const sizes = [31, 24, 12, 2];
    const digitsNet = new Mlp(sizes, new Random(5));
    const floatNet = new Mlp(sizes, new Random(5));
    const random = new Random(6);
    const digits = Uint8Array.from({ length: 31 * 8 }, () => (random.next() < 0.5 ? 0 : random.int(10)));
    const floats = Float64Array.from(digits);
    digitsNet.zeroGradients();
    floatNet.zeroGradients();
    for (let s = 0; s < 8; s++) {
      assert.deepEqual([...floatNet.forward(floats, s * 31)], [...digitsNet.forward(digits, s * 31)]);
      const a = digitsNet.accumulate(digits, s * 31, s % 2, 0.25, 'xent');
      const b = floatNet.accumulate(floats, s * 31, s % 2, 0.25, 'xent');
      assert.equal(b, a);
    }
    for (let l = 0; l < 3; l++) {
      assert.deepEqual(floatNet.gradWeights[l], digitsNet.gradWeights[l]);
      assert.deepEqual(floatNet.gradBiases[l], digitsNet.gradBiases[l]);
    }
  });

  test('the row-major export serves, by the dense dot product, the very logits the network computes', () => {
    const net = new Mlp([11, 16, 8, 1], new Random(7), 1, 'glorot-uniform');
    // Train a little so the biases are not all zero.
    const x = floatRows(200, 11, 8);
    const y = Uint8Array.from({ length: 200 }, (_, i) => (x[i * 11]! > 0.5 ? 1 : 0));
    const rows = Int32Array.from({ length: 200 }, (_, i) => i);
    const options = {
      loss: 'sigmoid-xent',
      batchSize: 16,
      classWeight: [1, 2],
      learningRate: 1e-2,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-7,
    } as const;
    trainBatches(net, x, y, rows, options);
    const model = net.toRowMajor();
    assert.deepEqual(model.sizes, [11, 16, 8, 1]);
    for (let r = 0; r < 200; r++) assert.equal(mlpLogit(model, x, r * 11), net.forward(x, r * 11)[0]);
  });

  test('glorot-uniform draws in [outputs][inputs] order, within +-sqrt(6 / (fan_in + fan_out))', () => {
    const net = new Mlp([3, 4, 1], new Random(11), 1, 'glorot-uniform');
    const random = new Random(11);
    const limit = Math.sqrt(6 / 7);
    for (let o = 0; o < 4; o++) {
      for (let i = 0; i < 3; i++) assert.equal(net.weights[0]![i * 4 + o], (2 * random.next() - 1) * limit);
    }
    for (const w of net.weights[1]!) assert.ok(Math.abs(w) <= Math.sqrt(6 / 5));
    assert.deepEqual([...net.biases[0]!], [0, 0, 0, 0]);
  });
});

describe("Heimdall's trainer on the stack", () => {
  // Fingerprints of the weights and loss history that trainSigmoidMlp gave before it ran on the shared
  // stack (its own loops, commit 9cc14e5): the same floats in the same order must give the same bits.
  const before: [MlpTrainOptions, string][] = [
    [{ hidden: [32], slowWeight: 3, batchSize: 7, epochs: 3 }, '1304a75fd6befa0c'],
    [{ hidden: [16, 8, 4], epochs: 4 }, '9d4a9dec2205a675'],
  ];
  const { x, y } = heimdallLike();
  for (const [options, fingerprint] of before) {
    test(`${JSON.stringify(options)} gives the same model, bit for bit`, () => {
      const fit = trainSigmoidMlp(x, y, 11, options);
      const hash = createHash('sha256');
      for (const a of [...fit.model.weights, ...fit.model.biases])
        hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      hash.update(JSON.stringify([fit.trainLoss, fit.validationLoss, fit.trainCount, fit.validationCount]));
      assert.equal(hash.digest('hex').slice(0, 16), fingerprint);
    });
  }

  test('bad options are refused naming the field and the value', () => {
    const usage = (pattern: RegExp) => (e: unknown) =>
      e instanceof LakeError && e.code === 'LAKE_E_USAGE' && pattern.test(e.message);
    assert.throws(
      () => trainSigmoidMlp(x, y, 11, { epochs: 0 }),
      usage(/^trainSigmoidMlp: epochs must be a positive integer, got 0$/),
    );
    assert.throws(
      () => trainSigmoidMlp(x, y, 11, { hidden: [8, 2.5] }),
      usage(/hidden width \(of \[8, 2\.5\]\) must be a positive integer, got 2\.5/),
    );
    assert.throws(
      () => trainSigmoidMlp(x, y, 11, { batchSize: -1 }),
      usage(/batchSize must be a positive integer, got -1/),
    );
    assert.throws(
      () => trainSigmoidMlp(x, y, 11, { validationFraction: 1 }),
      usage(/validationFraction must be in \[0, 1\), got 1/),
    );
  });
});

test('shuffle is a seeded permutation', () => {
  const a = Int32Array.from({ length: 50 }, (_, i) => i);
  const b = a.slice();
  shuffle(a, new Random(3));
  shuffle(b, new Random(3));
  assert.deepEqual(a, b);
  assert.notDeepEqual([...a], [...Array(50).keys()]);
  assert.deepEqual(
    [...a].sort((p, q) => p - q),
    [...Array(50).keys()],
  );
});
