/**
 * fio as the reference of `lake bench replay-overhead`: the command line repeats lake's pattern, fio's JSON
 * report is read strictly, an absent fio is said so, and (where fio is installed, as in CI) one comparison
 * runs lake and fio on the same files.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { compareWithFio, comparisonResults } from '../../src/bench/replay-overhead.js';
import {
  type FioPattern,
  fioArguments,
  fioAvailability,
  parseFioJson,
} from '../../src/bench/replay-overhead-fio.js';
import { LakeError } from '../../src/errors.js';
import { assertPlainData } from '../helpers/plain-data.js';

const pattern: FioPattern = {
  paths: ['/tmp/a.img', '/tmp/odd:name.img', '/tmp/c.img'],
  fileBytes: 64 << 20,
  ioBytes: 4096,
  ios: 60000,
  queueDepth: 32,
  direct: true,
  seed: 7,
};

/** A fio 3.33 JSON report, trimmed to the fields lake reads (and one it does not). */
function report(overrides: { error?: number; totalIos?: number; iops?: unknown } = {}): string {
  return JSON.stringify({
    'fio version': 'fio-3.33',
    jobs: [
      {
        jobname: 'lake-reference',
        error: overrides.error ?? 0,
        job_runtime: 800,
        usr_cpu: 5,
        sys_cpu: 40,
        read: {
          total_ios: overrides.totalIos ?? 60000,
          runtime: 800,
          iops: overrides.iops ?? 75000,
          clat_ns: { mean: 1_250_000 },
        },
      },
    ],
  });
}

describe('the fio command line', () => {
  test('repeats lake pattern: files, block size, offset range, I/O count, depth, O_DIRECT, read only', () => {
    const args = fioArguments(pattern);
    assert.ok(
      args.includes('--filename=/tmp/a.img:/tmp/odd\\:name.img:/tmp/c.img'),
      'a colon in a name is escaped',
    );
    for (const expected of [
      '--rw=randread',
      '--bs=4096',
      `--filesize=${64 << 20}`,
      `--io_size=${60000 * 4096}`,
      '--iodepth=96',
      '--direct=1',
      '--ioengine=io_uring',
      '--norandommap',
      '--randseed=7',
      '--file_service_type=roundrobin',
      '--readonly',
      '--output-format=json',
    ])
      assert.ok(args.includes(expected), `${expected} in ${args.join(' ')}`);
    assert.ok(fioArguments({ ...pattern, direct: false }).includes('--direct=0'));
  });
});

describe('fio JSON reports', () => {
  test('give IOPS, runtime, latency and CPU time per I/O; text before the JSON is skipped', () => {
    const run = parseFioJson(`fio: some note\n${report()}`, 60000);
    assert.deepEqual(run, {
      iops: 75000,
      wallMs: 800,
      ios: 60000,
      readMeanUs: 1250,
      cpuUserUsPerIo: (0.05 * 800_000) / 60000,
      cpuSystemUsPerIo: (0.4 * 800_000) / 60000,
    });
  });

  test('a broken report is a LakeError naming what is wrong', () => {
    const fails = (text: string, ios: number, pattern: RegExp): void =>
      assert.throws(
        () => parseFioJson(text, ios),
        (e: unknown) => e instanceof LakeError && e.code === 'LAKE_E_IO' && pattern.test(e.message),
      );
    fails('no json here', 60000, /not JSON/);
    fails(report({ error: 5 }), 60000, /error 5/);
    fails(report({ totalIos: 59000 }), 60000, /59000 reads, asked for 60000 .*total_ios/);
    fails(report({ iops: 'fast' }), 60000, /jobs\[0\]\.read\.iops/);
    fails(JSON.stringify({ jobs: [] }), 60000, /jobs\[0\]\.error/);
  });
});

test('an absent fio is reported as absent, with the reason', () => {
  const missing = fioAvailability('/nonexistent/fio');
  assert.equal(missing.available, false);
  assert.match(missing.available ? '' : missing.reason, /not installed/);
});

