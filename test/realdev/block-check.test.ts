/**
 * The safety check before lake writes to a block device, on an injected view of sysfs and procfs: it refuses
 * while the device or a partition is mounted or used for swap, and it refuses when it cannot read what it
 * needs to know that (a missing /proc must not let a write through).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { checkBlockWritable, type SystemFiles } from '../../src/realdev/open.js';

const DEV = { major: 8, minor: 16 };
const SYS = '/sys/dev/block/8:16';

/** A disk sdb (8:16) with partitions sdb1 (8:17) and sdb2 (8:18); `missing` files throw ENOENT. */
function system(
  contents: { mountinfo?: string; swaps?: string },
  missing: readonly string[] = [],
): SystemFiles {
  const text: Record<string, string> = {
    [`${SYS}/sdb1/dev`]: '8:17\n',
    [`${SYS}/sdb2/dev`]: '8:18\n',
    '/proc/self/mountinfo':
      contents.mountinfo ?? '22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n',
    '/proc/swaps': contents.swaps ?? 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n',
  };
  const enoent = (file: string): Error =>
    Object.assign(new Error(`ENOENT: no such file or directory, open '${file}'`), { code: 'ENOENT' });
  return {
    readText(file) {
      if (missing.includes(file) || text[file] === undefined) throw enoent(file);
      return text[file];
    },
    readDir(dir) {
      if (missing.includes(dir) || dir !== SYS) throw enoent(dir);
      return ['sdb1', 'sdb2', 'size', 'queue', 'holders'];
    },
    realPath(path) {
      if (missing.includes(path) || path !== SYS) throw enoent(path);
      return '/sys/devices/pci0000:00/0000:00:1f.2/ata2/host1/target1:0:0/1:0:0:0/block/sdb';
    },
    blockDeviceId: (path) => (path === '/dev/sdb2' ? '8:18' : path === '/dev/zram0' ? '252:0' : undefined),
  };
}

function refuses(files: SystemFiles, code: string, pattern: RegExp): void {
  assert.throws(
    () => checkBlockWritable('/dev/sdb', DEV, true, files),
    (e: unknown) => e instanceof LakeError && e.code === code && pattern.test(e.message),
  );
}

describe('checkBlockWritable', () => {
  test('lets a write through when nothing of the device is in use', () => {
    const swaps = 'Filename\tType\tSize\tUsed\tPriority\n/dev/zram0 partition 4194300 0 100\n';
    assert.equal(checkBlockWritable('/dev/sdb', DEV, true, system({ swaps })), undefined);
  });

  test('needs --allow-block-writes', () => {
    assert.throws(
      () => checkBlockWritable('/dev/sdb', DEV, false, system({})),
      (e: unknown) =>
        e instanceof LakeError && e.code === 'LAKE_E_USAGE' && /--allow-block-writes/.test(e.message),
    );
  });

  test('refuses a device whose partition is mounted, or used for swap', () => {
    const mountinfo =
      '22 1 259:2 / / rw - ext4 /dev/nvme0n1p2 rw\n40 22 8:17 / /mnt/data rw - xfs /dev/sdb1 rw\n';
    refuses(
      system({ mountinfo }),
      'LAKE_E_USAGE',
      /^\/dev\/sdb \(or a partition of it\) is mounted on \/mnt\/data:/,
    );
    const swaps = 'Filename\tType\tSize\tUsed\tPriority\n/dev/sdb2 partition 8388604 0 -2\n';
    refuses(system({ swaps }), 'LAKE_E_USAGE', /is used for swap: lake never writes to it/);
  });

  test('refuses when /proc/self/mountinfo cannot be read', () => {
    refuses(
      system({}, ['/proc/self/mountinfo']),
      'LAKE_E_IO',
      /^\/dev\/sdb: cannot tell whether it is mounted: \/proc\/self\/mountinfo cannot be read \(ENOENT/,
    );
  });

  test('refuses when /proc/swaps cannot be read', () => {
    refuses(
      system({}, ['/proc/swaps']),
      'LAKE_E_IO',
      /^\/dev\/sdb: cannot tell whether it is used for swap: \/proc\/swaps cannot be read/,
    );
  });

  test('refuses when the partitions cannot be listed from sysfs', () => {
    refuses(
      system({}, [SYS]),
      'LAKE_E_IO',
      /^\/dev\/sdb: cannot tell whether a partition of it is in use: \/sys\/dev\/block\/8:16 cannot be read/,
    );
  });
});
