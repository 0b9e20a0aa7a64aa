import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { createPredictor } from '../../src/kernels/create.js';
import { LakeLib } from '../../src/lake/lib/lake-lib.js';
import { ptrArg, scalarArg } from '../../src/lake/lib/types.js';
import { linnosLayerSizes } from '../../src/models/dense.js';
import { randomDenseModel, randomDigits, referenceForward } from './helpers.js';

for (const spin of [true, false]) {
  describe(`lakeLib round trips (${spin ? 'spin then sleep' : 'sleep only'})`, () => {
    let lib: LakeLib;
    before(async () => {
      lib = await LakeLib.open({ spin, arenaBytes: 8 << 20 });
    });
    after(async () => {
      await lib.close();
    });

    test('a no-op sync call round-trips through lakeD, many times in a row', () => {
      for (let i = 0; i < 2000; i++) lib.noop();
      const stats = lib.stats();
      assert.equal(stats.mode, 'daemon');
      assert.equal(stats.inlineCommands, 0);
      assert.equal(stats.daemonCommands, 2000);
      assert.equal(stats.inFlight, 0);
    });

    test('devices: cpu-wasm is device 0; webgpu is listed as not available with a reason', () => {
      assert.equal(lib.getDeviceCount(), 1);
      const device = lib.getDevice(0);
      assert.equal(device.backend, 'cpu-wasm');
      assert.equal(device.kind, 'cpu');
      assert.ok(device.capabilities.includes('linnos'));
      assert.throws(
        () => lib.getDevice(1),
        (error: unknown) => error instanceof LakeError && /device 1 does not exist/.test(error.message),
      );
      const webgpu = lib.listBackends().find((b) => b.name === 'webgpu');
      assert.equal(webgpu?.available, false);
      assert.match(webgpu?.reason ?? '', /^not available here: /);
    });
  });
}

test('LAKE_DISABLE_SPIN=1 turns spinning off unless options.spin says otherwise', async () => {
  const saved = process.env['LAKE_DISABLE_SPIN'];
  process.env['LAKE_DISABLE_SPIN'] = '1';
  const lib = await LakeLib.open({ arenaBytes: 1 << 20 });
  try {
    assert.equal(lib.spinning, false);
    lib.noop();
    assert.equal(lib.stats().daemonCommands, 1);
  } finally {
    await lib.close();
    if (saved === undefined) delete process.env['LAKE_DISABLE_SPIN'];
    else process.env['LAKE_DISABLE_SPIN'] = saved;
  }
});

