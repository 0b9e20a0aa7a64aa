import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import onnxProto from 'onnx-proto';
import { registerConvert } from '../../src/cli/convert.js';
import { LakeError } from '../../src/errors.js';
import { parseLinnosHeader, readLinnosHeader } from '../../src/models/linnos-header.js';
import { dequantizeLinnos } from '../../src/models/linnos-integer.js';
import { loadModel, saveModel } from '../../src/models/model-file.js';
import { runCommand } from '../helpers/cli.js';
import { fixturePath } from '../helpers/fixtures.js';
import { randomModel } from '../kernels/helpers.js';

const fixtures = fixturePath('linnos');
let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lake-convert-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function lake(...args: string[]): Promise<string> {
  return runCommand(registerConvert, 'convert', args);
}

test('header -> header keeps the integers and fixes weight_1_T', async () => {
  const out = join(dir, 'w_sde.h');
  const printed = await lake(join(fixtures, 'w_sde.h'), out);
  assert.match(printed, /note: weight_1_T_sde is a copy of weight_0_T_sde/);
  assert.match(printed, /wrote .*w_sde\.h \(31-256-2, from /);
  const original = parseLinnosHeader(await readFile(join(fixtures, 'w_sde.h'), 'utf8'), 'w_sde.h');
  const written = await readLinnosHeader(out);
  assert.equal(written.device, 'sde');
  assert.equal(written.artifactBug, false);
  assert.deepEqual(written.model, original.model);
});

test('header -> model file -> header round-trips, with metadata; --created-at makes it reproducible', async () => {
  const json = join(dir, 'weights.json');
  await lake(join(fixtures, 'weights.h'), json, '--device', 'sdb', '--created-at', '2026-03-04T05:06:07Z');
  const loaded = await loadModel(json);
  assert.equal(loaded.meta.kind, 'linnos');
  assert.equal(loaded.meta.featureSchema, 'linnos-digits-31');
  assert.equal(loaded.meta.device, 'sdb');
  assert.equal(loaded.meta.createdAt, '2026-03-04T05:06:07Z');
  assert.equal(loaded.meta.shape, '31-256-2');
  const header = parseLinnosHeader(await readFile(join(fixtures, 'weights.h'), 'utf8'), 'weights.h');
  assert.deepEqual(loaded.model, dequantizeLinnos(header.model));
  const first = await readFile(json, 'utf8');
  await lake(join(fixtures, 'weights.h'), json, '--device', 'sdb', '--created-at', '2026-03-04T05:06:07Z');
  assert.equal(await readFile(json, 'utf8'), first);

  const back = join(dir, 'w_sdb.h');
  await lake(json, back);
  assert.deepEqual((await readLinnosHeader(back)).model, header.model);
});

test('model file -> ONNX and -> header (device from the file name, the flag or the model)', async () => {
  const json = join(dir, 'trained.json');
  const model = randomModel(2, [31, 256, 2]);
  await saveModel(json, model, {
    kind: 'linnos',
    featureSchema: 'linnos-digits-31',
    createdAt: '2026-01-01T00:00:00Z',
    device: 'nvme1',
  });
  const onnxPath = join(dir, 'trained.onnx');
  await lake(json, onnxPath);
  const proto = onnxProto.onnx.ModelProto.decode(await readFile(onnxPath));
  assert.deepEqual(
    (proto.graph?.node ?? []).map((n) => n.opType),
    ['Gemm', 'Relu', 'Gemm'],
  );
  await lake(json, join(dir, 'from-model.h'));
  assert.equal((await readLinnosHeader(join(dir, 'from-model.h'))).device, 'nvme1');
  await lake(json, join(dir, 'other.h'), '--device', 'sdz');
  assert.equal((await readLinnosHeader(join(dir, 'other.h'))).device, 'sdz');
});

test('refusals', async () => {
  const usage = (pattern: RegExp) => (error: unknown) =>
    error instanceof LakeError && error.code === 'LAKE_E_USAGE' && pattern.test(error.message);
  await assert.rejects(
    lake(join(fixtures, 'w_sde.h'), join(dir, 'x.txt')),
    usage(/cannot write "\.txt" files/),
  );
  await assert.rejects(lake(join(dir, 'model.onnx'), join(dir, 'x.json')), usage(/export only/));
  await assert.rejects(lake(join(fixtures, 'weights.h'), join(dir, 'plain.h')), usage(/no device name/));
  await assert.rejects(
    lake(join(fixtures, 'w_sde.h'), join(dir, 'y.json'), '--created-at', 'yesterday'),
    usage(/ISO 8601/),
  );
  const nn1 = join(dir, 'nn1.json');
  await saveModel(nn1, randomModel(1, [31, 16, 16, 2]), {
    kind: 'linnos',
    featureSchema: 'linnos-digits-31',
    createdAt: '2026-01-01T00:00:00Z',
  });
  await assert.rejects(lake(nn1, join(dir, 'w_a.h')), /a LinnOS header holds an inputs-hidden-2 model/);
});
