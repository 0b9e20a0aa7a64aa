/**
 * `lake bench` through the CLI: a suite's JSON keeps its shape (the registry suite: the quickest that runs
 * lakeLib's threads end to end), and an unknown suite is refused naming the ones there are.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runLake } from '../helpers/cli.js';

test('lake bench registry --json prints the environment and one registry row', () => {
  const r = runLake(['bench', 'registry', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    environment: { samples: number; node: string };
    suites: {
      suite: string;
      results: {
        name: string;
        unit: string;
        state: string;
        samples: number;
        details: Record<string, number>;
      }[];
    }[];
  };
  assert.equal(out.environment.node, process.version);
  assert.deepEqual(
    out.suites.map((s) => s.suite),
    ['registry'],
  );
  const [row] = out.suites[0]!.results;
  assert.equal(out.suites[0]!.results.length, 1);
  assert.equal(row!.name, 'captures from 2 threads');
  assert.equal(row!.unit, 'captures/s');
  assert.equal(row!.state, 'completed');
  assert.equal(row!.details['lost'], 0);
  assert.equal(row!.details['torn'], 0);
  assert.ok(row!.details['captures']! > 0);
});

test('lake bench refuses an unknown suite, naming the suites', () => {
  const r = runLake(['bench', 'no-such-suite']);
  assert.notEqual(r.status, 0);
  assert.match(
    r.stderr,
    /^lake: LAKE_E_USAGE: unknown benchmark "no-such-suite" \(have simulator, memory, /m,
  );
  assert.match(r.stderr, /registry, crossover, contention, replay-overhead, prediction, user-policy, soak\)/);
  assert.equal(r.stdout, '');
});
