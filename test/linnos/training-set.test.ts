import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import type { DeviceDataset } from '../../src/linnos/dataset.js';
import { labelByThreshold } from '../../src/linnos/labels.js';
import { trainLinnos } from '../../src/linnos/train.js';
import {
  checkBothClasses,
  chooseLabelThreshold,
  classCounts,
  selectTrainingData,
  timeSplitProblem,
  trainedPartsProblem,
  trainingWarnings,
} from '../../src/linnos/training-set.js';
import { Random } from '../../src/random.js';

/** A device's dataset: `count` vectors with latencies from `latency(i)` and record indexes `first + 2i`. */
function device(id: number, count: number, first: number, latency: (i: number) => number): DeviceDataset {
  const vectors = new Uint8Array(count * 31);
  for (let i = 0; i < vectors.length; i++) vectors[i] = (i * 7 + id) % 10;
  return {
    device: id,
    count,
    vectors,
    latencyUs: Float64Array.from({ length: count }, (_, i) => latency(i)),
    index: Int32Array.from({ length: count }, (_, i) => first + 2 * i),
  };
}

const isUsage = (pattern: RegExp) => (e: unknown) =>
  e instanceof LakeError && e.code === 'LAKE_E_USAGE' && pattern.test(e.message);

describe('selectTrainingData', () => {
  const a = device(0, 4, 0, (i) => 100 + i);
  const b = device(3, 3, 1, (i) => 900 + i);

  test('one device by number, with its position among the datasets', () => {
    const s = selectTrainingData([a, b], 3);
    assert.equal(s.position, 1);
    assert.equal(s.device, 3);
    assert.equal(s.data, b);
  });

  test('every device pooled in record order when no device is named', () => {
    const s = selectTrainingData([a, b], undefined);
    assert.equal(s.position, -1);
    assert.equal(s.device, undefined);
    assert.deepEqual([...s.data.index], [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...s.data.latencyUs], [100, 900, 101, 901, 102, 902, 103]);
  });

  test('a single device is that device, and a missing one is refused naming --device', () => {
    assert.equal(selectTrainingData([b], undefined).device, 3);
    assert.throws(
      () => selectTrainingData([a, b], 7),
      isUsage(/--device 7: no vectors for it \(have 0, 3\)/),
    );
  });
});

describe('chooseLabelThreshold', () => {
  const data = device(0, 200, 0, (i) => (i % 10 === 9 ? 5000 + i : 100 + (i % 10)));
  const selection = selectTrainingData([data], 0);

  test('a fixed threshold and the percentile of reads at or under it', () => {
    const t = chooseLabelThreshold({ kind: 'fixed', thresholdUs: 1000, text: '1000' }, [data], selection, 1);
    assert.deepEqual(t, { thresholdUs: 1000, percentile: 90, method: 'fixed' });
  });

  test('a threshold or percentile that leaves one class is refused, quoting the flag as typed', () => {
    assert.throws(
      () => chooseLabelThreshold({ kind: 'fixed', thresholdUs: 1e6, text: '1e6' }, [data], selection, 1),
      isUsage(/^--threshold 1e6: all 200 reads are fast/),
    );
    assert.throws(() => checkBothClasses([5, 6], 1, 'x'), isUsage(/^x: all 2 reads are slow/));
  });

  test('the inflection point lands between the fast and slow reads, refined or not', () => {
    for (const refine of [false, true]) {
      const t = chooseLabelThreshold({ kind: 'inflection', refine, revokeCostUs: 5 }, [data], selection, 1);
      assert.ok(t.thresholdUs >= 100 && t.thresholdUs < 5000, `${refine}: ${t.thresholdUs}`);
      assert.equal(t.method, refine ? 'refined' : 'tangent');
    }
  });

  test('under 100 reads a percentile or the inflection point is refused; a fixed threshold is not', () => {
    const few = device(0, 50, 0, (i) => i);
    const s = selectTrainingData([few], 0);
    assert.throws(
      () => chooseLabelThreshold({ kind: 'percentile', percentile: 90, text: '90' }, [few], s, 1),
      isUsage(/50 read\(s\).*give --threshold US/),
    );
    const t = chooseLabelThreshold({ kind: 'fixed', thresholdUs: 24.5, text: '24.5' }, [few], s, 1);
    assert.equal(t.percentile, 50);
  });
});

describe('training parts and warnings', () => {
  test('classCounts counts slow labels in a range', () => {
    assert.deepEqual(classCounts(Uint8Array.from([1, 0, 1, 1, 0]), 1, 4), { count: 3, slow: 2 });
  });

  test('a time split whose validation part holds one class is a problem before training', () => {
    const labels = Uint8Array.from([0, 1, 0, 1, 0, 1, 0, 1, 0, 0]);
    assert.match(
      timeSplitProblem(labels, 0.2) ?? '',
      /validation part holds no slow read \(all 2 are fast\)/,
    );
    assert.equal(timeSplitProblem(labels, 0.3), undefined);
    assert.equal(timeSplitProblem(labels, 0), undefined);
  });

  test('a trained model is judged on both parts; few slow reads and a majority-beating failure warn', () => {
    const random = new Random(4);
    const count = 400;
    const vectors = new Uint8Array(count * 31);
    const latency = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const d = random.int(10);
      vectors[i * 31 + 14] = d;
      latency[i] = d >= 7 ? 2000 : 100;
    }
    const labels = labelByThreshold(latency, 1000);
    const trained = trainLinnos({ vectors, labels }, { epochs: 20, batchSize: 16, backend: 'js', seed: 2 });
    assert.equal(trainedPartsProblem(trained.report, labels), undefined);
    assert.deepEqual(trainingWarnings(trained.report), []);

    const onTrain = trainLinnos({ vectors, labels }, { epochs: 1, backend: 'js', validationFraction: 0 });
    assert.match(trainingWarnings(onTrain.report)[0]!, /measured on the training vectors themselves/);

    // All slow reads in the validation part: the training part has none to learn from.
    const late = Uint8Array.from({ length: count }, (_, i) => (i >= 360 ? 1 : 0));
    const lopsided = trainLinnos(
      { vectors, labels: late },
      { epochs: 1, backend: 'js', validationFraction: 0.1 },
    );
    assert.match(trainedPartsProblem(lopsided.report, late) ?? '', /training part holds no slow read/);
  });
});
