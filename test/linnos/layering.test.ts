/**
 * LinnOS lives in one folder: src/linnos holds its features, labels, training, vector files, per-device
 * pipeline, online policy and recorded-trace pipeline. It sits below the LAKE runtime, the CLI and the
 * benchmarks (they import it, never the reverse), and src/learn's generic learning code does not depend on it.
 * Only two LinnOS-named places live elsewhere, on purpose: the integer weight format and headers in
 * src/models (model files the kernels and loadModel read) and LinnOS on the LAKE runtime in src/lake/linnos.
 * No module imports itself through a chain of value imports.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../../src/', import.meta.url));

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (path.endsWith('.ts')) yield path;
  }
}

/** Relative modules a file imports or re-exports, resolved to .ts paths; `typeOnly: false` skips `import type`. */
function importsOf(file: string, typeOnly = true): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/^(import|export)(\s+type\b)?[^;]*?from\s*'(\.{1,2}\/[^']+)'/gm)) {
    if (!typeOnly && match[2] !== undefined) continue;
    found.push(resolve(dirname(file), match[3]!.replace(/\.js$/, '.ts')));
  }
  return found;
}

const folder = (name: string): string => join(src, name);
const inside = (path: string, dir: string): boolean => path === dir || path.startsWith(dir + sep);

function importsInto(fromDir: string, intoDirs: readonly string[]): string[] {
  const found: string[] = [];
  for (const file of sources(fromDir)) {
    for (const target of importsOf(file)) {
      if (intoDirs.some((dir) => inside(target, dir)))
        found.push(`${relative(src, file)} imports ${relative(src, target)}`);
    }
  }
  return found;
}

test('src/linnos imports neither the LAKE runtime, the CLI nor the benchmarks', () => {
  assert.deepEqual(importsInto(folder('linnos'), [folder('lake'), folder('cli'), folder('bench')]), []);
});

test('src/learn (generic learning code) does not import LinnOS or the recorded-trace pipelines', () => {
  assert.deepEqual(importsInto(folder('learn'), [folder('linnos'), folder('realtrace')]), []);
});

test('LinnOS-named modules live in src/linnos, except the weight format (src/models) and LinnOS on LAKE', () => {
  const allowed = [join(src, 'models', 'linnos-header.ts'), join(src, 'models', 'linnos-integer.ts')];
  const stray = [...sources(src)]
    .filter((file) => /linnos/i.test(relative(src, file)))
    .filter((file) => !inside(file, folder('linnos')) && !inside(file, join(src, 'lake', 'linnos')))
    .filter((file) => !allowed.includes(file))
    .map((file) => relative(src, file));
  assert.deepEqual(stray, []);
});

test('no cycle of value imports among src modules', () => {
  const graph = new Map<string, string[]>();
  for (const file of sources(src)) graph.set(file, importsOf(file, false));
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]): void => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') {
        cycles.push([...path.slice(path.indexOf(next)), next].map((p) => relative(src, p)).join(' -> '));
      } else if (!state.has(next)) {
        visit(next, path);
      }
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file, []);
  assert.deepEqual(cycles, []);
});

test('the import scan sees what src/linnos and src/lake/linnos import', () => {
  // Guards the scans above against a regex that matches nothing: known edges must be found.
  const pipeline = importsOf(join(src, 'linnos', 'pipeline.ts'), false);
  assert.ok(pipeline.includes(join(src, 'linnos', 'train.ts')), pipeline.join(', '));
  // pipeline.ts imports mlp.ts for a type only: seen by the layering scans, left out of the cycle scan.
  assert.ok(!pipeline.includes(join(src, 'learn', 'mlp.ts')), pipeline.join(', '));
  assert.ok(importsOf(join(src, 'linnos', 'pipeline.ts')).includes(join(src, 'learn', 'mlp.ts')));
  const onLake = importsInto(join(src, 'lake', 'linnos'), [folder('linnos')]);
  assert.ok(onLake.length > 0, 'src/lake/linnos uses LinnOS from src/linnos');
});
