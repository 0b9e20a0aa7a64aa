import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type BatchClose, type BatchingOptions, VirtualBatcher } from '../../src/lake/policy/batcher.js';
import { LAKE_BATCHING } from '../../src/lake/policy/constants.js';

/** Virtual timers the test runs by hand, in time order. */
class Timers {
  readonly due: { atUs: number; fire: (nowUs: number) => void }[] = [];
  wakeAt(atUs: number, fire: (nowUs: number) => void): void {
    this.due.push({ atUs, fire });
  }
  runUntil(us: number): void {
    this.due.sort((a, b) => a.atUs - b.atUs);
    while (this.due.length > 0 && this.due[0]!.atUs <= us) {
      const next = this.due.shift()!;
      next.fire(next.atUs);
    }
  }
}

function batcher(options: BatchingOptions): {
  batcher: VirtualBatcher;
  closed: [number, number, number, BatchClose][];
} {
  const closed: [number, number, number, BatchClose][] = [];
  return {
    batcher: new VirtualBatcher(2, options, (device, size, nowUs, why) =>
      closed.push([device, size, nowUs, why]),
    ),
    closed,
  };
}

describe('per-device batching in virtual time', () => {
  test("LAKE's defaults for NN, NN+1, NN+2", () => {
    assert.deepEqual(
      Object.values(LAKE_BATCHING).map((d) => [d.windowUs, d.maxBatch, d.paperThreshold]),
      [
        [5, 10, 8],
        [40, 8, 4],
        [40, 6, 4],
      ],
    );
  });

  test('a batch closes when its window ends, with every read that arrived in it', () => {
    const { batcher: b, closed } = batcher({ windowUs: 5, maxBatch: 10, hold: 'always' });
    const timers = new Timers();
    b.offer(0, 100, timers, 8);
    b.offer(0, 102, timers, 8);
    b.offer(1, 103, timers, 8); // another device: its own batch
    b.offer(0, 104.5, timers, 8);
    assert.equal(b.pending(0), 3);
    timers.runUntil(105);
    assert.deepEqual(closed, [[0, 3, 105, 'window']]);
    timers.runUntil(1000);
    assert.deepEqual(closed[1], [1, 1, 108, 'window']);
    b.offer(0, 200, timers, 8); // a new batch after the last one closed
    timers.runUntil(1000);
    assert.deepEqual(closed[2], [0, 1, 205, 'window']);
  });

  test('a batch closes at once when full, and its window timer then does nothing', () => {
    const { batcher: b, closed } = batcher({ windowUs: 40, maxBatch: 3, hold: 'always' });
    const timers = new Timers();
    for (const t of [0, 1, 2]) b.offer(0, t, timers, 4);
    assert.deepEqual(closed, [[0, 3, 2, 'full']]);
    b.offer(0, 10, timers, 4); // opens the next batch, window to 50
    timers.runUntil(45);
    assert.equal(closed.length, 1, 'the first window (0 + 40) found its batch closed');
    timers.runUntil(50);
    assert.deepEqual(closed[1], [0, 1, 50, 'window']);
  });

  test("'likely': a read waits only when the inter-arrival time says the window can reach the crossover", () => {
    const { batcher: b, closed } = batcher({ windowUs: 40, maxBatch: 8, hold: 'likely' });
    const timers = new Timers();
    // Sparse: one read every 100 us -> 1 + 40/100 < 2: each read is decided alone at once.
    for (let i = 0; i < 5; i++) b.offer(0, i * 100, timers, 2);
    assert.ok(closed.every(([, size, , why]) => size === 1 && why === 'lone'));
    assert.equal(closed.length, 5);
    assert.equal(b.interArrivalUs(0), 100);
    // Dense: one every 10 us -> 1 + 40/10 = 5 >= 2: reads are held for a batch.
    for (let i = 0; i < 40; i++) b.offer(1, i * 10, timers, 2);
    timers.runUntil(10_000);
    const dense = closed.filter(([device]) => device === 1);
    assert.ok(
      dense.some(([, size]) => size > 1),
      'batches formed',
    );
    assert.equal(
      dense.reduce((sum, [, size]) => sum + size, 0),
      40,
      'every read is in exactly one batch',
    );
    // No backend wins at any size (null), or only beyond the maximum batch: never wait.
    const { batcher: never, closed: alone } = batcher({ windowUs: 40, maxBatch: 8, hold: 'likely' });
    for (let i = 0; i < 10; i++) never.offer(0, i, timers, i < 5 ? null : 9);
    assert.equal(alone.length, 10);
  });

  test("'never' decides every read alone; bad options are refused", () => {
    const { batcher: b, closed } = batcher({ windowUs: 5, maxBatch: 10, hold: 'never' });
    const timers = new Timers();
    b.offer(0, 0, timers, 1);
    b.offer(0, 0, timers, 1);
    assert.deepEqual(closed, [
      [0, 1, 0, 'lone'],
      [0, 1, 0, 'lone'],
    ]);
    assert.throws(() => batcher({ windowUs: -1, maxBatch: 1, hold: 'always' }), /windowUs must be >= 0/);
    assert.throws(
      () => batcher({ windowUs: 1, maxBatch: 0, hold: 'always' }),
      /maxBatch must be an integer >= 1/,
    );
  });
});
