import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createFlashDevice,
  describeFlash,
  flashDefaults,
  flashProfiles,
  resolveFlashConfig,
} from '../../src/flash/index.js';

describe('flash options', () => {
  test('defaults: FEMU geometry and timing, 4 KiB pages, exported capacity below raw', () => {
    const config = resolveFlashConfig({});
    assert.equal(config.luns, flashDefaults.channels * flashDefaults.lunsPerChannel);
    assert.equal(config.profile, flashProfiles.femu);
    assert.equal(config.pageBytes, 4096);
    assert.equal(config.capacityBytes, config.logicalPages * 4096);
    assert.ok(config.logicalPages < config.physicalPages);
    assert.ok(
      config.gcFreeBlocks / config.blocksPerLun < config.overProvisioning,
      'background GC stays below OP',
    );
    assert.equal(config.flushPages, config.luns);
  });

  for (const [name, options, message] of [
    ['too little over-provisioning', { overProvisioning: 0.01 }, /overProvisioning/],
    ['an unknown profile', { profile: 'slc' as never }, /options.profile must be one of/],
    ['a fractional geometry', { blocksPerLun: 2.5 }, /options.blocksPerLun must be an integer/],
    ['a page size not a multiple of 512', { pageBytes: 1000 }, /multiple of 512/],
    ['suspension without read priority', { readPriority: false, suspension: true }, /suspension needs/],
    ['thresholds the wrong way round', { gcThreshold: 0.02, gcForegroundThreshold: 0.05 }, /must not exceed/],
    ['a buffer smaller than a page', { bufferBytes: 100 }, /bufferBytes/],
    ['a bad precondition', { precondition: { fill: 2, randomOverwrites: 0 } }, /precondition.fill/],
    [
      'a profile with mismatched tables',
      { profile: { name: 'x', readUs: [1, 2], programUs: [3], eraseUs: 4 } },
      /same/,
    ],
  ] as const) {
    test(`rejects ${name} with a usage error`, () => {
      assert.throws(
        () => createFlashDevice({ precondition: false, ...options }),
        (error: unknown) => {
          assert.ok(error instanceof Error);
          assert.equal((error as { code?: string }).code, 'LAKE_E_USAGE');
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  test('describeFlash prints geometry, timing and GC policy', () => {
    const text = describeFlash({ profile: 'mlc', suspension: true });
    assert.match(
      text,
      /mlc flash, 8 ch x 8 LUN x 64 blocks x 256 pages x 4 KiB = 4 GiB raw, 3.1 GiB exported/,
    );
    assert.match(text, /read 48\/64 us, program 850\/2300 us, erase 3000 us/);
    assert.match(text, /GC: per line/);
    assert.match(text, /suspension on \(30 us/);
    assert.match(text, /preconditioning: fill 100%/);
  });

  test('a device reports its name and capacity', () => {
    const device = createFlashDevice({
      name: 'ssd7',
      channels: 1,
      lunsPerChannel: 2,
      blocksPerLun: 16,
      pagesPerBlock: 8,
      overProvisioning: 0.5,
      precondition: false,
    });
    assert.equal(device.name, 'ssd7');
    assert.equal(device.capacityBytes, 2 * 16 * 8 * 4096 * 0.5);
  });
});
