import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkFlashInvariants, flashInternals, type SimulatedSsd } from '../../src/flash/index.js';
import { randomOps, run, smallDevice } from './small.js';

function freeBlocks(device: SimulatedSsd): number[] {
  return Array.from(device[flashInternals]().ftl.freeCount);
}

describe('garbage collection', () => {
  test('does not run while free blocks are above the threshold', () => {
    const device = smallDevice({ bufferBytes: 0 });
    const { config } = device[flashInternals]();
    // Fill all but the GC reserve (and one open block) of every LUN, one page at a time.
    const pages = (config.blocksPerLun - config.gcFreeBlocks - 1) * config.pagesPerBlock * config.luns;
    for (let i = 0; i < pages; i++) device.submit(false, i * 4096, 4096, i * 10);
    const counters = device.counters();
    assert.equal(counters.gcRunsBackground + counters.gcRunsForeground, 0);
    assert.equal(counters.erases, 0);
    assert.ok(freeBlocks(device).every((free) => free >= config.gcFreeBlocks));
  });

  test('runs under its threshold, keeps every LUN at or above the foreground floor, and makes progress', () => {
    const device = smallDevice();
    const { config } = device[flashInternals]();
    const ops = randomOps(device, 8000, 2, 0, 80);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      device.submit(op.read, op.offset, op.size, op.atUs);
      // After every command each LUN has at least the floor, minus the block a write may just have opened.
      for (const free of freeBlocks(device))
        assert.ok(free >= config.gcForegroundFreeBlocks - 1, `free ${free}`);
    }
    const counters = device.counters();
    assert.ok(counters.gcRunsBackground > 0, 'background GC ran');
    assert.ok(counters.minFreeBlocks >= config.gcForegroundFreeBlocks, `min free ${counters.minFreeBlocks}`);
    // Progress: blocks were erased and the device keeps accepting writes (roughly 10x its capacity here).
    assert.ok(counters.erases > config.luns * config.blocksPerLun * 5, `erases ${counters.erases}`);
    assert.ok(counters.writePages > (device.capacityBytes / 4096) * 5);
    checkFlashInvariants(device);
  });

  test('foreground GC takes over when background GC is deferred by a long idle-priority backlog', () => {
    // A tiny backlog limit defers background GC whenever any of it is still queued.
    const device = smallDevice({ backgroundBacklogUs: 1 });
    run(device, randomOps(device, 6000, 4, 0, 20));
    const counters = device.counters();
    assert.ok(counters.backgroundGcDeferred > 0, 'background GC deferred');
    assert.ok(counters.gcRunsForeground > 0, 'foreground GC ran');
    checkFlashInvariants(device);
  });

  test('write amplification exceeds 1 once the device is aged', () => {
    const device = smallDevice({ precondition: { fill: 1, randomOverwrites: 1 } });
    run(device, randomOps(device, 3000, 8, 0, 100));
    const counters = device.counters();
    assert.ok(counters.writeAmplification > 1.2, `WA ${counters.writeAmplification}`);
    assert.equal(
      counters.writeAmplification,
      (counters.hostPagesProgrammed + counters.gcPagesProgrammed) / counters.hostPagesProgrammed,
    );
  });

  test('picks the closed block with the fewest valid pages, not the first that would free something', () => {
    const device = smallDevice({ bufferBytes: 0 });
    const { config, ftl } = device[flashInternals]();
    const perLine = config.pagesPerBlock * config.luns;
    const CLOSED = 2;
    let at = 0;
    const write = (lpn: number): void => {
      at += 10;
      device.submit(false, lpn * 4096, 4096, at);
    };
    // Fill lines 0..23 in order (a fresh device takes its lowest free block first).
    const lines = 24;
    for (let lpn = 0; lpn < lines * perLine; lpn++) write(lpn);
    assert.equal(ftl.blockValid[0], perLine);
    // Line 0 loses one page; line 5 loses all of them, again and again, until GC runs.
    write(0);
    const first = 5 * perLine;
    for (let k = 0; device.counters().erases === 0; k++) {
      assert.ok(k < 100 * perLine, 'GC never ran');
      write(first + (k % perLine));
    }
    // Greedy: line 5 (no valid page) was collected without a copy; line 0 (one page invalid) was not.
    assert.equal(device.counters().gcPagesProgrammed, 0);
    assert.notEqual(ftl.blockState[5], CLOSED);
    assert.equal(ftl.blockState[0], CLOSED);
    assert.equal(ftl.blockValid[0], perLine - 1);
    checkFlashInvariants(device);
  });

  test('line GC erases a whole line, on every LUN at once', () => {
    const device = smallDevice({ gcUnit: 'line' });
    const { config } = device[flashInternals]();
    run(device, randomOps(device, 4000, 6, 0, 100));
    const counters = device.counters();
    assert.ok(counters.erases > 0, 'erases');
    assert.equal(counters.erases % config.luns, 0);
    assert.equal(counters.erases, (counters.gcRunsBackground + counters.gcRunsForeground) * config.luns);
    checkFlashInvariants(device);
  });
});