describe('lakeLib on lakeD: kernels, copies, streams, errors', () => {
  let lib: LakeLib;
  before(async () => {
    lib = await LakeLib.open({ arenaBytes: 16 << 20 });
  });
  after(async () => {
    await lib.close();
  });

  for (const shape of ['nn', 'nn+1', 'nn+2'] as const) {
    test(`LinnOS ${shape}: lakeD's decisions and logits equal src/kernels' predictor`, () => {
      const model = randomDenseModel(7, linnosLayerSizes(shape));
      const n = 700;
      const digits = randomDigits(11, n);
      const context = lib.contextCreate(0);
      const module = lib.moduleLoad(context, 'linnos', model);
      const predict = lib.moduleGetFunction(module, 'predict');
      const scores = lib.moduleGetFunction(module, 'scores');
      const stream = lib.streamCreate(context);
      const hostIn = lib.hostAlloc(n * 31);
      const hostDecisions = lib.hostAlloc(n);
      const hostLogits = lib.hostAlloc(n * 8);
      lib.arena.bytes(hostIn, n * 31).set(digits);
      const deviceIn = lib.memAlloc(context, n * 31);
      const deviceDecisions = lib.memAlloc(context, n);
      const deviceLogits = lib.memAlloc(context, n * 8);
      lib.memcpyHtoDAsync(deviceIn, hostIn, n * 31, stream);
      lib.launch(predict, 3, [ptrArg(deviceIn), ptrArg(deviceDecisions), scalarArg(n)], stream);
      lib.launch(scores, { x: 2, y: 2 }, [ptrArg(deviceIn), ptrArg(deviceLogits), scalarArg(n)], stream);
      lib.memcpyDtoHAsync(hostDecisions, deviceDecisions, n, stream);
      lib.memcpyDtoHAsync(hostLogits, deviceLogits, n * 8, stream);
      lib.streamSynchronize(stream);
      const reference = createPredictor(model, { backend: 'wasm' });
      const expected = new Uint8Array(n);
      reference.predictBatch(digits, n, expected);
      const expectedLogits = new Float32Array(n * 2);
      reference.scoresBatch(digits, n, expectedLogits);
      reference.dispose();
      assert.deepEqual(lib.arena.bytes(hostDecisions, n).slice(), expected);
      assert.deepEqual(lib.arena.f32(hostLogits, n * 2).slice(), expectedLogits);
      lib.streamDestroy(stream);
      lib.contextDestroy(context);
      for (const host of [hostIn, hostDecisions, hostLogits]) lib.hostFree(host);
    });
  }

  test('dense-f32: forward of a 12-32-16-3 model over a batch equals the plain-loop reference', () => {
    const model = randomDenseModel(3, [12, 32, 16, 3]);
    const n = 90;
    const xs = Float32Array.from({ length: n * 12 }, (_, i) => Math.sin(i) * 3);
    const context = lib.contextCreate();
    const forward = lib.moduleGetFunction(lib.moduleLoad(context, 'dense-f32', model), 'forward');
    const host = lib.hostAlloc(n * 12 * 4);
    lib.arena.f32(host, n * 12).set(xs);
    const deviceX = lib.memAlloc(context, n * 12 * 4);
    const deviceY = lib.memAlloc(context, n * 3 * 4);
    lib.memcpyHtoD(deviceX, host, n * 12 * 4);
    lib.launch(forward, 4, [ptrArg(deviceX), ptrArg(deviceY), scalarArg(n)]);
    lib.memcpyDtoH(host, deviceY, n * 3 * 4);
    lib.contextSynchronize(context);
    const got = lib.arena.f32(host, n * 3);
    const expected = referenceForward(model, xs, n);
    for (let i = 0; i < expected.length; i++)
      assert.ok(Math.abs(got[i]! - expected[i]!) < 1e-4, `output ${i}`);
    lib.contextDestroy(context);
    lib.hostFree(host);
  });

  test('sync errors come back with their code and message, never dropped', () => {
    const context = lib.contextCreate();
    const module = lib.moduleLoad(context, 'linnos', randomDenseModel(1, [31, 256, 2]));
    assert.throws(
      () => lib.moduleGetFunction(module, 'train'),
      (error: unknown) =>
        error instanceof LakeError &&
        error.code === 'LAKE_E_USAGE' &&
        /has no function 'train' \(has predict, scores\)/.test(error.message),
    );
    const device = lib.memAlloc(context, 64);
    const host = lib.hostAlloc(256);
    assert.throws(
      () => lib.memcpyHtoD(device, host, 256),
      /memcpyHtoD: device side: \[\d+, \+256\) is not inside device memory/,
    );
    assert.throws(() => lib.memcpyDtoH(host, host, 16), /not inside device memory/);
    assert.throws(() => lib.contextCreate(5), /device 5 does not exist/);
    assert.throws(
      () => lib.moduleLoad(context, 'linnos', randomDenseModel(1, [31, 8, 3])),
      (error: unknown) => error instanceof LakeError && error.code === 'LAKE_E_MODEL_FORMAT',
    );
    // The ring is intact after errors.
    lib.noop();
    assert.equal(lib.stats().inFlight, 0);
    lib.memFree(device);
    assert.throws(() => lib.memFree(device), /is not device memory/);
    lib.contextDestroy(context);
    lib.hostFree(host);
  });

  test('unloading a module and destroying a context release their lakeShm regions', () => {
    const baseline = lib.arena.stats().liveBlocks;
    const context = lib.contextCreate();
    const module = lib.moduleLoad(context, 'dense-f32', randomDenseModel(2, [4, 4, 2]));
    const fn = lib.moduleGetFunction(module, 'forward');
    lib.memAlloc(context, 4096);
    lib.streamCreate(context);
    assert.equal(lib.arena.stats().liveBlocks, baseline + 2, 'the module image and the device memory');
    lib.moduleUnload(module);
    assert.equal(lib.arena.stats().liveBlocks, baseline + 1);
    assert.throws(
      () => lib.launch(fn, 1, [ptrArg(0), ptrArg(0), scalarArg(0)]),
      /function \d+ does not exist/,
    );
    assert.throws(() => lib.moduleUnload(module), /is not loaded/);
    lib.contextDestroy(context);
    assert.equal(lib.arena.stats().liveBlocks, baseline);
    assert.throws(() => lib.streamCreate(context), /context \d+ does not exist/);
  });

  test('a launch that cannot be one is refused at once', () => {
    const context = lib.contextCreate();
    const fn = lib.moduleGetFunction(
      lib.moduleLoad(context, 'linnos', randomDenseModel(1, [31, 256, 2])),
      'predict',
    );
    assert.throws(() => lib.launch(fn, 1, [scalarArg(1)]), /1 arguments for 3 parameters/);
    assert.throws(
      () => lib.launch(fn, 1, [scalarArg(1), scalarArg(2), scalarArg(3)]),
      /argument 0 \(xs\) must be a ptr/,
    );
    assert.throws(() => lib.launch(fn, 0, [ptrArg(1), ptrArg(2), scalarArg(3)]), /grid dimension/);
    assert.throws(() => lib.launch(999, 1, []), /function 999 does not exist/);
    lib.contextDestroy(context);
  });

  test('utilisation reports lakeD busy after work, idle fraction otherwise', () => {
    const context = lib.contextCreate();
    const fn = lib.moduleGetFunction(
      lib.moduleLoad(context, 'linnos', randomDenseModel(2, [31, 256, 256, 2])),
      'predict',
    );
    const n = 2000;
    const device = lib.memAlloc(context, n * 32);
    const host = lib.hostAlloc(n * 31);
    lib.arena.bytes(host, n * 31).set(randomDigits(5, n));
    lib.memcpyHtoD(device, host, n * 31);
    lib.hostFree(host);
    lib.utilisation();
    for (let i = 0; i < 5; i++) lib.launch(fn, 4, [ptrArg(device), ptrArg(device + n * 31), scalarArg(n)]);
    lib.contextSynchronize(context);
    const sample = lib.utilisation();
    assert.equal(sample.mode, 'daemon', JSON.stringify(lib.stats().failures));
    assert.ok(sample.busy > 0 && sample.busy <= 1, `busy ${sample.busy}`);
    assert.equal(sample.inFlight, 0);
    lib.contextDestroy(context);
  });
});
