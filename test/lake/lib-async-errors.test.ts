import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { LakeLib } from '../../src/lake/lib/lake-lib.js';
import { ptrArg, scalarArg } from '../../src/lake/lib/types.js';
import { randomDenseModel, randomDigits } from './helpers.js';

describe('async failures surface at the next synchronise', () => {
  let lib: LakeLib;
  before(async () => {
    lib = await LakeLib.open({ arenaBytes: 4 << 20 });
  });
  after(async () => {
    await lib.close();
  });

  test('a kernel failing inside lakeD returns nothing at launch and throws at streamSynchronize, once', () => {
    const context = lib.contextCreate();
    const fn = lib.moduleGetFunction(
      lib.moduleLoad(context, 'linnos', randomDenseModel(4, [31, 256, 2])),
      'predict',
    );
    const failing = lib.streamCreate(context);
    const healthy = lib.streamCreate(context);
    const n = 16;
    const host = lib.hostAlloc(n * 31);
    const digits = randomDigits(9, n);
    digits[5 * 31 + 3] = 42; // not a digit: the kernel refuses vector 5
    lib.arena.bytes(host, n * 31).set(digits);
    const input = lib.memAlloc(context, n * 31);
    const output = lib.memAlloc(context, n);
    lib.memcpyHtoD(input, host, n * 31);
    // Launch returns at once although the kernel will fail.
    lib.launch(fn, 1, [ptrArg(input), ptrArg(output), scalarArg(n)], failing);
    lib.noop(); // a sync call in between does not report another stream's async failure
    assert.doesNotThrow(() => lib.streamSynchronize(healthy));
    assert.throws(
      () => lib.streamSynchronize(failing),
      (error: unknown) =>
        error instanceof LakeError &&
        error.code === 'LAKE_E_USAGE' &&
        /async launch failed: vector 5, input 3 is 42, not a digit/.test(error.message),
    );
    // Reported once: the next synchronise is clean.
    assert.doesNotThrow(() => lib.streamSynchronize(failing));
    lib.contextDestroy(context);
    lib.hostFree(host);
  });

  test('an async copy outside device memory fails at contextSynchronize, with a count of further failures', () => {
    const context = lib.contextCreate();
    const device = lib.memAlloc(context, 128);
    const host = lib.hostAlloc(1024);
    lib.memcpyHtoDAsync(device, host, 1024);
    lib.memcpyDtoHAsync(host, device + 64, 128);
    lib.memcpyHtoDAsync(device, host, 128); // fine
    assert.throws(
      () => lib.contextSynchronize(context),
      (error: unknown) =>
        error instanceof LakeError &&
        /^async memcpyHtoDAsync failed: memcpyHtoD: device side: .* is not inside device memory \(and 1 more async failures\)$/.test(
          error.message,
        ),
    );
    assert.doesNotThrow(() => lib.contextSynchronize(context));
    lib.contextDestroy(context);
    lib.hostFree(host);
  });
});
