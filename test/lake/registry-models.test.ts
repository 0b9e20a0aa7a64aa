import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { createPredictor } from '../../src/kernels/create.js';
import { encodeModelImage } from '../../src/lake/backends/model-image.js';
import { FeatureRegistry } from '../../src/lake/registry/feature-registry.js';
import { ModelStore, sha256Hex } from '../../src/lake/registry/model-store.js';
import { spawnWorker } from '../../src/lake/spawn-worker.js';
import type { DenseModel } from '../../src/models/dense.js';
import { eventually, randomDenseModel, randomDigits, referenceForward } from './helpers.js';

/** A 4-8-2 model whose every parameter is `value`. */
function constantModel(value: number): DenseModel {
  const layer = (inputs: number, outputs: number) => ({
    inputs,
    outputs,
    weights: new Float32Array(inputs * outputs).fill(value),
    bias: new Float32Array(outputs).fill(value),
  });
  return { layers: [layer(4, 8), layer(8, 2)] };
}

describe('model store', () => {
  test('create, update, delete: versions only grow, checksums are sha256 of the image', () => {
    const store = ModelStore.create({ maxModels: 4, arenaBytes: 1 << 20 });
    const v1 = store.create('linnos-sdb', constantModel(1));
    assert.deepEqual([v1.version, v1.sha256], [1, sha256Hex(encodeModelImage(constantModel(1)))]);
    assert.throws(() => store.create('linnos-sdb', constantModel(2)), /exists/);
    assert.equal(store.update('linnos-sdb', constantModel(2)).version, 2);
    assert.equal(store.get('linnos-sdb')!.model.layers[0]!.weights[0], 2);
    assert.equal(store.version('linnos-sdb'), 2);
    store.delete('linnos-sdb');
    assert.equal(store.get('linnos-sdb'), undefined);
    assert.equal(store.version('linnos-sdb'), 0);
    assert.throws(() => store.update('linnos-sdb', constantModel(3)), /does not exist/);
    assert.equal(store.create('linnos-sdb', constantModel(3)).version, 3, 'a re-created name keeps counting');
    assert.deepEqual(
      store.list().map((m) => [m.name, m.version]),
      [['linnos-sdb', 3]],
    );
    assert.throws(() => store.delete('nope'), /does not exist/);
  });

  test('a corrupt update is refused and the old version keeps serving', () => {
    const store = ModelStore.create({ arenaBytes: 1 << 20 });
    const good = randomDenseModel(5, [31, 16, 2]);
    store.create('m', good);
    const next = encodeModelImage(randomDenseModel(6, [31, 16, 2]));
    const sha = sha256Hex(next);
    const corrupt = next.slice();
    corrupt[100]! ^= 0x40; // one flipped bit in a weight
    assert.throws(
      () => store.load('m', corrupt, sha),
      (error: unknown) =>
        error instanceof LakeError &&
        error.code === 'LAKE_E_MODEL_CHECKSUM' &&
        /keeping the current version/.test(error.message),
    );
    const truncated = next.slice(0, next.length - 4);
    assert.throws(
      () => store.load('m', truncated, sha256Hex(truncated)),
      (error: unknown) => error instanceof LakeError && error.code === 'LAKE_E_MODEL_FORMAT',
    );
    const serving = store.get('m')!;
    assert.equal(serving.version, 1);
    assert.deepEqual(serving.model.layers[0]!.weights, good.layers[0]!.weights);
    // A good load of the same bytes goes through as version 2.
    assert.equal(store.load('m', next, sha).version, 2);
    assert.equal(ModelStore.attach(store.shared()).get('m')!.version, 2);
  });

  test('updates swap atomically for a reader thread: every read is one whole version, never going back', async () => {
    const store = ModelStore.create({ arenaBytes: 1 << 20 });
    store.create('hot', constantModel(1));
    const result = new Int32Array(new SharedArrayBuffer(20));
    const last = 300;
    const worker = spawnWorker(new URL('./fixtures/', import.meta.url), 'model-reader', {
      workerData: { store: store.shared(), name: 'hot', result: result.buffer, stopAt: last },
    });
    const errors: Error[] = [];
    worker.on('error', (error) => errors.push(error));
    try {
      // Let the reader start reading version 1 before the updates begin.
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (let version = 2; version <= last; version++) {
        assert.equal(store.update('hot', constantModel(version)).version, version);
        if (version % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await eventually(() => Atomics.load(result, 0) === 1 || errors.length > 0, 30_000, 'the reader');
    } finally {
      await worker.terminate();
    }
    assert.deepEqual(errors, []);
    assert.ok(result[1]! > 0);
    assert.equal(result[2], 0, 'no read mixed two versions');
    assert.equal(result[3], last);
    assert.equal(result[4], 0, 'versions never went backwards');
  });
});

describe('scoring a window with a registered classifier', () => {
  const schema = {
    name: 'reads',
    fields: [
      { name: 'digits', type: 'u8', length: 31 },
      { name: 'latency', type: 'f32' },
    ],
  } as const;

  test('function, dense-f32 and LinnOS classifiers score the entries after a timestamp', () => {
    const registry = new FeatureRegistry();
    const ring = registry.register(schema, { capacity: 64 });
    const digits = randomDigits(3, 40);
    for (let i = 0; i < 40; i++)
      ring.capture({ digits: digits.subarray(i * 31, (i + 1) * 31), latency: i * 10 }, i);
    registry.registerClassifier('slow-latency', {
      kind: 'function',
      score: (w) => w.entries.map((e) => e.fields['latency']![0]! / 300),
    });
    const byLatency = registry.score('reads', 'slow-latency', 19.5);
    assert.equal(byLatency.entries.length, 20);
    assert.deepEqual(
      [...byLatency.decisions],
      Array.from({ length: 20 }, (_, i) => ((20 + i) * 10 > 150 ? 1 : 0)),
    );

    const linnos = randomDenseModel(8, [31, 256, 2]);
    registry.registerClassifier('linnos', {
      kind: 'model',
      model: linnos,
      fields: ['digits'],
      kernel: 'linnos',
    });
    const predicted = registry.score('reads', 'linnos');
    const expected = new Uint8Array(40);
    const predictor = createPredictor(linnos, { backend: 'auto' });
    predictor.predictBatch(digits, 40, expected);
    predictor.dispose();
    assert.deepEqual(predicted.decisions, expected);

    const dense = randomDenseModel(9, [32, 8, 3]);
    registry.registerClassifier('dense', { kind: 'model', model: dense });
    const window = registry.window('reads', 30);
    const scored = registry.score('reads', 'dense', 30);
    assert.equal(scored.outputs, 3);
    const reference = referenceForward(dense, window.inputs, window.entries.length);
    for (let i = 0; i < reference.length; i++) assert.ok(Math.abs(scored.scores[i]! - reference[i]!) < 1e-4);
    assert.throws(() => registry.score('reads', 'nope'), /classifier nope is not registered/);
    registry.registerClassifier('wide', { kind: 'model', model: linnos, kernel: 'linnos' });
    assert.throws(() => registry.score('reads', 'wide'), /takes 31 inputs, the window rows of reads have 32/);
  });

  test('a classifier naming a stored model follows its updates, and a refused update changes nothing', () => {
    const registry = new FeatureRegistry();
    const ring = registry.register(
      { name: 'x', fields: [{ name: 'v', type: 'f32', length: 4 }] },
      { capacity: 8 },
    );
    ring.capture({ v: [1, 2, 3, 4] }, 1);
    registry.models.create('clf', constantModel(1));
    registry.registerClassifier('clf', { kind: 'model', model: 'clf' });
    const first = registry.score('x', 'clf');
    assert.equal(first.modelVersion, 1);
    registry.models.update('clf', constantModel(-1));
    const second = registry.score('x', 'clf');
    assert.equal(second.modelVersion, 2);
    assert.notDeepEqual(second.scores, first.scores);
    const image = encodeModelImage(constantModel(5));
    assert.throws(() => registry.models.load('clf', image, sha256Hex(new Uint8Array(3))), /does not match/);
    assert.deepEqual(registry.score('x', 'clf').scores, second.scores);
  });
});
