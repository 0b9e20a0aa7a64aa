import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { MAX_IN_FLIGHT } from '../../src/lake/daemon/protocol.js';
import { RingFullError } from '../../src/lake/lib/errors.js';
import { LakeLib } from '../../src/lake/lib/lake-lib.js';

/**
 * At most 1024 commands in flight (LAKE's limit). lakeD is kept busy on a slow (still beating) command so
 * that nothing completes; the 1025th call then waits for the oldest to complete (up to ringFullWaitMs) or,
 * with ringFullWaitMs 0, throws RingFullError at once.
 */
async function fillRing(lib: LakeLib): Promise<{ device: number; host: number }> {
  const context = lib.contextCreate();
  const device = lib.memAlloc(context, 64);
  const host = lib.hostAlloc(64);
  lib.debug.sleep(400);
  for (let i = 1; i < MAX_IN_FLIGHT; i++) lib.memcpyHtoDAsync(device, host, 8);
  assert.equal(lib.stats().inFlight, MAX_IN_FLIGHT);
  return { device, host };
}

test('the 1025th command in flight is refused at once with ringFullWaitMs 0', async () => {
  const lib = await LakeLib.open({ arenaBytes: 1 << 20, ringFullWaitMs: 0 });
  try {
    const { device, host } = await fillRing(lib);
    assert.throws(
      () => lib.memcpyHtoDAsync(device, host, 8),
      (error: unknown) =>
        error instanceof RingFullError &&
        error instanceof LakeError &&
        /1024 commands in flight/.test(error.message),
    );
    assert.equal(lib.stats().inFlight, MAX_IN_FLIGHT);
    lib.streamSynchronize();
    assert.equal(lib.stats().inFlight, 0);
    assert.equal(lib.stats().failures.length, 0);
  } finally {
    await lib.close();
  }
});

test('by default the 1025th command waits for a slot and then goes through', async () => {
  const lib = await LakeLib.open({ arenaBytes: 1 << 20 });
  try {
    const { device, host } = await fillRing(lib);
    lib.memcpyHtoDAsync(device, host, 8); // waits until the sleep completes
    assert.ok(lib.stats().inFlight <= MAX_IN_FLIGHT);
    lib.streamSynchronize();
    const stats = lib.stats();
    assert.equal(stats.inFlight, 0);
    assert.equal(stats.inlineCommands, 0);
    assert.equal(stats.failures.length, 0);
  } finally {
    await lib.close();
  }
});
