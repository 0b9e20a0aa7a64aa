import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPredictor } from '../../src/kernels/create.js';
import { LakeLib } from '../../src/lake/lib/lake-lib.js';
import { type ContextHandle, type FunctionHandle, ptrArg, scalarArg } from '../../src/lake/lib/types.js';
import type { DenseModel } from '../../src/models/dense.js';
import { eventually, randomDenseModel, randomDigits } from './helpers.js';

const CHUNK = 256;
const CHUNKS = 8;
const N = CHUNK * CHUNKS;

interface Batch {
  model: DenseModel;
  context: ContextHandle;
  predict: FunctionHandle;
  digits: Uint8Array;
  deviceIn: number;
  deviceOut: number;
  hostOut: number;
}

/** A LinnOS model loaded on lakeD and N reads' features copied to device memory. */
function prepare(lib: LakeLib, seed: number): Batch {
  const model = randomDenseModel(seed, [31, 256, 256, 2]);
  const context = lib.contextCreate();
  const predict = lib.moduleGetFunction(lib.moduleLoad(context, 'linnos', model), 'predict');
  const digits = randomDigits(seed + 1, N);
  const hostIn = lib.hostAlloc(N * 31);
  lib.arena.bytes(hostIn, N * 31).set(digits);
  const deviceIn = lib.memAlloc(context, N * 31);
  const deviceOut = lib.memAlloc(context, N);
  lib.memcpyHtoD(deviceIn, hostIn, N * 31);
  const hostOut = lib.hostAlloc(N);
  lib.arena.bytes(hostOut, N).fill(255); // "no decision yet"
  return { model, context, predict, digits, deviceIn, deviceOut, hostOut };
}

function launchChunk(lib: LakeLib, batch: Batch, chunk: number): void {
  const offset = chunk * CHUNK;
  lib.launch(batch.predict, 2, [
    ptrArg(batch.deviceIn + offset * 31),
    ptrArg(batch.deviceOut + offset),
    scalarArg(CHUNK),
  ]);
  lib.memcpyDtoHAsync(batch.hostOut + offset, batch.deviceOut + offset, CHUNK);
}

/** Every read has its decision, and it is the one src/kernels' predictor makes. */
function assertEveryDecision(lib: LakeLib, batch: Batch): void {
  const reference = createPredictor(batch.model, { backend: 'wasm' });
  const expected = new Uint8Array(N);
  reference.predictBatch(batch.digits, N, expected);
  reference.dispose();
  const got = lib.arena.bytes(batch.hostOut, N).slice();
  assert.equal(got.indexOf(255), -1, 'a read lost its decision');
  assert.deepEqual(got, expected);
}

describe('lakeD dies or hangs: every decision is still made', () => {
  test('an injected crash mid-batch: the rest completes inline, lakeD restarts and serves again', async () => {
    // A crash is reported at once (no silence needed): a long hang limit keeps load spikes out of the test.
    const lib = await LakeLib.open({ arenaBytes: 4 << 20, hangTimeoutMs: 10_000 });
    try {
      const batch = prepare(lib, 21);
      for (let chunk = 0; chunk < CHUNKS; chunk++) {
        if (chunk === 3) lib.debug.crash();
        launchChunk(lib, batch, chunk);
      }
      lib.contextSynchronize(batch.context);
      assertEveryDecision(lib, batch);
      const stats = lib.stats();
      assert.equal(stats.failures.length, 1);
      assert.equal(stats.failures[0]!.kind, 'crash');
      assert.ok(stats.inlineCommands > 0);
      assert.equal(lib.inlineCommandCount, stats.inlineCommands, 'the getter reads the same count');
      assert.equal(stats.restarts, 1);
      // The new lakeD comes up with the state replayed (context, memory, module, function) and serves.
      await eventually(
        () => {
          lib.noop();
          return lib.stats().mode === 'daemon';
        },
        30_000,
        'the restarted lakeD',
      );
      const inlineBefore = lib.stats().inlineCommands;
      lib.arena.bytes(batch.hostOut, N).fill(255);
      for (let chunk = 0; chunk < CHUNKS; chunk++) launchChunk(lib, batch, chunk);
      lib.contextSynchronize(batch.context);
      assertEveryDecision(lib, batch);
      assert.equal(lib.stats().inlineCommands, inlineBefore, 'served by the new lakeD, not inline');
      assert.equal(lib.inlineCommandCount, inlineBefore);
    } finally {
      await lib.close();
    }
  });

  test('lakeD killed from outside (worker.terminate) while busy: decisions all made inline', async () => {
    const lib = await LakeLib.open({ arenaBytes: 4 << 20, hangTimeoutMs: 1000 });
    try {
      const batch = prepare(lib, 31);
      lib.debug.sleep(30); // lakeD is busy when the kill lands
      for (let chunk = 0; chunk < CHUNKS; chunk++) launchChunk(lib, batch, chunk);
      lib.debug.terminateDaemon();
      lib.contextSynchronize(batch.context);
      assertEveryDecision(lib, batch);
      const failures = lib.stats().failures;
      assert.equal(failures.length, 1);
      assert.ok(['hang', 'exit'].includes(failures[0]!.kind), failures[0]!.kind);
      assert.ok(failures[0]!.inFlight > 0, 'the kill caught work in flight');
    } finally {
      await lib.close();
    }
  });

  test('an injected hang is detected after hangTimeoutMs of silence, not before, and the call completes inline', async () => {
    const hangTimeoutMs = 600;
    const lib = await LakeLib.open({ arenaBytes: 1 << 20, hangTimeoutMs });
    try {
      const batch = prepare(lib, 41);
      launchChunk(lib, batch, 0);
      lib.debug.hang();
      for (let chunk = 1; chunk < CHUNKS; chunk++) launchChunk(lib, batch, chunk);
      const started = performance.now();
      lib.contextSynchronize(batch.context);
      const waited = performance.now() - started;
      assertEveryDecision(lib, batch);
      const failures = lib.stats().failures;
      assert.equal(failures.length, 1);
      assert.equal(failures[0]!.kind, 'hang');
      assert.ok(
        failures[0]!.silentMs >= hangTimeoutMs,
        `declared after ${failures[0]!.silentMs} ms of silence`,
      );
      assert.ok(waited >= hangTimeoutMs, `waited ${waited} ms, ${JSON.stringify(failures)}`);
      assert.ok(waited < 20_000, 'detected within a bounded time');
    } finally {
      await lib.close();
    }
  });

  test('with nobody waiting, the watchdog notices a dead lakeD and finishes its work', async () => {
    const lib = await LakeLib.open({ arenaBytes: 1 << 20, hangTimeoutMs: 10_000 });
    try {
      const batch = prepare(lib, 51);
      for (let chunk = 0; chunk < CHUNKS; chunk++) {
        if (chunk === 5) lib.debug.crash();
        launchChunk(lib, batch, chunk);
      }
      await eventually(() => lib.stats().failures.length === 1, 10_000, 'the watchdog');
      // Finished inline by the watchdog, before anyone synchronised.
      assertEveryDecision(lib, batch);
      lib.contextSynchronize(batch.context);
    } finally {
      await lib.close();
    }
  });
});
