import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluateScores } from '../../src/learn/metrics.js';
import { type PipelineEvaluation, resultWarnings } from '../../src/realtrace/evaluation.js';

function result(scores: number[], labels: number[], threshold: number): PipelineEvaluation {
  const s = Float64Array.from(scores);
  const l = Uint8Array.from(labels);
  return {
    pipeline: 'lake',
    variant: 'causal',
    leaksFuture: false,
    split: 'time',
    features: [],
    model: 'test',
    trainCount: 0,
    testCount: s.length,
    labels: {
      method: 'test',
      thresholdUs: 80,
      percentile: 90,
      trainSlowFraction: 0.5,
      testSlowFraction: 0.5,
    },
    decisionThreshold: threshold,
    thresholdRule: 'test',
    metrics: evaluateScores(s, l, threshold),
    servingNs: 0,
    servingPath: 'test',
    trainSeconds: 0,
    joint: [],
    test: { rows: new Int32Array(s.length), scores: s, labels: l },
  };
}

describe('result warnings', () => {
  const scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
  const labels = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1];

  test('a threshold that splits the reads says nothing', () => {
    assert.deepEqual(resultWarnings(result(scores, labels, 0.55)), []);
  });

  test('a threshold that revokes (nearly) every read, or none, is flagged', () => {
    assert.match(resultWarnings(result(scores, labels, 0))[0]!, /revokes 100\.0% of the test reads/);
    assert.match(resultWarnings(result(scores, labels, 2))[0]!, /revokes 0\.0% of the test reads/);
  });

  test('one label on every test read: ROC-AUC is undefined, and that is said', () => {
    const w = resultWarnings(result(scores, new Array(10).fill(1), 0.5));
    assert.equal(w.length, 1);
    assert.match(w[0]!, /ROC-AUC is undefined: every test read is labelled slow/);
  });
});
