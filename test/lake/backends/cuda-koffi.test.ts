import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CpuWasmBackend } from '../../../src/lake/backends/cpu-wasm/device.js';
import { CudaBackend } from '../../../src/lake/backends/cuda/backend.js';
import { type CudaDriver, CudaDriverError } from '../../../src/lake/backends/cuda/driver.js';
import { openKoffiDriver } from '../../../src/lake/backends/cuda/koffi-driver.js';
import { ptxModule } from '../../../src/lake/backends/cuda/ptx.js';
import { ShmArena } from '../../../src/lake/shm/arena.js';
import { linnosLayerSizes } from '../../../src/models/dense.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { randomModel, uniformDigits } from '../../kernels/helpers.js';
import { runBatch } from './cuda-harness.js';
import { koffi, stubLibrarySkip } from './stub-library.js';

/**
 * The real koffi binding of the driver, against a stand-in libcuda.so.1 compiled from
 * test/fixtures/cuda-stub/libcuda-stub.c: every signature, out-parameter and kernel parameter crosses the
 * FFI as it would to NVIDIA's driver. Skipped where koffi or a C compiler is missing.
 */
const skip = stubLibrarySkip();

describe('cuda driver through koffi (stub libcuda)', { skip }, () => {
  let dir = '';
  let library = '';
  let lastLaunch: (out: BigUint64Array) => void;
  let live: (out: Int32Array) => void;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lake-cuda-stub-'));
    library = join(dir, 'libcuda.so.1');
    const built = spawnSync(
      'cc',
      ['-shared', '-fPIC', '-o', library, fixturePath('cuda-stub/libcuda-stub.c')],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(built.status, 0, built.stderr);
    if (typeof koffi === 'string') return;
    const stub = koffi.load(library);
    lastLaunch = stub.func('void stub_last_launch(uint64_t *out)') as (out: BigUint64Array) => void;
    live = stub.func('void stub_live(int *out)') as (out: Int32Array) => void;
  });
  after(() => {
    delete process.env['STUB_CUINIT'];
    delete process.env['STUB_LAUNCH'];
    rmSync(dir, { recursive: true, force: true });
  });

  const open = (): CudaDriver => {
    const driver = openKoffiDriver(library);
    assert.equal(typeof driver, 'object', String(driver));
    return driver as CudaDriver;
  };

  test('detection, context, stream priority, copies and a launch cross the FFI intact', () => {
    const driver = open();
    driver.init();
    assert.equal(driver.deviceCount(), 1);
    const device = driver.device(0);
    assert.equal(driver.deviceName(device), 'Stub GPU');
    assert.deepEqual(driver.computeCapability(device), [8, 6]);
    assert.equal(driver.pciBusId(device), '0000:3B:00.0');
    const context = driver.contextCreate(device);
    driver.contextSetCurrent(context);
    assert.deepEqual(driver.streamPriorityRange(), [0, -5]);
    const stream = driver.streamCreate(-5);
    const arena = new Uint8Array(new SharedArrayBuffer(4096));
    assert.equal(driver.hostRegister(arena), true);
    const pointer = driver.memAlloc(64);
    assert.equal(typeof pointer, 'bigint');
    arena.set([1, 2, 3, 4, 5, 6, 7, 8], 16);
    driver.memcpyHtoDAsync(pointer, arena.subarray(16, 24), stream);
    driver.memsetD32Async(pointer + 8n, 0x7fffffff, 1, stream);
    driver.memcpyDtoHAsync(arena.subarray(100, 112), pointer, stream);
    driver.streamSynchronize(stream);
    assert.deepEqual([...arena.subarray(100, 112)], [1, 2, 3, 4, 5, 6, 7, 8, 255, 255, 255, 127]);
    const module = driver.moduleLoadPtx(ptxModule('linnos'));
    const fn = driver.moduleGetFunction(module, 'linnos_predict');
    driver.launch(fn, { gridX: 37, blockX: 256, sharedBytes: 4160 }, stream, [
      { type: 'u64', value: pointer },
      { type: 'u64', value: 0x7f00_0000_1234n },
      { type: 'u64', value: 0x10n },
      { type: 'u32', value: 37 },
      { type: 'u64', value: pointer + 8n },
    ]);
    const launched = new BigUint64Array(8);
    lastLaunch(launched);
    assert.deepEqual([...launched], [37n, 256n, 4160n, pointer, 0x7f00_0000_1234n, 0x10n, 37n, pointer + 8n]);
    driver.moduleUnload(module);
    driver.memFree(pointer);
    driver.hostUnregister(arena);
    driver.streamDestroy(stream);
    driver.contextDestroy(context);
    const counts = new Int32Array(6);
    live(counts);
    assert.deepEqual([...counts], [0, 0, 0, 0, 0, -5]);
    driver.unload();
  });

  test("a failing call is a coded error named by the driver's cuGetErrorName, with the JIT log", () => {
    const driver = open();
    assert.throws(
      () => driver.moduleLoadPtx('.version 7.0\n.target sm_50\n'),
      (error: unknown) =>
        error instanceof CudaDriverError &&
        error.code === 'LAKE_E_IO' &&
        error.resultName === 'CUDA_ERROR_INVALID_PTX' &&
        /JIT log: ptxas fatal: stub JIT refuses/.test(error.message),
    );
    assert.throws(
      () => driver.moduleGetFunction(0x3000n, 'nope'),
      (error: unknown) =>
        error instanceof CudaDriverError &&
        /CUDA_ERROR_NOT_FOUND \(500\) \(function nope\)$/.test(error.message),
    );
    process.env['STUB_CUINIT'] = '100';
    try {
      const report = new CudaBackend({ openDriver: () => openKoffiDriver(library) }).probe();
      assert.equal(report.reason, 'not available here: cuInit failed: CUDA_ERROR_NO_DEVICE');
    } finally {
      delete process.env['STUB_CUINIT'];
    }
    driver.unload();
  });

  test('a launch failing in the driver: the batch finishes on the CPU twin, bit-exact, and the device says why', () => {
    const backend = new CudaBackend({ openDriver: () => openKoffiDriver(library), mode: 'priority' });
    assert.equal(backend.probe().available, true);
    const arena = ShmArena.create({ bytes: 1 << 20 });
    const device = backend.open(arena, { onLakeD: true });
    const cpu = new CpuWasmBackend().open(arena);
    const model = randomModel(31, linnosLayerSizes('nn'), uniformDigits(32, 100));
    const digits = uniformDigits(33, 40);
    const job = { kernelSet: 'linnos', fn: 0, input: digits, n: 40, outBytes: 40 } as const;
    process.env['STUB_LAUNCH'] = '719';
    try {
      assert.deepEqual(runBatch(arena, device, model, job), runBatch(arena, cpu, model, job));
    } finally {
      delete process.env['STUB_LAUNCH'];
    }
    assert.match(
      device.fault ?? '',
      /launch linnos_predict: CUDA driver: cuLaunchKernel failed: CUDA_ERROR_LAUNCH_FAILED \(719\)/,
    );
    device.close();
    const counts = new Int32Array(6);
    live(counts);
    assert.deepEqual(
      [...counts],
      [0, 0, 0, 0, 0, -5],
      'close released what open made; the stream had top priority',
    );
  });
});
