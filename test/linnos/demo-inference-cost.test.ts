/**
 * `lake demo --inference-cost-us`: the charged figure goes into the report's params, a fixed cost makes the
 * run repeat exactly (timing fields aside), a charge changes what LinnOS's reads see, and bad values are
 * refused with a usage error; the same for `lake demo --drift`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runLake } from '../helpers/cli.js';

interface DemoJson {
  params: { inferenceCostUs: number };
  policies: Record<string, { read: { avgUs: number }; revokes: number }>;
  inference: { nsPerPrediction?: number };
}

const scratch = mkdtempSync(join(tmpdir(), 'lake-demo-cost-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The demo's JSON without its clock readings. */
function demo(...extra: string[]): DemoJson {
  const r = runLake([
    'demo',
    '--quick',
    '--seed',
    '3',
    '--test-duration',
    '2',
    '--json',
    '--out',
    join(scratch, 'out'),
    ...extra,
  ]);
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout) as DemoJson;
  delete json.inference.nsPerPrediction;
  return json;
}

test('a fixed cost is recorded in params and the same seed and cost give the same output', () => {
  const first = demo('--inference-cost-us', '0.7');
  assert.equal(first.params.inferenceCostUs, 0.7);
  assert.deepEqual(demo('--inference-cost-us', '0.7'), first);
  const free = demo('--inference-cost-us', '0');
  assert.equal(free.params.inferenceCostUs, 0);
  // The baseline charges nothing either way; linnos's reads waited 0.7 us per decision in the first run.
  assert.deepEqual(free.policies['baseline'], first.policies['baseline']);
  assert.notDeepEqual(free.policies['linnos'], first.policies['linnos']);
});

test('without the flag the cost is measured, positive and recorded; that figure reproduces the run', () => {
  const json = demo('--epochs', '1');
  assert.deepEqual(demo('--epochs', '1', '--inference-cost-us', String(json.params.inferenceCostUs)), json);
  assert.ok(json.params.inferenceCostUs > 0, `${json.params.inferenceCostUs} us`);
});

test('bad values are refused, with --drift too', () => {
  for (const value of ['-1', 'abc', '']) {
    const r = runLake(['demo', '--quick', '--inference-cost-us', value, '--out', join(scratch, 'bad')]);
    assert.equal(r.status, 64, `${value}: ${r.stderr}`);
    assert.match(r.stderr, /--inference-cost-us/);
    const drift = runLake(['demo', '--drift', '--inference-cost-us', value]);
    assert.equal(drift.status, 64, `--drift ${value}: ${drift.stderr}`);
    assert.match(drift.stderr, /--inference-cost-us/);
  }
});

interface DriftRunJson {
  read: { meanUs: number; p99Us: number };
  retrains: number;
}

interface DriftJson {
  params: { inferenceCostUs: number };
  baseline: { read: { meanUs: number } };
  static: DriftRunJson;
  online: DriftRunJson;
}

/** A short `lake demo --drift --json` (1 s traced, 3 s replayed, the change at 1 s). */
function drift(...extra: string[]): DriftJson {
  const args = ['--seed', '3', '--train-duration', '1', '--test-duration', '3', '--epochs', '1'];
  const r = runLake(['demo', '--drift', '--json', ...args, ...extra], 120_000);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as DriftJson;
}

test('--drift charges a fixed cost to both linnos runs, records it in params and repeats exactly', () => {
  const charged = drift('--inference-cost-us', '2');
  assert.equal(charged.params.inferenceCostUs, 2);
  assert.deepEqual(drift('--inference-cost-us', '2'), charged);
  const free = drift('--inference-cost-us', '0');
  assert.equal(free.params.inferenceCostUs, 0);
  assert.deepEqual(free.baseline, charged.baseline);
  // Every read linnos predicts waits 2 us before its try is submitted or revoked.
  for (const run of ['static', 'online'] as const)
    assert.notDeepEqual(free[run].read, charged[run].read, run);
});

test('--drift measures the cost when it is not fixed; that figure reproduces the run', () => {
  const json = drift();
  assert.ok(json.params.inferenceCostUs > 0, `${json.params.inferenceCostUs} us`);
  assert.deepEqual(drift('--inference-cost-us', String(json.params.inferenceCostUs)), json);
});
