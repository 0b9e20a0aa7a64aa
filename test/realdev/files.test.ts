/**
 * Real devices on small image files under a temporary directory: opening and creating them safely, and
 * replaying on them with every available backend (io_uring when the addon is built, libuv always).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { replay } from '../../src/array/engine.js';
import type { AdmissionPolicy } from '../../src/array/policy.js';
import type { IoRecord } from '../../src/array/types.js';
import { LakeError } from '../../src/errors.js';
import { Random } from '../../src/random.js';
import { arrivalsOf } from '../../src/realdev/arrivals.js';
import { type BackendChoice, createBackend, uringAvailability } from '../../src/realdev/backend.js';
import { replayReal, type SubmitEvent } from '../../src/realdev/engine.js';
import { closeDevices, openDevices, parseByteSize } from '../../src/realdev/open.js';
import { placedOffset, placedSize } from '../../src/realdev/place.js';
import type { TraceRecord } from '../../src/trace/types.js';

const dir = mkdtempSync(join(tmpdir(), 'lake-realdev-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const MiB = 1 << 20;

function workload(count: number, readFraction: number, seed = 1): TraceRecord[] {
  const random = new Random(seed);
  return Array.from({ length: count }, (_, i) => ({
    arrivalMs: i * 0.02,
    device: random.int(3),
    // Offsets beyond the 4 MiB images and unaligned sizes: placement takes them modulo and aligns them.
    offset: random.int(1 << 30),
    size: 512 + random.int(16384),
    read: random.next() < readFraction,
  }));
}

const digest = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function expectUsage(fn: () => unknown, pattern: RegExp): void {
  assert.throws(
    fn,
    (e: unknown) => e instanceof LakeError && e.code === 'LAKE_E_USAGE' && pattern.test(e.message),
  );
}

async function expectUsageAsync(fn: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(
    fn,
    (e: unknown) => e instanceof LakeError && e.code === 'LAKE_E_USAGE' && pattern.test(e.message),
  );
}

describe('placement on a device', () => {
  test('sizes round up to whole blocks, offsets wrap modulo the capacity and align down', () => {
    assert.equal(placedSize(1, 512, 1 << 20), 512);
    assert.equal(placedSize(4097, 4096, 1 << 20), 8192);
    assert.equal(placedSize(8 << 20, 512, 1 << 20), 1 << 20);
    assert.equal(placedOffset(5000, 512, 512, 1 << 20), 4608);
    assert.equal(placedOffset((1 << 20) + 1024, 512, 512, 1 << 20), 1024);
    // An I/O that would run past the end ends there.
    assert.equal(placedOffset((1 << 20) - 512, 4096, 512, 1 << 20), (1 << 20) - 4096);
  });

  test('byte sizes parse with binary suffixes', () => {
    assert.equal(parseByteSize('1G'), 1 << 30);
    assert.equal(parseByteSize('512MiB'), 512 * MiB);
    assert.equal(parseByteSize('4096'), 4096);
    expectUsage(() => parseByteSize('1.5X'), /--size/);
    expectUsage(() => parseByteSize('0'), /positive/);
  });
});

describe('opening devices', () => {
  test('a missing file is created at --size, filled with data (not sparse), and nothing else is left', async () => {
    const path = join(dir, 'new.img');
    const [d] = await openDevices([path], { sizeBytes: 4 * MiB, write: true });
    assert.ok(d!.created);
    assert.equal(d!.capacityBytes, 4 * MiB);
    d!.close();
    const s = statSync(path);
    assert.equal(s.size, 4 * MiB);
    assert.ok(s.blocks * 512 >= 4 * MiB, 'every block is allocated');
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('.')),
      [],
      'no temporary file left behind',
    );
    rmSync(path);
  });

  test('an existing file of another size is refused and left untouched', async () => {
    const path = join(dir, 'other.img');
    writeFileSync(path, Buffer.alloc(MiB, 7));
    const before = digest(path);
    await expectUsageAsync(() => openDevices([path], { sizeBytes: 2 * MiB, write: true }), /never resizes/);
    assert.equal(statSync(path).size, MiB);
    assert.equal(digest(path), before);
    rmSync(path);
  });

  test('a missing file without --size, the same device twice, and non-devices are refused', async () => {
    await expectUsageAsync(() => openDevices([join(dir, 'absent.img')]), /give --size/);
    const path = join(dir, 'twice.img');
    writeFileSync(path, Buffer.alloc(MiB));
    await expectUsageAsync(() => openDevices([path, join(dir, '.', 'twice.img')]), /same device twice/);
    await expectUsageAsync(() => openDevices(['/dev/null']), /neither a regular file nor a block device/);
    await expectUsageAsync(() => openDevices([dir]), /neither a regular file nor a block device/);
    rmSync(path);
  });

  test('a sparse existing file draws a warning; buffered I/O when asked', async () => {
    const path = join(dir, 'sparse.img');
    writeFileSync(path, '');
    // Extend without writing: a hole.
    truncateSync(path, 2 * MiB);
    const warnings: string[] = [];
    const [d] = await openDevices([path], {
      direct: 'off',
      allowExistingFiles: true,
      onWarning: (m) => warnings.push(m),
    });
    assert.equal(d!.direct, false);
    assert.ok(warnings.some((w) => /sparse/.test(w)));
    d!.close();
    rmSync(path);
  });

  test('O_DIRECT where the file system allows it, else buffered with a warning (tmpfs before Linux 6.6)', async () => {
    for (const base of [dir, '/dev/shm']) {
      let probe: string;
      try {
        probe = mkdtempSync(join(base, 'lake-direct-'));
      } catch {
        continue;
      }
      try {
        const warnings: string[] = [];
        const [d] = await openDevices([join(probe, 'x.img')], {
          sizeBytes: MiB,
          onWarning: (m) => warnings.push(m),
        });
        if (d!.direct) assert.ok(d!.blockBytes >= 512 && d!.blockBytes <= 4096);
        else assert.ok(warnings.some((w) => /O_DIRECT is not supported/.test(w)));
        d!.close();
      } finally {
        rmSync(probe, { recursive: true, force: true });
      }
    }
  });
});

const backends: BackendChoice[] = ['libuv'];
const uring = uringAvailability();
if (uring.available) backends.unshift('uring');

describe('replay on image files', { timeout: 30_000 }, () => {
  for (const kind of backends) {
    test(`${kind}: every I/O completes on the files it names, pending returns to 0`, async () => {
      const paths = [0, 1, 2].map((i) => join(dir, `${kind}-${i}.img`));
      const devices = await openDevices(paths, { sizeBytes: 4 * MiB, write: true });
      const listed = readdirSync(dir).sort();
      try {
        const arrivals = arrivalsOf(workload(300, 0.7));
        const backend = createBackend(devices, { backend: kind, maxInFlight: 24, maxIoBytes: 32768 });
        assert.equal(backend.kind, kind);
        const records: IoRecord[] = [];
        let context: Parameters<NonNullable<AdmissionPolicy['start']>>[0] | undefined;
        const result = await replayReal(arrivals, {
          devices,
          backend,
          policy: {
            name: 'baseline',
            start: (c) => {
              context = c;
            },
          },
          queueDepth: 8,
          onRecord: (r) => records.push(r),
        });
        await backend.close();
        assert.equal(result.ios, 300);
        assert.equal(records.length, 300);
        assert.equal(result.ioErrors, 0, result.firstError);
        assert.ok(records.every((r) => r.ok === 1 && r.latencyUs > 0 && r.completeUs >= r.submitUs));
        const deviceReads = result.deviceTime.reduce((s, d) => s + d.reads, 0);
        assert.equal(deviceReads, result.reads);
        for (const view of context!.devices) {
          assert.equal(view.pendingPages, 0);
          assert.equal(view.inFlight, 0);
        }
        assert.equal(result.lateFraction, result.late / 300);
      } finally {
        closeDevices(devices);
      }
      assert.deepEqual(readdirSync(dir).sort(), listed, 'no file but the named ones was created');
      for (const p of paths) assert.equal(statSync(p).size, 4 * MiB);
    });

    test(`${kind}: a read-only workload never changes the files; revoked reads never reach the device`, async () => {
      const paths = [0, 1, 2].map((i) => join(dir, `${kind}-ro-${i}.img`));
      closeDevices(await openDevices(paths, { sizeBytes: 4 * MiB }));
      const before = paths.map(digest);
      const devices = await openDevices(paths);
      const submits: SubmitEvent[] = [];
      try {
        const backend = createBackend(devices, { backend: kind, maxInFlight: 12, maxIoBytes: 32768 });
        const result = await replayReal(arrivalsOf(workload(200, 1, 2)), {
          devices,
          backend,
          policy: { name: 'not-on-2', admit: (t) => t.device === 2 },
          queueDepth: 4,
          onSubmit: (s) => submits.push({ ...s }),
        });
        await backend.close();
        assert.equal(result.ios, 200);
        assert.ok(result.revokes > 0);
        for (const s of submits.filter((s) => s.device === 2)) assert.equal(s.attempt, 2);
      } finally {
        closeDevices(devices);
      }
      assert.deepEqual(paths.map(digest), before);
    });
  }

  test('a workload with writes is refused on devices opened read-only', async () => {
    const path = join(dir, 'ro.img');
    closeDevices(await openDevices([path], { sizeBytes: MiB }));
    const devices = await openDevices([path]);
    try {
      const backend = createBackend(devices, { backend: 'libuv', maxInFlight: 4, maxIoBytes: 4096 });
      await assert.rejects(
        replayReal(arrivalsOf(workload(5, 0)), { devices, backend, policy: { name: 'baseline' } }),
        /read-only/,
      );
      await backend.close();
    } finally {
      closeDevices(devices);
    }
  });

  test("a real device behind the simulator's Device interface: blocking I/O under the virtual-clock engine", async () => {
    const paths = [0, 1].map((i) => join(dir, `sync-${i}.img`));
    const devices = await openDevices(paths, { sizeBytes: 2 * MiB, write: true });
    try {
      const records: IoRecord[] = [];
      const result = replay(
        workload(40, 0.5).map((r) => ({ ...r, device: r.device % 2 })),
        { devices, policy: { name: 'baseline' }, onRecord: (r) => records.push(r) },
      );
      assert.equal(result.ios, 40);
      assert.ok(records.every((r) => r.latencyUs > 0));
      assert.throws(() => devices[0]!.peekRead(), /cannot tell/);
    } finally {
      closeDevices(devices);
    }
  });
});
