import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { ShmArena } from '../../src/lake/shm/arena.js';
import { isShmExhausted, ShmExhaustedError } from '../../src/lake/shm/errors.js';
import { Random } from '../../src/random.js';

interface Live {
  handle: number;
  bytes: number;
  stamp: number;
}

/** Fills a block with a stamp pattern so that an overlap with another block shows as a changed byte. */
function stamp(arena: ShmArena, live: Live): void {
  const view = arena.bytes(live.handle, live.bytes);
  for (let i = 0; i < view.length; i++) view[i] = (live.stamp + i) & 255;
}

function intact(arena: ShmArena, live: Live): boolean {
  const view = arena.bytes(live.handle, live.bytes);
  for (let i = 0; i < view.length; i++) if (view[i] !== ((live.stamp + i) & 255)) return false;
  return true;
}

describe('lakeShm allocator', () => {
  test('stress with seeded random sizes: aligned, never overlapping, and coalescing back to one free block', () => {
    const arena = ShmArena.create({ bytes: 4 << 20 });
    const initial = arena.walk();
    assert.equal(initial.length, 1);
    const random = new Random(42);
    const live: Live[] = [];
    let failures = 0;
    for (let step = 0; step < 6000; step++) {
      if (live.length > 0 && random.next() < 0.45) {
        const victim = live.splice(random.int(live.length), 1)[0]!;
        assert.ok(intact(arena, victim), `block ${victim.handle} was overwritten`);
        arena.free(victim.handle);
        continue;
      }
      // Sizes over several classes: mostly small, some large (up to ~300 KB).
      const bytes = random.next() < 0.8 ? 1 + random.int(2000) : 1 + random.int(300_000);
      const handle = arena.tryAlloc(bytes);
      if (handle === 0) {
        failures++;
        continue;
      }
      assert.equal(handle % 64, 0, 'payloads are 64-byte aligned');
      assert.ok(arena.capacity(handle) >= bytes);
      const entry = { handle, bytes, stamp: random.int(256) };
      stamp(arena, entry);
      live.push(entry);
      if (step % 500 === 0) arena.walk();
    }
    // No two live blocks overlap (checked on addresses as well as through the stamps).
    const sorted = [...live].sort((a, b) => a.handle - b.handle);
    for (let i = 1; i < sorted.length; i++)
      assert.ok(sorted[i - 1]!.handle + sorted[i - 1]!.bytes <= sorted[i]!.handle);
    for (const entry of live) assert.ok(intact(arena, entry));
    const stats = arena.stats();
    assert.equal(stats.liveBlocks, live.length);
    assert.equal(stats.failures, failures);
    const blocks = arena.walk();
    assert.equal(blocks.filter((b) => b.allocated).length, live.length);
    for (const entry of live) arena.free(entry.handle);
    const after = arena.walk();
    assert.equal(after.length, 1, 'everything freed coalesces into one block');
    assert.equal(after[0]!.allocated, false);
    assert.deepEqual(after, initial);
    const end = arena.stats();
    assert.equal(end.bytesInUse, 0);
    assert.equal(end.freeBlocks, 1);
    assert.equal(end.largestFreeBlock, initial[0]!.capacity);
  });

  test('free merges with the previous and the next free neighbour', () => {
    const arena = ShmArena.create({ bytes: 64 * 1024 });
    const a = arena.alloc(100);
    const b = arena.alloc(100);
    const c = arena.alloc(100);
    const d = arena.alloc(100);
    arena.free(a);
    arena.free(c);
    assert.equal(arena.stats().freeBlocks, 3); // a, c, and the tail after d
    arena.free(b); // joins a and c
    const blocks = arena.walk();
    assert.deepEqual(
      blocks.map((block) => block.allocated),
      [false, true, false],
    );
    assert.equal(blocks[1]!.handle, d);
    arena.free(d);
    assert.equal(arena.walk().length, 1);
  });

  test('usage statistics follow allocations', () => {
    const arena = ShmArena.create({ bytes: 1 << 16 });
    const before = arena.stats();
    assert.equal(before.bytesInUse, 0);
    assert.equal(before.bytesFree, before.heapBytes);
    const h = arena.alloc(1000); // 1000 + 16 tag bytes -> 1024-byte block
    const stats = arena.stats();
    assert.equal(stats.bytesInUse, 1024);
    assert.equal(stats.bytesFree, stats.heapBytes - 1024);
    assert.equal(stats.allocations, 1);
    assert.equal(stats.liveBlocks, 1);
    assert.equal(stats.largestFreeBlock, stats.heapBytes - 1024 - 16);
    arena.free(h);
    assert.equal(arena.stats().frees, 1);
  });

  test('exhaustion is a ShmExhaustedError naming the request, and counted; tryAlloc returns 0', () => {
    const arena = ShmArena.create({ bytes: 8192 });
    const big = arena.alloc(6000);
    assert.throws(
      () => arena.alloc(6000),
      (error: unknown) =>
        error instanceof ShmExhaustedError &&
        isShmExhausted(error) &&
        error instanceof LakeError &&
        error.code === 'LAKE_E_SHM_EXHAUSTED' &&
        error.requested === 6000 &&
        /lakeShm exhausted: 6000 bytes requested/.test(error.message),
    );
    assert.equal(arena.tryAlloc(6000), 0);
    assert.equal(arena.stats().failures, 2);
    arena.free(big);
    assert.notEqual(arena.tryAlloc(6000), 0);
  });

  test('bad and double frees are refused without corrupting the heap', () => {
    const arena = ShmArena.create({ bytes: 8192 });
    const h = arena.alloc(10);
    assert.throws(() => arena.free(h + 64), /not a lakeShm handle|not allocated/);
    assert.throws(() => arena.free(3), /not a lakeShm handle/);
    arena.free(h);
    assert.throws(() => arena.free(h), /double free/);
    assert.equal(arena.walk().length, 1);
    assert.throws(() => arena.alloc(-1), /non-negative integer/);
    assert.throws(() => ShmArena.create({ bytes: 10 }), /options\.bytes/);
  });

  test('attach sees the same heap; views refuse ranges outside it', () => {
    const arena = ShmArena.create({ bytes: 8192 });
    const h = arena.alloc(16);
    arena.f64(h, 2).set([1.5, 2.5]);
    const other = ShmArena.attach(arena.buffer);
    assert.deepEqual([...other.f64(h, 2)], [1.5, 2.5]);
    assert.equal(other.stats().liveBlocks, 1);
    assert.throws(() => other.bytes(0, 8), /not inside the heap/);
    assert.throws(() => other.f64(h + 4, 1), /aligned/);
    assert.throws(() => ShmArena.attach(new SharedArrayBuffer(1024)), /bad magic/);
  });
});
