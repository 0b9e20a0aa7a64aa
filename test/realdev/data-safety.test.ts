/**
 * lake never writes a file it did not create unless the user names it with an explicit flag: a user's file
 * named in --devices is refused (and left byte for byte as it was) without --allow-existing-files, an image
 * lake created is reused, an output that is also an input is refused, `lake record --out` is checked before
 * the replay, an image that cannot fit is refused before a byte is written, and an interrupted image creation
 * leaves nothing behind. The exit statuses are the real CLI's (child processes).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { registerRecord } from '../../src/cli/record.js';
import { registerReplay } from '../../src/cli/replay.js';
import { LakeError } from '../../src/errors.js';
import { imageMarkPath } from '../../src/files/image-mark.js';
import { saveModel } from '../../src/models/model-file.js';
import { Random } from '../../src/random.js';
import { closeDevices, openDevices } from '../../src/realdev/open.js';
import { synthesize } from '../../src/trace/synth.js';
import { writeTrace } from '../../src/trace/write.js';
import { runCommand, runLake } from '../helpers/cli.js';
import { randomModel } from '../kernels/helpers.js';

const MiB = 1 << 20;
const dir = mkdtempSync(join(tmpdir(), 'lake-data-safety-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const mixed = join(dir, 'mixed.trace');
const reads = join(dir, 'reads.trace');
const userFile = join(dir, 'db.bin');

const digest = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

before(async () => {
  const records = [...synthesize('azure', { durationMs: 200, seed: 3, rateScale: 0.3 })];
  assert.ok(records.some((r) => !r.read) && records.some((r) => r.read), 'the mixed trace has both');
  await writeTrace(mixed, records, 'linnos-input');
  await writeTrace(
    reads,
    records.filter((r) => r.read),
    'linnos-input',
  );
  // 8 MiB of (seeded) random bytes: a user's database file.
  const random = new Random(11);
  const bytes = Buffer.alloc(8 * MiB);
  for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE(random.int(2 ** 32), i);
  writeFileSync(userFile, bytes);
});

function expectRefusal(
  r: { status: number | null; stderr: string },
  pattern: RegExp,
  code = 'LAKE_E_USAGE',
): void {
  assert.notEqual(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`^lake: ${code}: `), r.stderr);
  assert.match(r.stderr, pattern);
}

async function failure(run: Promise<unknown>): Promise<LakeError> {
  try {
    await run;
  } catch (error) {
    assert.ok(error instanceof LakeError, String(error));
    return error;
  }
  assert.fail('the command succeeded');
}

describe(
  'a file lake did not create is never written without --allow-existing-files',
  { timeout: 120_000 },
  () => {
    for (const [command, trace, what] of [
      ['replay', mixed, 'a trace with writes'],
      ['record', mixed, 'a trace with writes'],
      ['replay', reads, 'a read-only trace'],
      ['record', reads, 'a read-only trace'],
    ] as const) {
      test(`lake ${command} with ${what}: refused, the file unchanged, the flag named`, () => {
        const before = digest(userFile);
        const out = join(dir, `${command}-out.csv`);
        const args = [command, '--devices', userFile, '--size', '8M', '--trace', trace, '--json'];
        if (command === 'record') args.push('--out', out);
        const r = runLake(args);
        expectRefusal(r, /db\.bin is not an image lake created \(it has no .*db\.bin\.lake-image mark\)/);
        assert.match(r.stderr, /Pass --allow-existing-files to replay on it anyway/);
        if (trace === mixed) assert.match(r.stderr, /the trace's writes would overwrite its data/);
        assert.equal(digest(userFile), before);
        assert.ok(!existsSync(out), 'nothing recorded');
        assert.ok(!existsSync(imageMarkPath(userFile)), 'no mark added to a user file');
      });
    }

    test('with --allow-existing-files the file is used: read-only traces leave it as it was, writes change it', () => {
      const copy = join(dir, 'allowed.bin');
      writeFileSync(copy, readFileSync(userFile));
      const before = digest(copy);
      const ro = runLake(['replay', '--devices', copy, '--trace', reads, '--allow-existing-files', '--json']);
      assert.equal(ro.status, 0, ro.stderr);
      assert.equal(digest(copy), before, 'only read');
      const rw = runLake(['replay', '--devices', copy, '--trace', mixed, '--allow-existing-files', '--json']);
      assert.equal(rw.status, 0, rw.stderr);
      const json = JSON.parse(rw.stdout) as { devices: Array<{ path: string; created: boolean }> };
      assert.deepEqual(
        json.devices.map((d) => [d.path, d.created]),
        [[copy, false]],
      );
      assert.notEqual(digest(copy), before, "the trace's writes reached it, as the flag agreed");
    });

    test('an image lake created is reused by the next run without the flag', () => {
      const image = join(dir, 'made.img');
      const first = runLake(['replay', '--devices', image, '--size', '1M', '--trace', mixed, '--json']);
      assert.equal(first.status, 0, first.stderr);
      assert.ok(existsSync(imageMarkPath(image)), 'marked at creation');
      const second = runLake(['replay', '--devices', image, '--trace', mixed, '--json']);
      assert.equal(second.status, 0, second.stderr);
      const json = JSON.parse(second.stdout) as { devices: Array<{ created: boolean }> };
      assert.equal(json.devices[0]!.created, false);
    });
  },
);

describe('image marks', () => {
  test('a mark that does not match its file blesses nothing: replaced image, changed size, foreign mark', async () => {
    const image = join(dir, 'marked.img');
    closeDevices(await openDevices([image], { sizeBytes: MiB }));
    closeDevices(await openDevices([image], { write: true }));

    // The image removed and a user's file put at its path: the mark names another inode.
    rmSync(image);
    writeFileSync(image, readFileSync(userFile).subarray(0, MiB));
    const before = digest(image);
    await assert.rejects(
      openDevices([image], { write: true }),
      (e: unknown) =>
        e instanceof LakeError &&
        e.code === 'LAKE_E_USAGE' &&
        /its mark .*marked\.img\.lake-image was written for another file/.test(e.message) &&
        /--allow-existing-files/.test(e.message),
    );
    assert.equal(digest(image), before);

    // A mark copied beside another file.
    const other = join(dir, 'other.img');
    writeFileSync(other, Buffer.alloc(MiB, 1));
    writeFileSync(imageMarkPath(other), readFileSync(imageMarkPath(image)));
    await assert.rejects(openDevices([other]), /was written for another file/);

    // Something at the mark's path that is not a mark.
    const third = join(dir, 'third.img');
    writeFileSync(third, Buffer.alloc(MiB, 2));
    writeFileSync(imageMarkPath(third), 'my notes');
    await assert.rejects(openDevices([third]), /third\.img\.lake-image is not a lake image mark/);
    // ... nor is it replaced when lake creates an image at that path.
    rmSync(third);
    await assert.rejects(openDevices([third], { sizeBytes: MiB }), /is not a lake image mark.*not touched/);
    assert.equal(readFileSync(imageMarkPath(third), 'utf8'), 'my notes');
    assert.ok(!existsSync(third));
  });

  test('devices of one call are checked before any image is created', async () => {
    const fresh = join(dir, 'fresh.img');
    await assert.rejects(
      openDevices([fresh, userFile], { sizeBytes: 8 * MiB, write: true }),
      /not an image lake created/,
    );
    assert.ok(!existsSync(fresh), 'the refusal came before fresh.img was created');
    assert.ok(!existsSync(imageMarkPath(fresh)));
  });
});

describe('an output that is also an input is refused', () => {
  test('--devices naming the trace, even with --allow-existing-files', async () => {
    const copy = join(dir, 'self.trace');
    writeFileSync(copy, readFileSync(mixed));
    const before = digest(copy);
    const e = await failure(
      runCommand(registerReplay, 'replay', ['--devices', copy, '--trace', copy, '--allow-existing-files']),
    );
    assert.equal(e.code, 'LAKE_E_USAGE');
    assert.match(e.message, /--devices .*self\.trace is also the input --trace .*self\.trace/);
    assert.equal(digest(copy), before);
  });

  test('--devices naming the model, and a report directory over the trace', async () => {
    const model = join(dir, 'm.json');
    await saveModel(model, randomModel(1, [31, 8, 2]), {
      kind: 'linnos',
      featureSchema: 'linnos-digits-31',
      createdAt: '2026-01-01T00:00:00Z',
    });
    const e = await failure(
      runCommand(registerReplay, 'replay', [
        '--devices',
        model,
        '--trace',
        mixed,
        '--policies',
        'linnos',
        '--model',
        model,
      ]),
    );
    assert.match(e.message, /--devices .*m\.json is also the input --model/);
    const report = join(dir, 'report');
    mkdirSync(report, { recursive: true });
    const results = join(report, 'results.json');
    writeFileSync(results, readFileSync(mixed));
    const f = await failure(
      runCommand(registerReplay, 'replay', [
        '--devices',
        join(dir, 'r.img'),
        '--size',
        '1M',
        '--trace',
        results,
        '--out',
        report,
      ]),
    );
    assert.match(f.message, /--out .*report would write .*results\.json, which is also the input --trace/);
    assert.ok(!existsSync(join(dir, 'r.img')), 'refused before any device was created');
  });

  test('lake record --out: a directory, a missing directory, the trace: refused before the replay', async () => {
    const device = join(dir, 'rec.img');
    const cases: Array<[string, RegExp]> = [
      [dir, /--out .* is a directory: name the file to write/],
      [join(dir, 'absent', 'x.csv'), /--out .*x\.csv: the directory .*absent does not exist/],
      [mixed, /--out .*mixed\.trace is also the input --trace/],
    ];
    for (const [out, pattern] of cases) {
      const e = await failure(
        runCommand(registerRecord, 'record', [
          '--devices',
          device,
          '--size',
          '1M',
          '--trace',
          mixed,
          '--out',
          out,
        ]),
      );
      assert.equal(e.code, 'LAKE_E_USAGE');
      assert.match(e.message, pattern);
      assert.ok(!existsSync(device), 'no device was created: nothing ran');
    }
  });

  test('lake convert x.h x.h leaves x.h unchanged and exits non-zero', async () => {
    const json = join(dir, 'model.json');
    await saveModel(json, randomModel(2, [31, 256, 2]), {
      kind: 'linnos',
      featureSchema: 'linnos-digits-31',
      createdAt: '2026-01-01T00:00:00Z',
      device: 'sdb',
    });
    const header = join(dir, 'x.h');
    const made = runLake(['convert', json, header, '--device', 'sdb']);
    assert.equal(made.status, 0, made.stderr);
    const before = digest(header);
    const r = runLake(['convert', header, header]);
    expectRefusal(r, /OUT .*x\.h is also the input IN .*x\.h: lake never writes over its input/);
    assert.equal(digest(header), before);
  });
});

describe('image creation: free space and interrupts', { timeout: 120_000 }, () => {
  test('--size 20T is refused before a byte is written, naming the path, the needed and the free bytes', async () => {
    const image = join(dir, 'huge.img');
    const e = await failure(
      runCommand(registerReplay, 'replay', ['--devices', image, '--size', '20T', '--trace', mixed]),
    );
    assert.equal(e.code, 'LAKE_E_IO');
    assert.match(
      e.message,
      /huge\.img: not enough free space in .*: the image needs 20\.0 TiB \(21990232555520 bytes\)/,
    );
    assert.match(e.message, /must stay free, but .* is free/);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('huge')),
      [],
    );
  });

  test('images that fit one by one but not together are refused together', async () => {
    const s = statfsSync(dir);
    const each = Math.floor((s.bavail * s.bsize * 0.45) / MiB) * MiB;
    const paths = [0, 1, 2].map((i) => join(dir, `together${i}.img`));
    await assert.rejects(
      openDevices(paths, { sizeBytes: each }),
      (e: unknown) =>
        e instanceof LakeError &&
        e.code === 'LAKE_E_IO' &&
        /\(together\): not enough free space/.test(e.message),
    );
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('together')),
      [],
    );
  });

  const root = fileURLToPath(new URL('../../', import.meta.url));
  const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
  for (const [signal, status, devices] of [
    ['SIGINT', 130, ['one.img']],
    ['SIGTERM', 143, ['first.img', 'second.img']],
  ] as const) {
    test(`${signal} while creating ${devices.join(' and ')} removes every image, mark and temporary; exit ${status}`, async () => {
      const work = mkdtempSync(join(dir, `${signal}-`));
      const paths = devices.map((name) => join(work, name));
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          main,
          'replay',
          '--devices',
          paths.join(','),
          '--size',
          '256M',
          '--trace',
          mixed,
          '--json',
        ],
        { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = new Promise<[number | null, string | null]>((resolve) =>
        child.on('exit', (code, sig) => resolve([code, sig])),
      );
      // Wait until the last image's temporary exists: its creation (and, for two, the first image) is done
      // or under way, and the replay has not started.
      const last = devices[devices.length - 1]!;
      let seen = false;
      for (let i = 0; i < 6000 && !seen && child.exitCode === null; i++) {
        seen = readdirSync(work).some((f) => f.startsWith(`.${last}.`) && f.endsWith('.tmp'));
        if (!seen) await new Promise((r) => setTimeout(r, 5));
      }
      assert.ok(seen, `the temporary of ${last} never appeared: ${stderr}`);
      if (devices.length > 1)
        assert.ok(existsSync(paths[0]!), 'the first image was complete when interrupted');
      child.kill(signal);
      const [code, sig] = await exited;
      assert.equal(sig, null, stderr);
      assert.equal(code, status, stderr);
      assert.match(stderr, new RegExp(`lake: interrupted by ${signal}: removed \\d+ unfinished file`));
      assert.deepEqual(readdirSync(work), [], 'no image, mark or temporary is left');
    });
  }
});
