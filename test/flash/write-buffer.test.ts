import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WriteBuffer } from '../../src/flash/write-buffer.js';

/** Add a page as the device does: probe, make room if full, insert; returns the time it got in. */
function add(buffer: WriteBuffer, lpn: number, at: number): number {
  if (buffer.probe(lpn) >= buffer.flushedSeq) return at; // absorbed
  const admitted = buffer.full ? buffer.waitForSpace(at) : at;
  buffer.insert(lpn);
  return admitted;
}

/** Flush: every dirty page leaves for flash, its slots free at `releaseUs`. */
function flush(buffer: WriteBuffer, releaseUs: number): number[] {
  const lpns = new Int32Array(buffer.capacity);
  const n = buffer.copyDirty(lpns);
  buffer.closeBatch(releaseUs);
  return Array.from(lpns.subarray(0, n));
}

describe('write buffer', () => {
  test('holds pages until their batch is released, absorbs rewrites of dirty pages', () => {
    const buffer = new WriteBuffer(8, 4);
    for (const lpn of [10, 11, 12]) add(buffer, lpn, 0);
    add(buffer, 11, 1); // still dirty: replaced in place
    assert.equal(buffer.dirtyPages, 3);
    assert.deepEqual(flush(buffer, 100), [10, 11, 12]);
    assert.ok(buffer.holds(11), 'held while programming');
    add(buffer, 11, 2); // flushed but not released: a new copy
    assert.equal(buffer.dirtyPages, 1);
    buffer.releaseUpTo(100);
    assert.ok(!buffer.holds(10), 'released');
    assert.ok(buffer.holds(11), 'the newer copy stays');
    assert.ok(buffer.isDirty(11));
  });

  test('a full buffer makes the writer wait for the oldest batch, in FIFO order', () => {
    const buffer = new WriteBuffer(4, 2);
    add(buffer, 1, 0);
    add(buffer, 2, 0);
    flush(buffer, 500);
    add(buffer, 3, 10);
    add(buffer, 4, 10);
    flush(buffer, 300); // finishes first, but frees after the older batch
    assert.ok(buffer.full, 'full');
    assert.equal(add(buffer, 5, 20), 500);
    assert.ok(!buffer.holds(1) && buffer.holds(3), 'the oldest batch went first');
    assert.equal(add(buffer, 6, 20), 20);
    assert.ok(buffer.full, 'full again');
    assert.equal(add(buffer, 7, 600), 600);
  });

  test('stays correct over many pages (table rebuilds) and across sequence-number rebasing', () => {
    const buffer = new WriteBuffer(16, 4);
    // Start just below the rebase point to cross it.
    buffer.nextSeq = buffer.flushedSeq = buffer.releasedSeq = 0x40000000 - 50;
    let now = 0;
    const recent: number[] = [];
    for (let i = 0; i < 5000; i++) {
      now += 10;
      buffer.releaseUpTo(now);
      const lpn = (i * 7919) % 100_000;
      add(buffer, lpn, now);
      recent.push(lpn);
      if (buffer.dirtyPages >= 4) flush(buffer, now + 35);
      // A page is flushed within 30 us of its write and released 35 us after the flush: the last three
      // pages are still held, the one written 110 us ago is gone (all LPNs here are distinct).
      buffer.releaseUpTo(now);
      for (const held of recent.slice(-3)) assert.ok(buffer.holds(held), `lpn ${held} at ${now}`);
      const old = recent[recent.length - 12];
      if (old !== undefined) assert.ok(!buffer.holds(old), `lpn ${old} released by ${now}`);
    }
    assert.ok(buffer.nextSeq < 0x40000000, 'sequence numbers were rebased');
  });
});
