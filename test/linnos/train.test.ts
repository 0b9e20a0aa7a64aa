import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { type EpochStats, trainLinnos } from '../../src/linnos/train.js';
import { Random } from '../../src/random.js';

/**
 * Vectors whose slow label depends on pend_now (digits 12-14) and the newest latency (digits 27-30), with
 * 5% label noise: learnable, not trivially.
 */
function synthetic(n: number, seed: number): { vectors: Uint8Array; labels: Uint8Array } {
  const random = new Random(seed);
  const vectors = new Uint8Array(n * 31);
  const labels = new Uint8Array(n);
  for (let s = 0; s < n; s++) {
    const put = (value: number, at: number, width: number): void => {
      for (let k = width - 1; k >= 0; k--) {
        vectors[s * 31 + at + k] = value % 10;
        value = Math.floor(value / 10);
      }
    };
    for (let k = 0; k < 4; k++) put(random.int(300), k * 3, 3);
    const pendNow = random.int(300);
    put(pendNow, 12, 3);
    let latency = 0;
    for (let k = 0; k < 4; k++) {
      latency = random.int(3000);
      put(latency, 15 + k * 4, 4);
    }
    const slow = pendNow > 180 || (pendNow > 100 && latency > 2000);
    labels[s] = (random.next() < 0.05 ? !slow : slow) ? 1 : 0;
  }
  return { vectors, labels };
}

