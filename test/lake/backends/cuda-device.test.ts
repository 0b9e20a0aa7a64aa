import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LakeError } from '../../../src/errors.js';
import { linnosLayerSizes } from '../../../src/models/dense.js';
import { randomModel, realisticDigits, uniformDigits } from '../../kernels/helpers.js';
import { randomDenseModel } from '../helpers.js';
import { openFakeCuda, runBatch } from './cuda-harness.js';

/**
 * The CUDA device's host side over a fake driver whose launches emulate the PTX kernels' arithmetic on
 * the device image: every output must equal cpu-wasm's bytes (LinnOS decisions and logits, dense f32).
 */
const SHAPES = ['nn', 'nn+1', 'nn+2'] as const;

describe('cuda device (fake driver): bit-exact with cpu-wasm', () => {
  for (const [s, shape] of SHAPES.entries()) {
    test(`linnos ${shape}: decisions and logits`, () => {
      const { arena, driver, device, cpu } = openFakeCuda();
      const calibration = uniformDigits(40 + s, 200);
      const model = randomModel(10 + s, linnosLayerSizes(shape), calibration);
      for (const [name, digits] of [
        ['uniform', uniformDigits(20 + s, 129)],
        ['realistic', realisticDigits(30 + s, 129)],
      ] as const) {
        const n = digits.length / 31;
        for (const fn of [0, 1]) {
          const job = { kernelSet: 'linnos', fn, input: digits, n, outBytes: fn === 0 ? n : n * 8 } as const;
          const expected = runBatch(arena, cpu, model, job);
          assert.deepEqual(runBatch(arena, device, model, job), expected, `${name} fn ${fn}`);
          assert.deepEqual(
            runBatch(arena, device, model, { ...job, blocks: 3 }),
            expected,
            `${name} in 3 blocks`,
          );
        }
        // Not a vacuous agreement: both classes occur.
        const decisions = runBatch(arena, cpu, model, {
          kernelSet: 'linnos',
          fn: 0,
          input: digits,
          n,
          outBytes: n,
        });
        assert.ok(decisions.includes(0) && decisions.includes(1), `${name}: both classes`);
      }
      assert.equal(device.capabilities.includes('faulted'), false);
      assert.ok(driver.launches >= 12, `${driver.launches} launches ran on the (fake) GPU`);
      device.close();
    });
  }

  test('dense-f32: any shape, f32 outputs bit for bit', () => {
    const { arena, device, cpu, driver } = openFakeCuda();
    for (const sizes of [
      [12, 40, 17, 3],
      [5, 300, 1],
      [31, 256, 2],
    ]) {
      const model = randomDenseModel(sizes.length, sizes);
      const n = 33;
      const xs = Float32Array.from({ length: n * sizes[0]! }, (_, i) => Math.sin(i * 0.37) * 4);
      const job = {
        kernelSet: 'dense-f32',
        fn: 0,
        input: new Uint8Array(xs.buffer),
        n,
        outBytes: n * sizes[sizes.length - 1]! * 4,
      } as const;
      assert.deepEqual(
        runBatch(arena, device, model, job),
        runBatch(arena, cpu, model, job),
        sizes.join('-'),
      );
    }
    assert.ok(driver.launches >= 3);
    device.close();
  });

  test('a digit above 9 is refused with cpu-wasm error, and the device stays on the GPU', () => {
    const { arena, device, cpu } = openFakeCuda();
    const model = randomModel(3, linnosLayerSizes('nn'));
    const digits = uniformDigits(4, 10);
    digits[5 * 31 + 7] = 12;
    const job = { kernelSet: 'linnos', fn: 0, input: digits, n: 10, outBytes: 10 } as const;
    let cpuError: unknown;
    try {
      runBatch(arena, cpu, model, job);
    } catch (error) {
      cpuError = error;
    }
    assert.ok(cpuError instanceof LakeError);
    assert.throws(
      () => runBatch(arena, device, model, job),
      (error: unknown) => error instanceof LakeError && error.message === cpuError.message,
    );
    assert.equal(device.capabilities.includes('faulted'), false);
    device.close();
  });
});

describe('cuda device (fake driver): resources and streams', () => {
  test('close() releases every context, stream, allocation, module and pinning it made', () => {
    const { arena, driver, device } = openFakeCuda();
    const model = randomModel(5, linnosLayerSizes('nn+1'));
    const digits = uniformDigits(6, 8);
    runBatch(arena, device, model, { kernelSet: 'linnos', fn: 0, input: digits, n: 8, outBytes: 8 });
    assert.ok(driver.live.allocations > 0 && driver.live.contexts === 1 && driver.live.registrations === 1);
    device.close();
    assert.deepEqual(driver.live, { contexts: 0, streams: 0, modules: 0, allocations: 0, registrations: 0 });
  });

  test("'yield' runs on the least-priority stream, 'priority' on the greatest", () => {
    const quiet = openFakeCuda({}, { mode: 'yield' });
    assert.equal(quiet.driver.streamPriority, 0);
    assert.ok(quiet.device.capabilities.includes('normal-priority-stream'));
    quiet.device.close();
    const urgent = openFakeCuda({}, { mode: 'priority' });
    assert.equal(urgent.driver.streamPriority, -5);
    assert.ok(urgent.device.capabilities.includes('high-priority-stream'));
    urgent.device.close();
  });

  test('lakeLib inline role: no context on the caller thread, the same bytes from the CPU twins', () => {
    const { arena, driver, device, cpu } = openFakeCuda({}, { onLakeD: false });
    const model = randomModel(7, linnosLayerSizes('nn'));
    const digits = uniformDigits(8, 20);
    const job = { kernelSet: 'linnos', fn: 1, input: digits, n: 20, outBytes: 160 } as const;
    assert.deepEqual(runBatch(arena, device, model, job), runBatch(arena, cpu, model, job));
    assert.equal(driver.calls.includes('contextCreate'), false);
    assert.equal(driver.launches, 0);
    assert.ok(device.capabilities.includes('inline'));
    device.close();
  });

  test('lakeShm that cannot be pinned: copies stay correct (pageable), the GPU still runs', () => {
    const { arena, driver, device, cpu } = openFakeCuda({
      failAt: { method: 'hostRegister', result: 2, sticky: false },
    });
    const model = randomModel(11, linnosLayerSizes('nn'));
    const digits = uniformDigits(12, 16);
    const job = { kernelSet: 'linnos', fn: 1, input: digits, n: 16, outBytes: 128 } as const;
    assert.deepEqual(runBatch(arena, device, model, job), runBatch(arena, cpu, model, job));
    assert.ok(device.capabilities.includes('pageable-copies'), device.capabilities.join(','));
    assert.equal(device.fault, undefined);
    assert.equal(driver.launches, 1);
    device.close();
    assert.deepEqual(driver.live, { contexts: 0, streams: 0, modules: 0, allocations: 0, registrations: 0 });
  });

  test('a layer too wide for shared memory is refused at load, naming the limit', () => {
    const { device } = openFakeCuda();
    const model = randomDenseModel(9, [4, 7000, 2]);
    assert.throws(
      () => device.loadModule('dense-f32', model),
      (error: unknown) => error instanceof LakeError && /49152 a block gets/.test(error.message),
    );
    device.close();
  });
});
