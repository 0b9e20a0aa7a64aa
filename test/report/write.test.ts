import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { writeFileAtomic, writeReportFiles } from '../../src/report/write.js';

const root = await mkdtemp(join(tmpdir(), 'lake-report-'));
after(() => rm(root, { recursive: true, force: true }));

test('writes the four report files into a new directory and leaves no temporary files', async () => {
  const outDir = join(root, 'nested', 'out');
  const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
  const written = await writeReportFiles(outDir, {
    json: { p99: 123.5 },
    svg: '<svg/>',
    png,
    html: '<!DOCTYPE html>',
    extra: { 'quality.md': '| a |' },
  });
  assert.deepEqual(
    written,
    ['results.json', 'cdf.svg', 'cdf.png', 'report.html', 'quality.md'].map((name) => join(outDir, name)),
  );
  assert.deepEqual((await readdir(outDir)).sort(), [
    'cdf.png',
    'cdf.svg',
    'quality.md',
    'report.html',
    'results.json',
  ]);
  assert.deepEqual(JSON.parse(await readFile(join(outDir, 'results.json'), 'utf8')), { p99: 123.5 });
  assert.deepEqual(new Uint8Array(await readFile(join(outDir, 'cdf.png'))), png);
  assert.equal(await readFile(join(outDir, 'report.html'), 'utf8'), '<!DOCTYPE html>');
});

test('replaces an existing file and writes only what is given', async () => {
  const outDir = join(root, 'replace');
  await writeReportFiles(outDir, { svg: 'old', html: 'keep' });
  await writeReportFiles(outDir, { svg: 'new' });
  assert.equal(await readFile(join(outDir, 'cdf.svg'), 'utf8'), 'new');
  assert.equal(await readFile(join(outDir, 'report.html'), 'utf8'), 'keep');
  assert.deepEqual((await readdir(outDir)).sort(), ['cdf.svg', 'report.html']);
});

test('a failed write throws LAKE_E_IO, removes its temporary file and keeps the old file', async () => {
  const outDir = join(root, 'fail');
  await writeReportFiles(outDir, { html: 'old' });
  // Renaming a file over a non-empty directory fails after the temporary file was written.
  const target = join(outDir, 'blocked');
  await mkdir(join(target, 'child'), { recursive: true });
  await assert.rejects(
    writeFileAtomic(target, 'data'),
    (error: unknown) =>
      error instanceof LakeError && error.code === 'LAKE_E_IO' && error.message.includes('blocked'),
  );
  assert.deepEqual((await readdir(outDir)).sort(), ['blocked', 'report.html']);
  assert.equal(await readFile(join(outDir, 'report.html'), 'utf8'), 'old');
});

test('an output path that is a file is an I/O error; extra names must be plain', async () => {
  const file = join(root, 'a-file');
  await writeFile(file, 'x');
  await assert.rejects(
    writeReportFiles(join(file, 'out'), { svg: '<svg/>' }),
    (e: unknown) => e instanceof LakeError && e.code === 'LAKE_E_IO',
  );
  await assert.rejects(writeReportFiles(root, { extra: { '../escape.txt': 'x' } }), /plain file name/);
});
