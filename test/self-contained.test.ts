/**
 * The repository stands alone: nothing refers to the workspace folder beside it that the test fixtures
 * were first copied from (a fresh clone has no such folder, and its tests must pass), and every fixture
 * the helper resolves is in test/fixtures with the README that gives its provenance.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { fixturePath, readFixture } from './helpers/fixtures.js';

const root = fileURLToPath(new URL('../', import.meta.url));
/** Folders and files a fresh clone holds that could name a path. */
const scanned = ['src', 'test', 'scripts', 'native', 'docs', 'README.md', 'BENCHMARKS.md', 'package.json'];
/** Built from parts so that this file does not match itself. */
const shared = ['sha', 'red'].join('');
const outside = new RegExp([`\\.\\./${shared}`, `/work/${shared}`, `${shared}/fixtures`].join('|'));
const binary = /\.(gz|wasm|png|node)$/;

function* files(path: string): Generator<string> {
  if (!existsSync(path)) return;
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path)) yield* files(join(path, entry));
  } else {
    yield path;
  }
}

test('no source, test, script or doc refers to the shared workspace folder', () => {
  const offenders: string[] = [];
  let checked = 0;
  for (const top of scanned) {
    for (const file of files(join(root, top))) {
      if (binary.test(file)) continue;
      checked++;
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (outside.test(line)) offenders.push(`${relative(root, file)}:${i + 1}: ${line.trim()}`);
      });
    }
  }
  assert.ok(checked > 100, `only ${checked} files scanned: is the repository layout as expected?`);
  assert.deepEqual(offenders, []);
});

test('the pattern catches what it is for', () => {
  assert.ok(
    outside.test(`new URL('${['..', '..', '..', 'shared', 'fixtures'].join('/')}/x', import.meta.url)`),
  );
  assert.ok(!outside.test("fixturePath('traces/x.trace')"));
});

test('every fixture folder carries its README, and every compressed fixture inflates', () => {
  const fixtures = fixturePath('.');
  for (const folder of ['linnos', 'traces']) {
    assert.ok(existsSync(join(fixtures, folder, 'README.md')), `${folder}/README.md`);
  }
  let compressed = 0;
  for (const file of files(fixtures)) {
    if (!file.endsWith('.gz')) continue;
    compressed++;
    const inflated = gunzipSync(readFileSync(file));
    assert.ok(inflated.length > 0, relative(fixtures, file));
  }
  assert.ok(compressed >= 7, `${compressed} compressed fixtures`);
});

test('fixturePath finds the stored form of a fixture, and refuses one that is missing', () => {
  const name = 'traces/heimdall-msr-raw/msr.cut.per_10k.rw_20_80.105.trace';
  assert.match(fixturePath(name), /\.trace\.gz$/);
  assert.match(fixturePath('linnos/w_sde.h'), /w_sde\.h$/);
  assert.equal(readFixture(name).toString('latin1').split('\n')[0]?.split(' ').length, 5);
  assert.throws(() => fixturePath('linnos/no-such-file'), /missing/);
});