describe('preconditioning', () => {
  test('leaves the device aged, at its GC threshold, with GC active from the first writes', () => {
    const device = smallDevice({ precondition: { fill: 1, randomOverwrites: 0.5 } });
    const { config, ftl } = device[flashInternals]();
    checkFlashInvariants(device);
    // Counters start at zero after preconditioning.
    assert.equal(device.counters().hostPagesProgrammed, 0);
    // Every logical page is mapped.
    assert.ok(
      ftl.l2p.every((ppn) => ppn >= 0),
      'all pages mapped',
    );
    // Each GC unit sits at the background threshold.
    for (const free of freeBlocks(device)) assert.ok(free <= config.gcFreeBlocks, `free ${free}`);
    // Closed blocks (lines, by default) hold a mix of valid and invalid pages.
    const pagesPerUnit = config.pagesPerBlock * config.unitsPerGroup;
    const valid = Array.from(ftl.blockValid).filter((_, b) => ftl.blockState[b] === 2);
    assert.ok(
      valid.some((v) => v < pagesPerUnit && v > 0),
      'some blocks partly valid',
    );
    assert.ok(valid.reduce((a, b) => a + b, 0) < valid.length * pagesPerUnit, 'invalid pages exist');
    // Half a line of writes is enough to set GC going.
    run(device, randomOps(device, pagesPerUnit / 5, 1, 0, 100));
    assert.ok(device.counters().gcRunsBackground > 0, 'background GC ran');
  });

  test('a partial fill maps exactly the pages it wrote; overwrites of an empty device write random pages', () => {
    const half = smallDevice({ precondition: { fill: 0.5, randomOverwrites: 0 } });
    const { ftl } = half[flashInternals]();
    const filled = Math.round(ftl.l2p.length * 0.5);
    assert.ok(
      ftl.l2p.every((ppn, lpn) => (lpn < filled ? ppn >= 0 : ppn < 0)),
      'the first half mapped, the rest not',
    );
    checkFlashInvariants(half);
    const scattered = smallDevice({ precondition: { fill: 0, randomOverwrites: 0.3 } });
    const mapped = scattered[flashInternals]().ftl.l2p.filter((ppn) => ppn >= 0).length;
    const pages = scattered.capacityBytes / 4096;
    assert.ok(mapped > pages * 0.2 && mapped < pages * 0.3, `mapped ${mapped} of ${pages}`);
    checkFlashInvariants(scattered);
  });

  test('a fresh device has nothing mapped', () => {
    const device = smallDevice({ precondition: false });
    assert.ok(device[flashInternals]().ftl.l2p.every((ppn) => ppn < 0));
    assert.equal(device.locate(0), 'unmapped');
  });
});