const dir = mkdtempSync(join(tmpdir(), 'lake-fio-bench-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test(
  'without fio, the comparison runs lake alone and says the reference is absent',
  { timeout: 60_000 },
  async () => {
    const c = await compareWithFio({
      dir,
      ios: 300,
      fileBytes: 1 << 20,
      queueDepth: 4,
      samples: 1,
      fioCommand: '/nonexistent/fio',
    });
    assertPlainData({ baseline: c.baseline, linnos: c.linnos, fio: c.fio });
    assert.equal(c.reference.available, false);
    assert.deepEqual(c.fio, []);
    assert.equal(c.baseline.length, 1);
    assert.equal(c.linnos.length, 1);
    assert.equal(c.linnos[0]!.policy, 'linnos');
    assert.equal(
      c.linnos[0]!.revokes,
      0,
      'the admit-all model revokes nothing: the devices see the baseline reads',
    );
    assert.deepEqual(readdirSync(dir), [], 'its image files are gone');
  },
);

test(
  'a fio that fails leaves lake figures standing, and its row says what fio said',
  { timeout: 60_000 },
  async () => {
    const bin = mkdtempSync(join(tmpdir(), 'lake-fake-fio-'));
    try {
      const fake = join(bin, 'fio');
      writeFileSync(
        fake,
        '#!/bin/sh\nif [ "$1" = --version ]; then echo fio-3.33; exit 0; fi\necho "fio: pid=1, err=22/file:filesetup.c:805, func=open, error=Invalid argument" >&2\nexit 1\n',
      );
      chmodSync(fake, 0o755);
      const c = await compareWithFio({
        dir,
        ios: 200,
        fileBytes: 1 << 20,
        queueDepth: 4,
        samples: 2,
        fioCommand: fake,
      });
      assert.equal(c.reference.available, true);
      assert.deepEqual(c.fio, []);
      assert.match(c.fioError ?? '', /exited with status 1: .*Invalid argument/);
      assert.equal(c.baseline.length, 2);
      const rows = comparisonResults(c);
      const reference = rows.find((r) => r.name === 'IOPS, QD4, fio io_uring (reference)');
      assert.equal(reference?.state, 'errored');
      assert.match(reference?.error ?? '', /^fio failed: .*Invalid argument/);
      const lake = rows.find((r) => r.name === 'IOPS, QD4, lake baseline');
      assert.equal(lake?.state, 'completed');
      assert.equal(lake?.ratio, undefined, 'no ratio without a reference figure');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  },
);

const fio = fioAvailability();
test(
  'with fio installed, lake and fio read the same files for the same I/O count',
  { skip: fio.available ? false : 'fio is not installed', timeout: 120_000 },
  async () => {
    const c = await compareWithFio({ dir, ios: 600, fileBytes: 1 << 20, queueDepth: 4, samples: 2 });
    assert.equal(c.fio.length, 2);
    assert.equal(c.baseline.length, 2);
    for (const run of c.fio) {
      assert.equal(run.ios, 600);
      assert.ok(run.iops > 0 && run.readMeanUs > 0);
    }
    assert.equal(c.pattern.ios, 600);
    assert.equal(c.pattern.fileBytes, 1 << 20);
    assert.equal(c.pattern.direct, c.baseline[0]!.direct);
    assert.deepEqual(readdirSync(dir), [], 'its image files are gone');
    const rows = comparisonResults(c);
    assertPlainData(rows);
    const reference = rows.find((r) => r.name === 'IOPS, QD4, fio io_uring (reference)')!;
    assert.equal(reference.samples, 2);
    for (const label of ['baseline', 'linnos']) {
      const lake = rows.find((r) => r.name === `IOPS, QD4, lake ${label}`)!;
      assert.equal(lake.ratio, lake.median / reference.median, `${label}: ratio to fio's median`);
      assert.equal(typeof lake.details?.['pairedRatioToFio'], 'number');
    }
  },
);
