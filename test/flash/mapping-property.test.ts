import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkFlashInvariants, createFlashDevice, type FlashOptions } from '../../src/flash/index.js';

const geometry = fc.record({
  channels: fc.integer({ min: 1, max: 3 }),
  lunsPerChannel: fc.integer({ min: 1, max: 2 }),
  blocksPerLun: fc.integer({ min: 10, max: 16 }),
  pagesPerBlock: fc.integer({ min: 2, max: 8 }),
  bufferPages: fc.integer({ min: 0, max: 8 }),
  gcUnit: fc.constantFrom('lun' as const, 'line' as const),
  profile: fc.constantFrom('femu' as const, 'mlc' as const, 'tlc' as const),
  readPriority: fc.boolean(),
  idleBackgroundGc: fc.boolean(),
});

const op = fc.record({
  kind: fc.constantFrom('write', 'write', 'read', 'peek'),
  page: fc.nat({ max: 10_000 }),
  pages: fc.integer({ min: 1, max: 6 }),
  gapUs: fc.integer({ min: 0, max: 400 }),
});

test('random op sequences keep the mapping consistent and every written page findable', () => {
  fc.assert(
    fc.property(geometry, fc.array(op, { minLength: 1, maxLength: 400 }), (g, ops) => {
      const options: FlashOptions = {
        channels: g.channels,
        lunsPerChannel: g.lunsPerChannel,
        blocksPerLun: g.blocksPerLun,
        pagesPerBlock: g.pagesPerBlock,
        overProvisioning: 0.4,
        bufferBytes: g.bufferPages * 4096,
        gcUnit: g.gcUnit,
        profile: g.profile,
        readPriority: g.readPriority,
        idleBackgroundGc: g.idleBackgroundGc,
        precondition: false,
      };
      const device = createFlashDevice(options);
      const pages = device.capacityBytes / 4096;
      const written = new Set<number>();
      let now = 0;
      for (const o of ops) {
        now += o.gapUs;
        const first = o.page % pages;
        if (o.kind === 'write') {
          const r = device.submit(false, first * 4096, o.pages * 4096, now);
          assert.ok(r.completeUs >= now, 'a write completes after it is submitted');
          for (let i = 0; i < o.pages; i++) written.add((first + i) % pages);
        } else if (o.kind === 'read') {
          const r = device.submit(true, first * 4096, o.pages * 4096, now);
          assert.ok(r.completeUs >= now, 'a read completes after it is submitted');
        } else {
          assert.ok(device.peekRead(first * 4096, o.pages * 4096, now) >= now, 'a peek is not in the past');
        }
      }
      checkFlashInvariants(device);
      for (let lpn = 0; lpn < pages; lpn++) {
        const where = device.locate(lpn * 4096);
        assert.equal(where !== 'unmapped', written.has(lpn), `lpn ${lpn}: ${JSON.stringify(where)}`);
      }
    }),
    { numRuns: 60, seed: 20240601 },
  );
});
