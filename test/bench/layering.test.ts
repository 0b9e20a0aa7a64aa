/**
 * Benchmarks sit above the code they measure: src/bench may import every concern, but no runtime module
 * imports src/bench (only the CLI, which registers the suites, and the public index, which re-exports two
 * of them), and no runtime folder holds a benchmark module of its own.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../../src/', import.meta.url));
const benchDir = join(src, 'bench');
/** Modules above the benchmarks, allowed to import them. */
const allowed = new Set([join(src, 'cli', 'bench.ts'), join(src, 'index.ts')]);

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (path.endsWith('.ts')) yield path;
  }
}

/** Every relative module a file imports or re-exports, resolved to its .ts path. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    found.push(resolve(dirname(file), match[1]!.replace(/\.js$/, '.ts')));
  }
  return found;
}

const inBench = (path: string): boolean => path === benchDir || path.startsWith(benchDir + sep);

test('no runtime module imports src/bench', () => {
  const offenders: string[] = [];
  for (const file of sources(src)) {
    if (inBench(file) || allowed.has(file)) continue;
    for (const target of importsOf(file)) {
      if (inBench(target)) offenders.push(`${relative(src, file)} imports ${relative(src, target)}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test('benchmark modules live in src/bench only', () => {
  const stray = [...sources(src)]
    .filter((file) => !inBench(file) && /(^|[-/])bench[^/]*\.ts$/.test(relative(src, file)))
    .filter((file) => !allowed.has(file))
    .map((file) => relative(src, file));
  assert.deepEqual(stray, []);
});

test('the import scan sees imports into src/bench (the CLI registers the suites)', () => {
  const cli = importsOf(join(src, 'cli', 'bench.ts')).filter(inBench);
  assert.ok(
    cli.includes(join(benchDir, 'lake-remoting.ts')),
    `src/cli/bench.ts imports ${cli.map((p) => relative(src, p)).join(', ')}`,
  );
});
