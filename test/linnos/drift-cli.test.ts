import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runLake } from '../helpers/cli.js';
import { fixturePath } from '../helpers/fixtures.js';

const isRate = (x: unknown): boolean => typeof x === 'number' && x >= 0 && x <= 1;

test('lake demo --drift --json: accuracy per phase, retrains, recovery and read latency, both ways', () => {
  const r = runLake(
    [
      'demo',
      '--drift',
      '--json',
      '--seed',
      '3',
      '--train-duration',
      '3',
      '--test-duration',
      '6',
      '--epochs',
      '2',
    ],
    300_000,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'no progress output with --json');
  const json = JSON.parse(r.stdout);
  assert.equal(json.command, 'demo --drift');
  assert.equal(json.params.seed, 3);
  assert.equal(json.params.trainSeconds, 3);
  assert.equal(json.params.changeAtS, 2);
  assert.equal(json.params.afterSeconds, 4);
  for (const key of ['meanUs', 'p99Us', 'p999Us']) assert.ok(json.baseline.read[key] > 0, key);
  for (const name of ['static', 'online']) {
    const run = json[name];
    assert.equal(run.retraining, name === 'online');
    assert.deepEqual(Object.keys(run.accuracy), ['beforeChange', 'rightAfter', 'settled']);
    for (const phase of Object.values(run.accuracy) as Record<string, unknown>[]) {
      assert.ok(Number.isInteger(phase.predictions) && (phase.predictions as number) > 0);
      for (const k of ['accuracy', 'falseSubmitRate', 'falseRevokeRate'])
        assert.ok(isRate(phase[k]), `${name} ${k}`);
    }
    assert.ok(run.recoveryS === null || (typeof run.recoveryS === 'number' && run.recoveryS > 0));
    assert.equal(run.retrains, run.retrainLog.length);
    assert.ok(Number.isInteger(run.audits) && run.audits > 0);
    for (const key of ['meanUs', 'p99Us', 'p999Us']) assert.ok(run.read[key] > 0, key);
    assert.ok(run.read.p99Us <= run.read.p999Us);
    assert.ok(
      run.windows.length > 0 &&
        run.windows.every((w: { accuracy: unknown }) => w.accuracy === null || isRate(w.accuracy)),
    );
  }
  assert.equal(json.static.retrains, 0);
  assert.ok(json.online.retrains >= 1);
  for (const x of json.online.retrainLog) {
    assert.ok(['accuracy', 'false-submit'].includes(x.reason));
    assert.ok(x.swappedAtS > x.triggeredAtS);
  }
});

test('lake demo --drift refuses the flags of the LAKE runtime runs', () => {
  const r = runLake(['demo', '--drift', '--models', 'nn']);
  assert.equal(r.status, 64);
  assert.match(r.stderr, /--models does not apply to --drift/);
});

test('lake replay --retrain is refused without a linnos policy, or with models that record no label threshold', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lake-retrain-'));
  try {
    const devices = ['a', 'b', 'c'].map((n) => join(dir, `${n}.img`));
    const common = [
      'replay',
      '--devices',
      devices.join(','),
      '--trace',
      fixturePath('linnos/traceB.trace.gz'),
      '--size',
      '16M',
    ];
    const noLinnos = runLake([...common, '--policies', 'baseline', '--retrain']);
    assert.equal(noLinnos.status, 64, noLinnos.stderr);
    assert.match(noLinnos.stderr, /--retrain retrains the linnos policies/);
    // A LinnOS header carries weights only: online retraining has no threshold to judge its reads by.
    const header = fixturePath('linnos/w_sde.h');
    const r = runLake([...common, '--policies', 'linnos', '--model', header, '--retrain']);
    assert.equal(r.status, 64, r.stderr);
    assert.match(
      r.stderr,
      /--retrain needs lake model files that record their label threshold.*w_sde\.h does not/,
    );
    for (const d of devices) assert.ok(!existsSync(d), `${d} was created before the refusal`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
