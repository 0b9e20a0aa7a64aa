import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import {
  canonicalJson,
  loadModel,
  type ModelMeta,
  ModelSlot,
  parseModel,
  saveModel,
  serializeModel,
} from '../../src/models/model-file.js';
import { randomModel } from '../kernels/helpers.js';

const meta: ModelMeta = {
  kind: 'linnos',
  featureSchema: 'linnos-digits-31',
  createdAt: '2026-01-01T00:00:00.000Z',
  device: 'sde',
  labelThresholdUs: 312.5,
  trainingStats: { epochs: 20, accuracy: 0.913, loss: 'hinge', seed: 7 },
};

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lake-model-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Re-signs a document after editing it, so that a test reaches the checks after the checksum. */
function resign(document: Record<string, unknown>): string {
  const { sha256: _old, ...rest } = document;
  return JSON.stringify({ ...rest, sha256: createHash('sha256').update(canonicalJson(rest)).digest('hex') });
}

function rejectsWith(code: string, message: RegExp): (error: unknown) => boolean {
  return (error: unknown) => error instanceof LakeError && error.code === code && message.test(error.message);
}

describe('model files', () => {
  test('save then load gives the same float32 weights bit for bit, and the metadata', async () => {
    const model = randomModel(1, [31, 256, 256, 2]);
    model.layers[0]!.weights[0] = -0;
    model.layers[0]!.weights[1] = 1e-40; // a subnormal float32
    const path = join(dir, 'nn1.json');
    await saveModel(path, model, meta);
    const loaded = await loadModel(path);
    assert.deepEqual(loaded.model, model);
    assert.equal(Object.is(loaded.model.layers[0]!.weights[0], -0), true);
    assert.deepEqual(loaded.meta, { ...meta, shape: '31-256-256-2' });
    assert.equal(loaded.path, path);
    assert.match(loaded.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.includes('nn1')),
      ['nn1.json'],
    );
  });

  test('deterministic: the same model and metadata give the same bytes', () => {
    const model = randomModel(2, [31, 256, 2]);
    assert.equal(serializeModel(model, meta), serializeModel(randomModel(2, [31, 256, 2]), { ...meta }));
    const document = JSON.parse(serializeModel(model, meta)) as Record<string, unknown>;
    assert.equal(document['format'], 'lake-model');
    assert.equal(document['formatVersion'], 1);
    assert.equal(
      (document['layers'] as { activation: string }[]).map((l) => l.activation).join(),
      'relu,linear',
    );
  });

  test('canonical JSON sorts keys at every level and drops undefined', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } }),
      '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}',
    );
  });

  test('a corrupt file (one weight changed) fails the checksum, naming the file', async () => {
    const path = join(dir, 'corrupt.json');
    const text = serializeModel(randomModel(3, [31, 256, 2]), meta);
    const document = JSON.parse(text) as { layers: { bias: string }[] };
    const bias = Buffer.from(document.layers[1]!.bias, 'base64');
    bias[0] = bias[0]! ^ 1;
    document.layers[1]!.bias = bias.toString('base64');
    await writeFile(path, JSON.stringify(document));
    await assert.rejects(
      loadModel(path),
      rejectsWith('LAKE_E_MODEL_CHECKSUM', new RegExp(`^${path}: checksum mismatch`)),
    );
    // Metadata is covered too.
    const edited = JSON.parse(text) as { meta: ModelMeta };
    edited.meta.labelThresholdUs = 1;
    assert.throws(
      () => parseModel(JSON.stringify(edited), 'm.json'),
      rejectsWith('LAKE_E_MODEL_CHECKSUM', /^m\.json:/),
    );
  });

  test('a truncated file is a format error naming the file', async () => {
    const path = join(dir, 'truncated.json');
    const text = serializeModel(randomModel(4, [31, 256, 2]), meta);
    await writeFile(path, text.slice(0, Math.floor(text.length / 2)));
    await assert.rejects(
      loadModel(path),
      rejectsWith('LAKE_E_MODEL_FORMAT', new RegExp(`^${path}: not a complete JSON document`)),
    );
  });

  test('a wrong format or version is refused before the checksum is looked at', () => {
    const document = JSON.parse(serializeModel(randomModel(5, [31, 8, 2]), meta)) as Record<string, unknown>;
    assert.throws(
      () => parseModel(JSON.stringify({ ...document, formatVersion: 2 }), 'v2.json'),
      rejectsWith(
        'LAKE_E_MODEL_FORMAT',
        /^v2\.json: formatVersion 2 is not supported \(this lake reads 1\)$/,
      ),
    );
    assert.throws(
      () => parseModel(JSON.stringify({ ...document, format: 'onnx' }), 'x.json'),
      rejectsWith('LAKE_E_MODEL_FORMAT', /not a lake model file/),
    );
    assert.throws(
      () => parseModel('[1,2]', 'array.json'),
      rejectsWith('LAKE_E_MODEL_FORMAT', /not a lake model file/),
    );
  });

  test('inconsistent shapes are refused even with a valid checksum', () => {
    const document = JSON.parse(serializeModel(randomModel(6, [31, 8, 2]), meta)) as {
      layers: Record<string, unknown>[];
      meta: Record<string, unknown>;
    };
    const withLayer = (l: number, patch: Record<string, unknown>): string =>
      resign({
        ...document,
        layers: document.layers.map((layer, i) => (i === l ? { ...layer, ...patch } : layer)),
      });
    assert.throws(
      () => parseModel(withLayer(1, { inputs: 9 }), 'a.json'),
      /a\.json: layers\[1\]\.weights holds 64 bytes, expected 72/,
    );
    assert.throws(
      () => parseModel(withLayer(0, { outputs: 9, bias: document.layers[0]!['bias'] }), 'b.json'),
      /b\.json: layers\[0\]\.weights holds 992 bytes, expected 1116/,
    );
    assert.throws(
      () => parseModel(withLayer(1, { activation: 'relu' }), 'c.json'),
      /c\.json: layers\[1\]\.activation is "relu", expected "linear"/,
    );
    assert.throws(
      () => parseModel(withLayer(1, { bias: '***' }), 'd.json'),
      /d\.json: layers\[1\]\.bias is not base64/,
    );
    assert.throws(
      () => parseModel(resign({ ...document, meta: { ...document.meta, shape: '31-9-2' } }), 'e.json'),
      /e\.json: meta\.shape is 31-9-2 but the layers are 31-8-2/,
    );
    assert.throws(
      () => parseModel(resign({ ...document, layers: [] }), 'f.json'),
      /f\.json: layers must be a non-empty array/,
    );
    const chained = JSON.parse(serializeModel(randomModel(6, [31, 8, 8, 2]), meta)) as {
      layers: Record<string, unknown>[];
    };
    const swapped = resign({ ...chained, layers: [chained.layers[0], chained.layers[0], chained.layers[2]] });
    assert.throws(
      () => parseModel(swapped, 'g.json'),
      /g\.json: layer 1 takes 31 inputs but layer 0 gives 8$/,
    );
  });

  test('saving refuses a model that does not match its declared shape', () => {
    assert.throws(
      () => serializeModel(randomModel(7, [31, 8, 2]), { ...meta, shape: '31-256-2' }),
      /meta\.shape is 31-256-2 but the model is 31-8-2/,
    );
  });

  test('a missing file is LAKE_E_IO', async () => {
    await assert.rejects(
      loadModel(join(dir, 'absent.json')),
      rejectsWith('LAKE_E_IO', /absent\.json: cannot read/),
    );
  });
});

