/**
 * Atomic outputs and the registry of live temporaries: a write appears whole or not at all, a failure or an
 * abort leaves the target as it was and no temporary behind, and SIGINT/SIGTERM remove every live temporary
 * and exit with 130/143 (in a child process, for real).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LakeError } from '../../src/errors.js';
import { openAtomic, writeFileAtomic } from '../../src/files/atomic.js';
import { liveTemporaries, temporaryPathFor, trackTemporary } from '../../src/files/temporary.js';

const dir = mkdtempSync(join(tmpdir(), 'lake-atomic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('atomic writes', () => {
  test('writeFileAtomic replaces the file whole and leaves no temporary', async () => {
    const path = join(dir, 'out.json');
    writeFileSync(path, 'old');
    await writeFileAtomic(path, '{"new":true}\n');
    assert.equal(readFileSync(path, 'utf8'), '{"new":true}\n');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...readFileSync(path)], [1, 2, 3]);
    assert.deepEqual(readdirSync(dir), ['out.json']);
    assert.deepEqual(liveTemporaries(), []);
  });

  test('a write into a missing directory fails with LAKE_E_IO naming the path', async () => {
    const path = join(dir, 'absent', 'x.json');
    await assert.rejects(
      writeFileAtomic(path, 'x'),
      (e: unknown) => e instanceof LakeError && e.code === 'LAKE_E_IO' && e.message.startsWith(path),
    );
    assert.deepEqual(liveTemporaries(), []);
  });

  test('an aborted streamed write leaves the previous file and no temporary; the temporary is live meanwhile', async () => {
    const path = join(dir, 'trace.csv');
    writeFileSync(path, 'previous\n');
    const file = await openAtomic(path);
    await file.write('partial ');
    const live = liveTemporaries();
    assert.equal(live.length, 1);
    assert.ok(
      readdirSync(dir).includes(live[0]!.slice(dir.length + 1)),
      'the live temporary is beside the target',
    );
    await file.abort();
    await file.abort();
    assert.equal(readFileSync(path, 'utf8'), 'previous\n');
    assert.deepEqual(readdirSync(dir).sort(), ['out.json', 'trace.csv']);
    assert.deepEqual(liveTemporaries(), []);
    await assert.rejects(file.commit(), /already committed or aborted/);
  });
});

describe('the temporary registry', () => {
  test('names are hidden, beside the target, unique; release forgets, remove deletes', () => {
    const a = temporaryPathFor(join(dir, 'x.img'));
    const b = temporaryPathFor(join(dir, 'x.img'));
    assert.notEqual(a, b);
    assert.match(a, new RegExp(`^${dir}/\\.x\\.img\\.${process.pid}\\.[0-9a-f]{8}\\.tmp$`));
    writeFileSync(a, 'a');
    writeFileSync(b, 'b');
    const ta = trackTemporary(a);
    const tb = trackTemporary(b);
    assert.deepEqual(liveTemporaries().sort(), [a, b].sort());
    ta.release();
    tb.remove();
    tb.remove();
    assert.deepEqual(liveTemporaries(), []);
    assert.equal(readFileSync(a, 'utf8'), 'a', 'released: kept');
    assert.ok(!readdirSync(dir).includes(b.slice(dir.length + 1)), 'removed');
    rmSync(a);
  });

  const temporaryModule = fileURLToPath(new URL('../../src/files/atomic.ts', import.meta.url));
  for (const [signal, status] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    test(`${signal} removes a write in flight and exits ${status}`, async () => {
      const work = mkdtempSync(join(dir, `${signal}-`));
      const target = join(work, 'results.json');
      // A child that starts an atomic write, says so, and waits: the signal arrives mid-write.
      const script = `import { openAtomic } from ${JSON.stringify(temporaryModule)};
const file = await openAtomic(${JSON.stringify(target)});
await file.write('half of it');
process.stdout.write('ready\\n');
setInterval(() => undefined, 1000);
`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: fileURLToPath(new URL('../../', import.meta.url)),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          if (d.toString().includes('ready')) resolve();
        });
        child.on('exit', () => reject(new Error(`child exited early: ${stderr}`)));
      });
      assert.equal(readdirSync(work).length, 1, 'the temporary exists while the write is in flight');
      const exited = new Promise<[number | null, string | null]>((resolve) =>
        child.on('exit', (code, sig) => resolve([code, sig])),
      );
      child.kill(signal);
      const [code, sig] = await exited;
      assert.equal(sig, null);
      assert.equal(code, status, stderr);
      assert.match(stderr, new RegExp(`interrupted by ${signal}: removed 1 unfinished file`));
      assert.deepEqual(readdirSync(work), [], 'no temporary and no target');
    });
  }
});