describe('trainLinnos', () => {
  const data = synthetic(6000, 1);

  for (const backend of ['js', 'wasm'] as const) {
    test(`${backend}: learns well beyond the majority rate (time-ordered 80/20 split)`, () => {
      const epochs: EpochStats[] = [];
      const { model, report } = trainLinnos(data, {
        epochs: 8,
        backend,
        loss: 'xent',
        onEpoch: (epoch, stats) => {
          assert.equal(epoch, stats.epoch);
          epochs.push(stats);
        },
      });
      assert.equal(report.backend, backend);
      assert.deepEqual(report.layerSizes, [31, 256, 2]);
      assert.equal(report.parameters, 8706);
      assert.equal(report.trainCount, 4800);
      assert.equal(report.validationCount, 1200);
      assert.equal(report.qualityOn, 'validation');
      assert.equal(report.quality.count, 1200);
      assert.equal(epochs.length, 8);
      assert.ok(epochs[7]!.trainLoss < epochs[0]!.trainLoss);
      assert.ok(report.quality.accuracy > report.quality.majorityRate + 0.15, JSON.stringify(report.quality));
      assert.ok(report.quality.rocAuc > 0.88, String(report.quality.rocAuc));
      assert.ok(report.secondsPerMillion > 0);
      assert.deepEqual(
        model.layers.map((l) => [l.inputs, l.outputs]),
        [
          [31, 256],
          [256, 2],
        ],
      );
    });
  }

  test('hinge loss with the slow-class weight trades false submits for false revokes', () => {
    const light = trainLinnos(data, { epochs: 3, slowWeight: 1, seed: 2 }).report.quality;
    const heavy = trainLinnos(data, { epochs: 3, slowWeight: 20, seed: 2 }).report.quality;
    assert.ok(
      heavy.falseSubmitRate < light.falseSubmitRate,
      `${heavy.falseSubmitRate} vs ${light.falseSubmitRate}`,
    );
    assert.ok(heavy.falseRevokeRate > light.falseRevokeRate);
  });

  test('the slow-class weight is 5 unless told otherwise, as LinnOS trains', () => {
    const small = synthetic(1500, 9);
    const byDefault = trainLinnos(small, { epochs: 2, seed: 3, backend: 'js' });
    const five = trainLinnos(small, { epochs: 2, seed: 3, backend: 'js', slowWeight: 5 });
    const one = trainLinnos(small, { epochs: 2, seed: 3, backend: 'js', slowWeight: 1 });
    assert.deepEqual(byDefault.model, five.model);
    assert.notDeepEqual(byDefault.model, one.model);
    assert.equal(byDefault.report.slowWeight, five.report.slowWeight);
    // The weight shows in the loss: with every sample slow, the weighted mean loss is 5x the unweighted one.
    const allSlow = { vectors: small.vectors, labels: new Uint8Array(1500).fill(1) };
    const weighted = trainLinnos(allSlow, { epochs: 1, seed: 3, backend: 'js', learningRate: 1e-9 });
    const plain = trainLinnos(allSlow, {
      epochs: 1,
      seed: 3,
      backend: 'js',
      learningRate: 1e-9,
      slowWeight: 1,
    });
    const ratio = weighted.report.history[0]!.validationLoss / plain.report.history[0]!.validationLoss;
    assert.ok(Math.abs(ratio - 5) < 1e-6, `validation loss ratio ${ratio}`);
  });

  test('the same seed gives the same model; another seed another', () => {
    const a = trainLinnos(data, { epochs: 1, seed: 7, backend: 'wasm' }).model;
    const b = trainLinnos(data, { epochs: 1, seed: 7, backend: 'wasm' }).model;
    const c = trainLinnos(data, { epochs: 1, seed: 8, backend: 'wasm' }).model;
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  test('the time-ordered split validates on the later part, the random split on a random part', () => {
    // labels all fast in the first 80%, slow from then on: a time split sees only slow ones in validation
    const n = 1000;
    const labels = Uint8Array.from({ length: n }, (_, i) => (i >= 800 ? 1 : 0));
    labels[0] = 1; // one slow example in the training part
    const vectors = synthetic(n, 3).vectors;
    const time = trainLinnos({ vectors, labels }, { epochs: 1 }).report.quality;
    assert.equal(time.slow, 200);
    const random = trainLinnos({ vectors, labels }, { epochs: 1, split: 'random', seed: 4 }).report.quality;
    assert.ok(random.slow > 10 && random.slow < 100, String(random.slow));
  });

  test('early stopping keeps the best epoch', () => {
    const { report } = trainLinnos(data, { epochs: 30, earlyStopPatience: 1, learningRate: 0.05, seed: 5 });
    assert.ok(report.epochs < 30);
    assert.equal(report.bestEpoch, report.epochs - 1);
    const best = report.history[report.bestEpoch - 1]!;
    assert.ok(report.history.every((e) => e.validationLoss >= best.validationLoss));
  });

  test('NN+1 and NN+2 shapes', () => {
    const small = synthetic(300, 6);
    assert.deepEqual(trainLinnos(small, { epochs: 1, shape: 'nn+1' }).report.layerSizes, [31, 256, 256, 2]);
    const r = trainLinnos(small, { epochs: 1, shape: 'nn+2', validationFraction: 0 }).report;
    assert.equal(r.parameters, 31 * 256 + 256 + 2 * (256 * 256 + 256) + 256 * 2 + 2);
    assert.equal(r.qualityOn, 'train');
  });

  test('bad input and options are usage errors', () => {
    const usage = (f: () => unknown, pattern: RegExp): void => {
      assert.throws(
        f,
        (e: unknown) => e instanceof LakeError && e.code === 'LAKE_E_USAGE' && pattern.test(e.message),
      );
    };
    usage(
      () => trainLinnos({ vectors: new Uint8Array(0), labels: new Uint8Array(0) }),
      /no training vectors/,
    );
    usage(
      () => trainLinnos({ vectors: new Uint8Array(31).fill(10), labels: new Uint8Array(1) }),
      /not a digit/,
    );
    usage(() => trainLinnos({ vectors: new Uint8Array(31), labels: Uint8Array.of(2) }), /not 0 or 1/);
    usage(() => trainLinnos({ vectors: new Uint8Array(30), labels: Uint8Array.of(1) }), /need 31/);
    usage(() => trainLinnos(data, { epochs: 0 }), /options\.epochs/);
    usage(() => trainLinnos(data, { validationFraction: 1 }), /validationFraction/);
    usage(() => trainLinnos(data, { layerSizes: [31, 20, 3] }), /2 outputs/);
    usage(() => trainLinnos(data, { layerSizes: [31, 20, 2], backend: 'wasm' }), /divisible by 16/);
    usage(() => trainLinnos(data, { earlyStopPatience: 2, validationFraction: 0 }), /validation part/);
  });
});
