import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  benchContention,
  benchCrossover,
  contentionSuiteOf,
  crossoverSuiteOf,
  crossoverSvg,
  crossoverTable,
} from '../../src/bench/lake-policy.js';
import { assertPlainData } from '../helpers/plain-data.js';

// Shape and behaviour only: speed belongs to the benchmark runs, not to unit tests.

const dir = mkdtempSync(join(tmpdir(), 'lake-bench-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('benchCrossover: us per batch inline and on lakeD per model and size, a table and a plot', async () => {
  const bench = await benchCrossover({ batchSizes: [1, 4, 16], models: ['nn', 'nn+2'], trials: 1 });
  assert.deepEqual(bench.batchSizes, [1, 4, 16]);
  assert.deepEqual(
    bench.models.map((m) => m.model),
    ['nn', 'nn+2'],
  );
  for (const m of bench.models) {
    for (const curve of [m.inlineUs, m.offloadUs, m.splitUs]) {
      assert.equal(curve.length, 3);
      assert.ok(curve.every((us) => us > 0 && Number.isFinite(us)));
    }
    for (const c of [m.crossover.offload, m.crossover.split]) assert.ok(c === null || [1, 4, 16].includes(c));
  }
  assert.deepEqual(bench.models[1]!.layers, [31, 256, 256, 256, 2]);
  assertPlainData(bench);
  const table = crossoverTable(bench);
  assert.equal(table.rows.length, 3);
  assert.equal(table.headers.length, 1 + 2 * 3 + 2);
  assert.deepEqual(table.rows[2]!.slice(-2), ['107', '57'], "LAKE's NN figures at batch 16");
  const svg = await crossoverSvg(bench);
  assert.match(svg, /^<svg/);
  assert.match(svg, /batch size/);
  const suite = await crossoverSuiteOf(bench, dir);
  assert.equal(suite.suite, 'crossover');
  assert.deepEqual(suite.results.map((r) => r.name).slice(0, 3), [
    'nn inline, batch 16',
    'nn lakeD, batch 16',
    'nn lakeD+inline, batch 16',
  ]);
  assert.match(readFileSync(join(dir, 'crossover.svg'), 'utf8'), /^<svg/);
});

test('benchContention: a competing client on lakeD moves batches inline, and they come back after', async () => {
  const r = await benchContention({ batchSize: 32, episodes: 2, quietMs: 60, loadMs: 150 });
  assert.deepEqual(
    r.phases.map((p) => p.name),
    ['quiet', 'loaded'],
  );
  for (const p of r.phases) assert.equal(p.decisions, p.inline + p.onLakeD);
  assert.ok(r.phases[0]!.onLakeD > 0, 'lakeD served while free');
  assert.ok(r.phases[1]!.inline > 0, 'the competing load moved batches inline');
  assert.equal(r.episodes.length, 2);
  assert.ok(r.reactionMs !== null && r.reactionMs >= 0);
  assert.ok(r.reactionMaxMs !== null && r.reactionMaxMs >= r.reactionMs);
  assert.ok(r.competitor.commands > 0);
  assert.ok(r.samples.length > 0);
  assert.equal(r.periodMs, 20);
  assert.equal(r.threshold, 0.7);
  assertPlainData(r);
  const suite = contentionSuiteOf(r);
  assert.equal(suite.suite, 'contention');
  const result = suite.results[0]!;
  assert.deepEqual(
    [result.unit, result.median, result.samples, result.state],
    ['ms', r.reactionMs, 2, 'completed'],
  );
});