describe('ModelSlot', () => {
  test('tryUpdate swaps in a good file and keeps the previous model on any failure', async () => {
    const good = join(dir, 'slot-good.json');
    const better = join(dir, 'slot-better.json');
    const bad = join(dir, 'slot-bad.json');
    await saveModel(good, randomModel(8, [31, 16, 2]), meta);
    await saveModel(better, randomModel(9, [31, 16, 2]), { ...meta, createdAt: '2026-02-01T00:00:00.000Z' });
    await writeFile(bad, (await readFile(good, 'utf8')).slice(0, 100));
    const swaps: number[] = [];
    const slot = new ModelSlot(undefined, { onSwap: (_model, version) => swaps.push(version) });
    const empty = slot.current;
    assert.equal(empty, undefined);
    assert.equal(slot.version, 0);

    const first = await slot.tryUpdate(good);
    assert.equal(first.ok, true);
    assert.equal(slot.version, 1);
    const inUse = slot.current;
    assert.equal(inUse?.path, good);

    for (const path of [bad, join(dir, 'missing.json')]) {
      const failed = await slot.tryUpdate(path);
      assert.equal(failed.ok, false);
      if (!failed.ok) assert.match(failed.error.message, new RegExp(path.replace(/[.]/g, '\\.')));
      assert.equal(slot.current, inUse, 'the previous model stays in use');
      assert.equal(slot.version, 1);
    }

    const second = await slot.tryUpdate(better);
    assert.equal(second.ok, true);
    assert.equal(slot.current?.meta.createdAt, '2026-02-01T00:00:00.000Z');
    assert.equal(slot.version, 2);
    assert.deepEqual(swaps, [1, 2]);
  });
});
