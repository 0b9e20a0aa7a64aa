import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkFlashInvariants, flashInternals } from '../../src/flash/index.js';
import { randomOps, run, smallDevice } from './small.js';

describe('page mapping', () => {
  test('a written page is found in the buffer, then in flash at a page that belongs to it', () => {
    const device = smallDevice();
    const { ftl } = device[flashInternals]();
    assert.equal(device.locate(5 * 4096), 'unmapped');
    device.submit(false, 5 * 4096, 4096, 0);
    assert.equal(device.locate(5 * 4096), 'buffer');
    // Fill the buffer's flush threshold with other pages, then wait long enough for the programs.
    device.submit(false, 100 * 4096, 8 * 4096, 10);
    const where = device.locate(5 * 4096);
    if (where !== 'buffer') assert.fail('the page should still be in DRAM while its program runs');
    device.submit(true, 0, 4096, 1_000_000);
    const flash = device.locate(5 * 4096);
    assert.ok(typeof flash === 'object', `expected a flash location, got ${String(flash)}`);
    assert.equal(ftl.ownerOf(flash.ppn), 5);
    assert.equal(ftl.lunOf(flash.ppn), flash.lun);
    checkFlashInvariants(device);
  });

  test('an overwrite moves the page and invalidates the old copy', () => {
    const device = smallDevice({ bufferBytes: 0 });
    const { ftl } = device[flashInternals]();
    device.submit(false, 7 * 4096, 4096, 0);
    const first = device.locate(7 * 4096);
    device.submit(false, 7 * 4096, 4096, 10_000);
    const second = device.locate(7 * 4096);
    assert.ok(typeof first === 'object' && typeof second === 'object');
    assert.notEqual(first.ppn, second.ppn);
    assert.equal(ftl.ownerOf(first.ppn), -1);
    assert.equal(ftl.ownerOf(second.ppn), 7);
    checkFlashInvariants(device);
  });

  for (const variant of [
    { name: 'buffered, line GC', options: {} },
    { name: 'write-through', options: { bufferBytes: 0 } },
    { name: 'per-LUN GC', options: { gcUnit: 'lun' as const } },
    { name: 'MLC, no read priority', options: { profile: 'mlc' as const, readPriority: false } },
    {
      name: 'TLC, suspension, FIFO background GC',
      options: { profile: 'tlc' as const, suspension: true, idleBackgroundGc: false },
    },
    {
      name: 'non-power-of-two geometry',
      options: { channels: 3, lunsPerChannel: 1, blocksPerLun: 12, pagesPerBlock: 10, overProvisioning: 0.4 },
    },
  ]) {
    test(`mapping stays consistent through many random writes and GC (${variant.name})`, () => {
      const device = smallDevice(variant.options);
      // Enough writes to turn the small device over many times.
      run(device, randomOps(device, 6000, 11, 0.2));
      const counters = device.counters();
      assert.ok(counters.gcRunsBackground + counters.gcRunsForeground > 0, 'GC should have run');
      checkFlashInvariants(device);
      // Every page written is somewhere; the invariant checker verified no two LPNs share a PPN.
      const { ftl } = device[flashInternals]();
      const seen = new Set<number>();
      for (let lpn = 0; lpn < ftl.l2p.length; lpn++) {
        const ppn = ftl.l2p[lpn]!;
        if (ppn < 0) continue;
        assert.ok(!seen.has(ppn), `ppn ${ppn} mapped twice`);
        seen.add(ppn);
      }
    });
  }

  test('the invariant checker catches a corrupted mapping', () => {
    const device = smallDevice({ bufferBytes: 0 });
    run(device, randomOps(device, 200, 3, 0));
    const { ftl } = device[flashInternals]();
    let a = -1;
    let b = -1;
    for (let lpn = 0; lpn < ftl.l2p.length && b < 0; lpn++) {
      if (ftl.l2p[lpn]! < 0) continue;
      if (a < 0) a = lpn;
      else b = lpn;
    }
    ftl.l2p[b] = ftl.l2p[a]!;
    assert.throws(() => checkFlashInvariants(device), /belongs to lpn/);
  });
});
