import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createFlashDevice,
  type FlashOptions,
  flashProfiles,
  type SimulatedSsd,
} from '../../src/flash/index.js';
import { Random } from '../../src/random.js';
import { randomOps, run, smallDevice } from './small.js';

/** One LUN, tiny blocks, write-through: every write programs at once, so GC timing is easy to provoke. */
const oneLun: FlashOptions = {
  channels: 1,
  lunsPerChannel: 1,
  blocksPerLun: 16,
  pagesPerBlock: 4,
  overProvisioning: 0.4,
  bufferBytes: 0,
  precondition: false,
};

/**
 * Write single pages 10 ms apart (the LUN is idle before each) until a write makes GC erase a block
 * (after copying valid pages out of it, when `withCopies`). Returns the time of that write; the device
 * is left right after it.
 */
function writeUntilErase(device: SimulatedSsd, withCopies = false): number {
  const pages = device.capacityBytes / 4096;
  const random = new Random(3);
  for (let i = 0; i < 10_000; i++) {
    const at = i * 10_000;
    const before = device.counters();
    device.submit(false, random.int(pages) * 4096, 4096, at);
    const after = device.counters();
    const copied = after.gcPagesProgrammed > before.gcPagesProgrammed;
    if (after.erases > before.erases && (copied || !withCopies)) return at;
  }
  throw new Error('no erase happened');
}

/** Latency of a one-page read of LPN 0 submitted at `at`. */
function readAt(device: SimulatedSsd, at: number): { latency: number; cause: string } {
  const r = device.submit(true, 0, 4096, at);
  return { latency: r.completeUs - at, cause: r.cause };
}

describe('read timing', () => {
  test('a read on an idle LUN takes the nominal read time', () => {
    const femu = createFlashDevice({ ...oneLun, precondition: { fill: 1, randomOverwrites: 0 } });
    assert.deepEqual(femu.submit(true, 3 * 4096, 4096, 1000), { completeUs: 1040, cause: 'none' });
    const mlc = createFlashDevice({
      ...oneLun,
      profile: 'mlc',
      precondition: { fill: 1, randomOverwrites: 0 },
    });
    // Consecutive LPNs were written to consecutive pages: a lower page, then an upper page.
    const lower = mlc.submit(true, 0, 4096, 1000);
    const upper = mlc.submit(true, 4096, 4096, 10_000);
    assert.equal(lower.completeUs - 1000, flashProfiles.mlc.readUs[0]);
    assert.equal(upper.completeUs - 10_000, flashProfiles.mlc.readUs[1]);
  });

  test('a read of pages still in the write buffer is served from DRAM', () => {
    const device = smallDevice({ bufferLatencyUs: 3 });
    device.submit(false, 0, 4096, 0);
    assert.deepEqual(device.submit(true, 0, 4096, 50), { completeUs: 53, cause: 'none' });
    assert.equal(device.counters().bufferHits, 1);
  });

  test('a read queued behind an erase waits for it and is attributed to it', () => {
    const device = createFlashDevice({ ...oneLun, readPriority: false, idleBackgroundGc: false });
    const at = writeUntilErase(device);
    const { latency, cause } = readAt(device, at);
    // Behind the GC copies, the 2 ms erase and the host program.
    assert.ok(latency >= flashProfiles.femu.eraseUs + 40, `latency ${latency}`);
    assert.equal(cause, 'erase');
    const counters = device.counters();
    assert.equal(counters.slowReads, 1);
    assert.equal(counters.slowReadsByCause.erase, 1);
    assert.ok(counters.slowWaitUsByCause.erase >= flashProfiles.femu.eraseUs);
  });

  test('read priority lets a read pass queued GC and erase work', () => {
    const fifo = createFlashDevice({ ...oneLun, readPriority: false, idleBackgroundGc: false });
    const prioritised = createFlashDevice({ ...oneLun, readPriority: true, idleBackgroundGc: false });
    const at = writeUntilErase(fifo, true);
    assert.equal(writeUntilErase(prioritised, true), at);
    const slow = readAt(fifo, at);
    const fast = readAt(prioritised, at);
    // FIFO: behind the copies, the erase and the host program.
    assert.ok(slow.latency > 240 + 2000 + 200, `latency ${slow.latency}`);
    // Priority: only behind the one op already running, the first copyback (40 us read + 200 us program).
    assert.equal(fast.latency, 240 + 40);
    assert.equal(fast.cause, 'gc');
  });

  test('suspension lets a read interrupt an erase in progress', () => {
    const plain = createFlashDevice({ ...oneLun, suspension: false });
    const suspending = createFlashDevice({
      ...oneLun,
      suspension: true,
      suspendLatencyUs: 30,
      maxSuspendsPerOp: 1,
    });
    const at = writeUntilErase(plain);
    assert.equal(writeUntilErase(suspending), at);
    // Find a moment when the erase is running: a read would then wait most of 2 ms.
    let during = -1;
    for (let t = at; t < at + 5000; t += 10) {
      if (plain.peekRead(0, 4096, t) - t > 1000) {
        during = t;
        break;
      }
    }
    assert.ok(during >= 0, 'the erase should run within 5 ms of the write');
    const waited = readAt(plain, during);
    const suspended = readAt(suspending, during);
    assert.equal(waited.cause, 'erase');
    assert.ok(waited.latency > 1000);
    assert.equal(suspended.latency, 30 + 40);
    assert.equal(suspended.cause, 'erase');
    assert.equal(suspending.counters().suspensions, 1);
    // The erase resumed and ends 40 us later; a second read may not suspend it again (one suspension per
    // op here), so it finishes when the plain device's second read does: behind erase + one read.
    const secondPlain = plain.submit(true, 4096, 4096, during + 100);
    const secondSuspending = suspending.submit(true, 4096, 4096, during + 100);
    assert.ok(secondPlain.completeUs - (during + 100) > 500, 'the second read waits for the erase');
    assert.equal(secondSuspending.completeUs, secondPlain.completeUs);
    assert.equal(suspending.counters().suspensions, 1);
  });

  test('reads see varied latencies under load, not only the nominal time', () => {
    const device = smallDevice();
    const ops = randomOps(device, 4000, 5, 0.4, 60);
    const latencies = new Set<number>();
    for (const op of ops) {
      const r = device.submit(op.read, op.offset, op.size, op.atUs);
      if (op.read) latencies.add(Math.round(r.completeUs - op.atUs));
    }
    assert.ok(latencies.size > 20, `only ${latencies.size} distinct read latencies`);
  });
});

