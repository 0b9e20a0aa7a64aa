import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { averagePrecision, confusionAt, evaluateScores, qualityOf, rocAuc } from '../../src/learn/metrics.js';
import { Random } from '../../src/random.js';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe('confusion and rates (slow = positive)', () => {
  // labels:    1 1 1 0 0 0 0 0 0 0 ; scores > 0 predicts slow (a tie at 0 is fast)
  const labels = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
  const scores = [2, 0.5, 0, 1, -1, -2, -3, 0, -1, -1];

  test('counts', () => {
    assert.deepEqual(confusionAt(scores, labels), {
      truePositive: 2,
      falsePositive: 1,
      trueNegative: 6,
      falseNegative: 1,
    });
    assert.deepEqual(confusionAt(scores, labels, 0.75).truePositive, 1);
  });

  test('rates', () => {
    const q = qualityOf(confusionAt(scores, labels));
    assert.equal(q.count, 10);
    assert.equal(q.slow, 3);
    close(q.accuracy, 0.8);
    close(q.majorityRate, 0.7);
    close(q.falseSubmitRate, 1 / 3); // slow predicted fast / all slow
    close(q.falseRevokeRate, 1 / 7); // fast predicted slow / all fast
    close(q.precision, 2 / 3);
    close(q.recall, 2 / 3);
    close(q.f1, 2 / 3);
  });

  test('empty denominators are NaN', () => {
    const q = qualityOf(confusionAt([1, 2], [0, 0]));
    assert.ok(Number.isNaN(q.falseSubmitRate));
    assert.ok(Number.isNaN(q.recall));
    assert.equal(q.falseRevokeRate, 1);
  });
});

describe('ROC-AUC', () => {
  test("scikit-learn's example: 0.75", () => {
    close(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  });

  test('ties count half', () => {
    close(rocAuc([1, 1, 1, 1], [0, 1, 0, 1]), 0.5);
    close(rocAuc([0, 1, 1, 2], [0, 0, 1, 1]), 0.875);
  });

  test('perfect, inverted, and one class only', () => {
    close(rocAuc([1, 2, 3, 4], [0, 0, 1, 1]), 1);
    close(rocAuc([4, 3, 2, 1], [0, 0, 1, 1]), 0);
    assert.ok(Number.isNaN(rocAuc([1, 2], [1, 1])));
  });

  test('equals the pair-counting definition on random data with ties', () => {
    const random = new Random(11);
    const n = 300;
    const scores = Float64Array.from({ length: n }, () => random.int(20));
    const labels = Uint8Array.from({ length: n }, () => (random.next() < 0.3 ? 1 : 0));
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      if (labels[i] !== 1) continue;
      for (let j = 0; j < n; j++) {
        if (labels[j] !== 0) continue;
        pairs++;
        wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
      }
    }
    close(rocAuc(scores, labels), wins / pairs, 1e-12);
  });
});

describe('PR-AUC (average precision)', () => {
  test("scikit-learn's example: 0.8333", () => {
    close(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 5 / 6);
  });

  test('tied scores enter together', () => {
    // one threshold holding everything: precision 0.5 at recall 1
    close(averagePrecision([1, 1, 1, 1], [0, 1, 0, 1]), 0.5);
    // thresholds 2 (1 TP), 1 (+1 TP +1 FP): 0.5 * 1 + 0.5 * 2/3
    close(averagePrecision([2, 1, 1, 0], [1, 1, 0, 0]), 0.5 + 1 / 3);
  });

  test('no positive is NaN; a perfect ranking is 1', () => {
    assert.ok(Number.isNaN(averagePrecision([1, 2], [0, 0])));
    close(averagePrecision([0.1, 0.2, 0.9, 0.8], [0, 0, 1, 1]), 1);
  });
});

describe('evaluateScores', () => {
  test('bundles confusion, rates and both areas', () => {
    const r = evaluateScores([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.3);
    assert.equal(r.threshold, 0.3);
    assert.deepEqual(r.confusion, { truePositive: 2, falsePositive: 1, trueNegative: 1, falseNegative: 0 });
    close(r.accuracy, 0.75);
    close(r.rocAuc, 0.75);
    close(r.prAuc, 5 / 6);
  });

  test('lengths must match', () => {
    assert.throws(() => evaluateScores([1, 2], [1]), RangeError);
  });
});
