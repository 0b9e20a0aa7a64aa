import assert from 'node:assert/strict';
import { test } from 'node:test';
import { confusionAt, majorityWarning, noBetterThanMajority, qualityOf } from '../../src/learn/metrics.js';

test('a model no better than the majority rate is flagged; a better one is not', () => {
  // 6 fast, 2 slow: the majority rate is 75%.
  const labels = [0, 0, 0, 0, 0, 0, 1, 1];
  const guessesFast = qualityOf(confusionAt([0, 0, 0, 0, 0, 0, 0, 0], labels));
  assert.equal(guessesFast.majorityRate, 0.75);
  assert.equal(guessesFast.accuracy, 0.75);
  assert.equal(noBetterThanMajority(guessesFast), true, 'equal to the majority rate counts');
  const worse = qualityOf(confusionAt([1, 1, 0, 0, 0, 0, 0, 1], labels)); // 5 of 8 right
  assert.equal(worse.accuracy, 0.625);
  assert.equal(noBetterThanMajority(worse), true);
  const better = qualityOf(confusionAt([0, 0, 0, 0, 0, 0, 1, 0], labels)); // 7 of 8
  assert.equal(noBetterThanMajority(better), false);
  assert.equal(majorityWarning('ssd0', better), undefined);
  assert.equal(
    majorityWarning('ssd0', worse),
    'ssd0: accuracy 62.5% is no better than the majority rate 75.0% (always predicting the more frequent class); the model has learnt nothing usable',
  );
  assert.equal(
    majorityWarning('ssd0', { ...worse, rocAuc: 0.897 }),
    'ssd0: accuracy 62.5% is no better than the majority rate 75.0% (always predicting the more frequent class); its scores still rank reads (ROC-AUC 0.897), so its decision threshold, not what it learnt, is what fails',
  );
  assert.equal(
    majorityWarning('ssd0', { ...worse, rocAuc: 0.52 }),
    'ssd0: accuracy 62.5% is no better than the majority rate 75.0% (always predicting the more frequent class) and its scores barely rank reads (ROC-AUC 0.520); the model has learnt nothing usable',
  );
  assert.equal(noBetterThanMajority({ accuracy: Number.NaN, majorityRate: Number.NaN }), false, 'no reads');
});
