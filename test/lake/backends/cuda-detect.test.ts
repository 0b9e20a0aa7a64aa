import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LakeError } from '../../../src/errors.js';
import { CudaBackend } from '../../../src/lake/backends/cuda/backend.js';
import { CudaDriverError, cuResultName, packKernelParams } from '../../../src/lake/backends/cuda/driver.js';
import { openKoffiDriver } from '../../../src/lake/backends/cuda/koffi-driver.js';
import { ShmArena } from '../../../src/lake/shm/arena.js';
import { FakeCudaDriver } from './cuda-fake-driver.js';

/** Detection says which step failed and how; the driver's results become coded errors naming the call. */
describe('cuda detection', () => {
  test('on this machine: unusable, saying why (no koffi, or no libcuda.so.1)', () => {
    const opened = openKoffiDriver();
    if (typeof opened !== 'string') {
      opened.unload();
      return; // a machine with the NVIDIA driver: the GPU tests (scripts/gpu) cover it
    }
    assert.match(opened, /^(koffi not installed|libcuda\.so\.1 not found)/);
    const report = new CudaBackend().probe();
    assert.equal(report.name, 'cuda');
    assert.equal(report.kind, 'gpu');
    assert.equal(report.available, false);
    assert.equal(report.reason, `not available here: ${opened}`);
    assert.throws(
      () => new CudaBackend().open(ShmArena.create({ bytes: 4096 })),
      (error: unknown) => error instanceof LakeError && error.code === 'LAKE_E_USAGE',
    );
  });

  const cases: { name: string; driver: () => FakeCudaDriver | string; reason: RegExp }[] = [
    {
      name: 'koffi missing',
      driver: () => 'koffi not installed (the optional FFI package that opens the CUDA driver): x',
      reason: /^not available here: koffi not installed/,
    },
    {
      name: 'cuInit fails',
      driver: () => new FakeCudaDriver({ initResult: 100 }),
      reason: /^not available here: cuInit failed: CUDA_ERROR_NO_DEVICE$/,
    },
    {
      name: 'no device',
      driver: () => new FakeCudaDriver({ deviceCount: 0 }),
      reason: /^not available here: the CUDA driver sees no device$/,
    },
    {
      name: 'a GPU older than sm_70',
      driver: () => new FakeCudaDriver({ computeCapability: [6, 1] }),
      reason: /^not available here: Fake GPU has compute capability 6\.1; lake's PTX needs sm_70 or newer$/,
    },
  ];
  for (const c of cases) {
    test(`${c.name}: the reason names the step`, () => {
      const report = new CudaBackend({ openDriver: c.driver }).probe();
      assert.equal(report.available, false);
      assert.match(report.reason ?? '', c.reason);
    });
  }

  test('a usable device: capabilities name its architecture; detection runs once', () => {
    const driver = new FakeCudaDriver({ computeCapability: [9, 0] });
    const backend = new CudaBackend({ openDriver: () => driver });
    const report = backend.probe();
    assert.equal(report.available, true);
    assert.deepEqual(report.capabilities, [
      'cuda',
      'sm_90',
      'int16',
      'f32',
      'linnos',
      'dense-f32',
      'pci:0000:3B:00.0',
    ]);
    backend.probe();
    assert.equal(driver.calls.filter((c) => c === 'init').length, 1);
  });
});

describe('cuda driver errors and kernel parameters', () => {
  test('a CUresult becomes a coded error naming the call and the result', () => {
    const error = new CudaDriverError('cuLaunchKernel', 719, cuResultName(719));
    assert.equal(error.code, 'LAKE_E_IO');
    assert.equal(error.message, 'CUDA driver: cuLaunchKernel failed: CUDA_ERROR_LAUNCH_FAILED (719)');
    assert.equal(cuResultName(4242), 'CUresult 4242');
    assert.equal(
      cuResultName(719, () => 'FROM_DRIVER'),
      'FROM_DRIVER',
    );
  });

  test('packKernelParams: one 8-byte slot per argument, little-endian, pointers to each slot', () => {
    const slots = new DataView(new ArrayBuffer(64));
    slots.setBigUint64(24, 0xffff_ffff_ffff_ffffn, true); // garbage left from a previous launch
    const pointers = new BigUint64Array(8);
    packKernelParams(
      [
        { type: 'u64', value: 0x7f00_1234_5678n },
        { type: 'u64', value: 0x10n },
        { type: 'f64', value: 1.5 },
        { type: 'u32', value: 1024 },
      ],
      slots,
      pointers,
      0x1000n,
    );
    assert.equal(slots.getBigUint64(0, true), 0x7f00_1234_5678n);
    assert.equal(slots.getBigUint64(8, true), 0x10n);
    assert.equal(slots.getFloat64(16, true), 1.5);
    assert.equal(slots.getUint32(24, true), 1024);
    assert.equal(slots.getUint32(28, true), 0, 'the u32 slot is cleared above its 4 bytes');
    assert.deepEqual([...pointers.subarray(0, 4)], [0x1000n, 0x1008n, 0x1010n, 0x1018n]);
    assert.throws(() => packKernelParams([{ type: 'u32', value: -1 }], slots, pointers, 0n), /is not a u32/);
    assert.throws(
      () => packKernelParams(Array(9).fill({ type: 'u32', value: 1 }), slots, pointers, 0n),
      /9 arguments, room for 8/,
    );
  });
});
