import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CudaDriver } from '../../../src/lake/backends/cuda/driver.js';
import { linnosLayerSizes } from '../../../src/models/dense.js';
import { randomModel, uniformDigits } from '../../kernels/helpers.js';
import { openFakeCuda, runBatch } from './cuda-harness.js';

/**
 * A GPU fault never loses a decision: whichever driver call fails (at open, module load, a copy, the
 * launch, the copy back, the synchronisation), and whether it fails on the first batch or mid-run, every
 * batch's output equals cpu-wasm's, the device moves to its CPU path for good, says so, and detection
 * reports the backend unusable on this thread, naming the failed call.
 */
const FAULTS: { method: keyof CudaDriver; nth: number }[] = [
  { method: 'contextCreate', nth: 1 },
  { method: 'streamCreate', nth: 1 },
  { method: 'moduleLoadPtx', nth: 1 },
  { method: 'memAlloc', nth: 3 },
  { method: 'memcpyHtoDAsync', nth: 4 },
  { method: 'memsetD32Async', nth: 2 },
  { method: 'launch', nth: 1 },
  { method: 'launch', nth: 3 },
  { method: 'memcpyDtoHAsync', nth: 2 },
  { method: 'streamSynchronize', nth: 3 },
];

for (const fault of FAULTS.flatMap((f) => [true, false].map((sticky) => ({ ...f, sticky })))) {
  const how = fault.sticky ? 'and every call after it' : 'once';
  test(`${fault.method} failing (call ${fault.nth}, ${how}): every batch still decided, bit-exact, on the CPU path`, () => {
    const { arena, driver, backend, device, cpu } = openFakeCuda({ failAt: { ...fault, result: 719 } });
    const model = randomModel(21, linnosLayerSizes('nn+1'), uniformDigits(22, 100));
    for (let batch = 0; batch < 4; batch++) {
      const digits = uniformDigits(100 + batch, 17 + batch);
      const n = digits.length / 31;
      for (const fn of [0, 1]) {
        const job = { kernelSet: 'linnos', fn, input: digits, n, outBytes: fn === 0 ? n : 8 * n } as const;
        assert.deepEqual(
          runBatch(arena, device, model, job),
          runBatch(arena, cpu, model, job),
          `batch ${batch}`,
        );
      }
    }
    assert.ok(driver.calls.includes(fault.method), `${fault.method} was called`);
    assert.ok(device.capabilities.includes('faulted'), device.capabilities.join(','));
    assert.match(device.name, /faulted: runs on the CPU path/);
    const report = backend.probe();
    assert.equal(report.available, false);
    assert.match(report.reason ?? '', /^not available here: the device faulted in this process/);
    assert.match(report.reason ?? '', /CUDA_ERROR_LAUNCH_FAILED/);
    device.close();
    // A driver that still answers gets back everything the device made, even after the fault.
    if (!fault.sticky)
      assert.deepEqual(driver.live, {
        contexts: 0,
        streams: 0,
        modules: 0,
        allocations: 0,
        registrations: 0,
      });
  });
}