describe('peek and determinism', () => {
  test('peekRead predicts the submitted read and changes nothing', () => {
    for (const options of [{}, { readPriority: false }, { suspension: true }, { gcUnit: 'line' as const }]) {
      const peeked = smallDevice(options);
      const plain = smallDevice(options);
      const ops = randomOps(peeked, 3000, 9, 0.4, 50);
      for (const op of ops) {
        // Peeks at other offsets too must leave no trace.
        peeked.peekRead((op.offset + 3 * 4096) % peeked.capacityBytes, 2 * 4096, op.atUs);
        const predicted = op.read ? peeked.peekRead(op.offset, op.size, op.atUs) : Number.NaN;
        const a = peeked.submit(op.read, op.offset, op.size, op.atUs);
        const b = plain.submit(op.read, op.offset, op.size, op.atUs);
        assert.deepEqual(a, b);
        if (op.read) assert.equal(predicted, a.completeUs);
      }
      assert.deepEqual(peeked.counters(), plain.counters());
    }
  });

  test('the same inputs give the same outputs', () => {
    const options: FlashOptions = { precondition: { fill: 0.9, randomOverwrites: 1 }, seed: 4 };
    const first = smallDevice(options);
    const second = smallDevice(options);
    const ops = randomOps(first, 3000, 21, 0.3, 40);
    assert.deepEqual(run(first, ops), run(second, ops));
    assert.deepEqual(first.counters(), second.counters());
    const reseeded = smallDevice({ ...options, seed: 5 });
    assert.notDeepEqual(run(reseeded, ops), run(smallDevice(options), ops));
  });

  test('reuseResult hands back one object with the same values a fresh one would have', () => {
    const reusing = smallDevice({ reuseResult: true });
    const plain = smallDevice();
    const ops = randomOps(plain, 500, 12, 0.4, 50);
    const first = reusing.submit(ops[0]!.read, ops[0]!.offset, ops[0]!.size, ops[0]!.atUs);
    plain.submit(ops[0]!.read, ops[0]!.offset, ops[0]!.size, ops[0]!.atUs);
    for (const op of ops.slice(1)) {
      const r = reusing.submit(op.read, op.offset, op.size, op.atUs);
      assert.equal(r, first);
      assert.deepEqual({ ...r }, plain.submit(op.read, op.offset, op.size, op.atUs));
    }
  });

  test('resetCounters starts the counts again', () => {
    const device = smallDevice();
    run(device, randomOps(device, 200, 2, 0.5, 50));
    assert.ok(device.counters().reads > 0, 'reads counted');
    device.resetCounters();
    const counters = device.counters();
    assert.equal(counters.reads + counters.writes + counters.readLatencyUsSum, 0);
    assert.equal(counters.minFreeBlocks, -1);
  });

  test('time must not go backwards', () => {
    const device = smallDevice();
    device.submit(true, 0, 4096, 100);
    assert.throws(() => device.submit(true, 0, 4096, 99), { code: 'LAKE_E_USAGE' });
    assert.throws(() => device.peekRead(0, 4096, 50), { code: 'LAKE_E_USAGE' });
  });

  test('offsets wrap modulo the capacity', () => {
    const a = smallDevice();
    const b = smallDevice();
    a.submit(false, 4096, 8192, 0);
    b.submit(false, a.capacityBytes + 4096, 8192, 0);
    assert.deepEqual(a.submit(true, 4096, 4096, 10), b.submit(true, 3 * a.capacityBytes + 4096, 4096, 10));
  });
});
