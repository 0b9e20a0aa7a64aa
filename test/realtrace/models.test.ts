import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gbdtScores, trainGbdt } from '../../src/learn/gbdt.js';
import { linearScores, trainLogistic } from '../../src/learn/logistic.js';
import { rocAuc } from '../../src/learn/metrics.js';
import { applyMinMax, fitMinMax } from '../../src/learn/min-max.js';
import { mlpLogits, trainSigmoidMlp } from '../../src/learn/sigmoid-mlp.js';
import { Random } from '../../src/random.js';
import { thresholdForFalseSubmitBudget } from '../../src/realtrace/calibrate.js';
import { log2p1 } from '../../src/realtrace/lake-features.js';
import { QuantizedMlp } from '../../src/realtrace/quantized-mlp.js';

/** Rows of 3 uniform features; label drawn from a known log-odds function of them. */
function data(count: number, seed: number, logOdds: (x: number[]) => number) {
  const random = new Random(seed);
  const values = new Float64Array(count * 3);
  const labels = new Uint8Array(count);
  for (let r = 0; r < count; r++) {
    const x = [random.next(), random.next(), random.next()];
    values.set(x, r * 3);
    labels[r] = random.next() < 1 / (1 + Math.exp(-logOdds(x))) ? 1 : 0;
  }
  return { values, labels };
}

describe('models', () => {
  test('logistic regression recovers the weights of a logistic model (Newton, deterministic)', () => {
    const { values, labels } = data(20_000, 1, (x) => 4 * x[0]! - 2 * x[1]! - 1);
    const model = trainLogistic(values, labels, 3, { l2: 1e-3 });
    assert.ok(Math.abs(model.weights[0]! - 4) < 0.3, `w0 ${model.weights[0]}`);
    assert.ok(Math.abs(model.weights[1]! + 2) < 0.3, `w1 ${model.weights[1]}`);
    assert.ok(Math.abs(model.weights[2]!) < 0.3, `w2 ${model.weights[2]}`);
    assert.ok(Math.abs(model.bias + 1) < 0.3, `bias ${model.bias}`);
    assert.deepEqual(trainLogistic(values, labels, 3, { l2: 1e-3 }), model);
  });

  test('GBDT learns an interaction a linear model cannot (XOR of two features)', () => {
    const xor = (x: number[]) => (x[0]! > 0.5 !== x[1]! > 0.5 ? 3 : -3);
    const train = data(8_000, 2, xor);
    const test = data(4_000, 3, xor);
    const trees = trainGbdt(train.values, train.labels, 3, { trees: 20, depth: 3 });
    const linear = trainLogistic(train.values, train.labels, 3);
    const treeAuc = rocAuc(gbdtScores(trees, test.values), test.labels);
    const linearAuc = rocAuc(linearScores(linear, test.values), test.labels);
    assert.ok(treeAuc > 0.85, `trees ${treeAuc}`);
    assert.ok(linearAuc < 0.6, `linear ${linearAuc}`);
    assert.ok(
      trees.gain[2]! < trees.gain[0]! && trees.gain[2]! < trees.gain[1]!,
      'the noise feature gains least',
    );
  });

  test('the sigmoid MLP (Heimdall 128-16-1) learns, and its x1024 integer form decides as the float one', () => {
    const rule = (x: number[]) => 6 * (x[0]! * x[1]! - 0.25);
    const train = data(6_000, 4, rule);
    const test = data(3_000, 5, rule);
    const scaler = fitMinMax(train.values, 3);
    const fit = trainSigmoidMlp(applyMinMax(scaler, train.values), train.labels, 3, {
      epochs: 5,
      learningRate: 1e-3,
      seed: 1,
    });
    assert.equal(fit.trainCount, 4_800); // the last 20% held out, as Keras's validation_split
    const logits = mlpLogits(fit.model, applyMinMax(scaler, test.values));
    assert.ok(rocAuc(logits, test.labels) > 0.75);
    const integer = new QuantizedMlp(fit.model, scaler);
    let agree = 0;
    for (let r = 0; r < test.labels.length; r++) {
      if (integer.predict(test.values, r * 3) === (logits[r]! > 0 ? 1 : 0)) agree++;
      assert.ok(Math.abs(integer.logit(test.values, r * 3) - logits[r]!) < 0.05);
    }
    assert.ok(agree / test.labels.length > 0.99, `agreement ${agree}`);
  });

  test('the threshold keeps false submits within the budget and revokes as little as it can', () => {
    const scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
    const labels = [0, 1, 0, 1, 0, 1, 1, 0, 1, 1];
    const t = thresholdForFalseSubmitBudget(scores, labels, 0.34); // 6 slow: at most 2 may be submitted
    const submittedSlow = scores.filter((s, i) => labels[i] === 1 && s <= t).length;
    assert.equal(submittedSlow, 2);
    assert.ok(t >= 0.5 && t < 0.6, `threshold ${t}`);
    // Budget 0: every slow read revoked (t below 0.2, the lowest slow score), and the fast read at 0.1 kept.
    const none = thresholdForFalseSubmitBudget(scores, labels, 0);
    assert.ok(none >= 0.1 && none < 0.2, `threshold ${none}`);
    assert.throws(() => thresholdForFalseSubmitBudget(scores, labels, 1), /budget/);
  });

  test('log2p1 is log2(1 + x) within 0.09, monotone and exact at powers of two', () => {
    let previous = -1;
    for (let x = 0; x < 70_000; x += 0.37) {
      const v = log2p1(x);
      assert.ok(Math.abs(v - Math.log2(1 + x)) < 0.09);
      assert.ok(v >= previous);
      previous = v;
    }
    assert.equal(log2p1(1023), 10);
  });
});
