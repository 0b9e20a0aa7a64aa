import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { type GbdtOptions, gbdtScores, trainGbdt } from '../../src/learn/gbdt.js';
import { rocAuc } from '../../src/learn/metrics.js';
import { Random } from '../../src/random.js';

/** 5000 rows of 6 features: the label follows x0 * x1 with noise; x5 takes 3 values (few bins). */
function rows(): { x: Float64Array; y: Uint8Array; width: number } {
  const r = new Random(4);
  const n = 5000;
  const width = 6;
  const x = new Float64Array(n * width);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < width; j++) x[i * width + j] = j === 5 ? r.int(3) : r.normal();
    y[i] = x[i * width]! * x[i * width + 1]! + 0.5 * r.normal() > 0.3 ? 1 : 0;
  }
  return { x, y, width };
}

function fingerprint(options: GbdtOptions): string {
  const { x, y, width } = rows();
  const m = trainGbdt(x, y, width, options);
  const h = createHash('sha256');
  for (const a of [m.feature, m.threshold, m.leaf, m.gain])
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  h.update(String(m.base));
  return h.digest('hex').slice(0, 16);
}

describe('trainGbdt', () => {
  const { x, y, width } = rows();
  const initialScores = Float64Array.from({ length: y.length }, (_, i) => 0.1 * x[i * width + 2]!);

  // Fingerprints of the trees trainGbdt grew as one function (commit 9cc14e5), before it was split into
  // named steps: every option path must still grow the same trees, bit for bit.
  const before: [string, GbdtOptions, string][] = [
    ['defaults', {}, 'fffa1a4cdaef142f'],
    ['row subsampling', { subsample: 0.7, seed: 3, trees: 15 }, '0a140484f11e0f4e'],
    [
      'initial scores, slow weight, deep trees, small leaves, many bins',
      { initialScores, slowWeight: 3, depth: 6, minLeaf: 5, bins: 200 },
      '36dfa6a77654a76c',
    ],
    [
      'stumps with a minimum gain',
      { depth: 1, lambda: 0, minGain: 0.5, learningRate: 0.5 },
      '2a6924e6928e0bb0',
    ],
  ];
  for (const [name, options, expected] of before) {
    test(`${name}: the same trees as before`, () => assert.equal(fingerprint(options), expected));
  }

  test('learns the interaction a linear model cannot', () => {
    const model = trainGbdt(x, y, width, { trees: 30 });
    assert.ok(rocAuc(gbdtScores(model, x), y) > 0.85);
  });

  test('bad options are usage errors naming the option', () => {
    const usage = (pattern: RegExp) => (e: unknown) =>
      e instanceof LakeError && e.code === 'LAKE_E_USAGE' && pattern.test(e.message);
    assert.throws(() => trainGbdt(x, y, width, { depth: 13 }), usage(/options\.depth must be <= 12/));
    assert.throws(() => trainGbdt(x, y, width, { subsample: 0 }), usage(/options\.subsample/));
    assert.throws(
      () => trainGbdt(x, y, width, { initialScores: new Float64Array(3) }),
      usage(/initialScores holds 3 scores for 5000 rows/),
    );
  });
});
