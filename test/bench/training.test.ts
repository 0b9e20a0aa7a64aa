import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { benchTraining, syntheticLinnosData, trainingBenchSuite } from '../../src/bench/training.js';
import { assertPlainData } from '../helpers/plain-data.js';

describe('benchTraining', () => {
  test('one result per shape and loss, as plain data', () => {
    const results = benchTraining({
      samples: 600,
      shapes: ['nn', 'nn+1'],
      losses: ['xent'],
      backend: 'wasm',
    });
    assert.deepEqual(
      results.map((r) => [r.shape, r.loss, r.backend, r.samples]),
      [
        ['nn', 'xent', 'wasm', 600],
        ['nn+1', 'xent', 'wasm', 600],
      ],
    );
    for (const r of results) {
      assert.ok(r.seconds > 0 && Number.isFinite(r.seconds));
      assert.ok(Math.abs(r.secondsPerMillion - (r.seconds / 600) * 1e6) < 1e-9);
      assert.ok(Math.abs(r.samplesPerSecond * r.seconds - 600) < 1e-6);
    }
    assertPlainData(results);
  });

  test('the js backend can be chosen', () => {
    const [r] = benchTraining({ samples: 300, shapes: ['nn'], losses: ['hinge'], backend: 'js' });
    assert.equal(r!.backend, 'js');
  });
});

describe('syntheticLinnosData', () => {
  test('digits 0-9, both classes, deterministic', () => {
    const a = syntheticLinnosData(2000, 3);
    assert.equal(a.vectors.length, 2000 * 31);
    assert.ok(a.vectors.every((d) => d <= 9));
    const slow = a.labels.reduce((s, l) => s + l, 0);
    assert.ok(slow > 100 && slow < 1900, String(slow));
    assert.deepEqual(syntheticLinnosData(2000, 3), a);
  });
});

describe('trainingBenchSuite', () => {
  test('a lake bench suite with ratios against NN on plain JS', () => {
    const suite = trainingBenchSuite(1, 400);
    assert.equal(suite.suite, 'training');
    assert.equal(suite.results.length, 8);
    const reference = suite.results.find((r) => r.name === 'train nn xent (js)')!;
    assert.equal(reference.ratio, 1);
    for (const r of suite.results) {
      assert.equal(r.state, 'completed');
      assert.equal(r.unit, 's per 1M samples');
      assert.ok(r.min <= r.median && r.median <= r.max);
    }
  });
});
