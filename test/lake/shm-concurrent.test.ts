import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShmArena } from '../../src/lake/shm/arena.js';
import { spawnWorker } from '../../src/lake/spawn-worker.js';

async function waitFor(flag: Int32Array, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (Atomics.load(flag, 0) !== 1) {
    if (performance.now() > deadline) throw new Error('worker did not finish in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('two worker threads allocating and freeing at once never overlap, and the heap coalesces', async () => {
  const arena = ShmArena.create({ bytes: 2 << 20 });
  const initial = arena.walk();
  const results = [0, 1].map(() => new Int32Array(new SharedArrayBuffer(16)));
  const workers = results.map((result, id) =>
    spawnWorker(new URL('./fixtures/', import.meta.url), 'arena-worker', {
      workerData: { arena: arena.buffer, result: result.buffer, seed: 1000 + id, operations: 20_000, id },
    }),
  );
  const errors: Error[] = [];
  for (const worker of workers) worker.on('error', (error) => errors.push(error));
  try {
    await Promise.all(results.map((result) => waitFor(result, 25_000)));
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  assert.deepEqual(errors, []);
  for (const result of results) {
    assert.equal(result[1], 20_000);
    assert.equal(result[2], 0, 'no block was overwritten by the other thread');
  }
  const stats = arena.stats();
  assert.equal(stats.liveBlocks, 0);
  assert.equal(stats.allocations, stats.frees);
  assert.ok(stats.allocations > 10_000);
  assert.deepEqual(arena.walk(), initial, 'all memory back in one free block');
});
