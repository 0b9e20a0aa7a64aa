import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runLake } from '../helpers/cli.js';

interface DemoJson {
  params: { seed: number; writeBursts: boolean };
  policies: Record<
    string,
    {
      read: { count: number; avgUs: number; p95Us: number; p999Us: number };
      extraIos: number;
      revokes: number;
      hedgeAfterUs?: number;
    }
  >;
  models: Record<
    string,
    {
      accuracy: number;
      majorityRate: number;
      falseSubmitRate: number;
      falseRevokeRate: number;
      rocAuc: number;
      thresholdUs: number;
      servingAgreement: number;
    }
  >;
  linnos: { falseSubmitRatePct: number; hedgePercentile: number };
  inference: { nsPerPrediction: number };
  warnings: string[];
}

test('lake demo --quick traces, trains a model per device and replays every policy', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'lake-demo-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const r = runLake(['demo', '--quick', '--json', '--out', out, '--seed', '3']);
  assert.equal(r.status, 0, r.stderr);
  // No progress output with --json: stderr carries warnings only (e.g. a model no better than the majority).
  const stderrLines = r.stderr.split('\n').filter((line) => line !== '');
  assert.deepEqual(
    stderrLines.filter((line) => !line.startsWith('lake: warning: ')),
    [],
    'no progress output with --json',
  );
  const json = JSON.parse(r.stdout) as DemoJson;
  assert.deepEqual(
    json.warnings.map((w) => `lake: warning: ${w}`),
    stderrLines,
    'every warning is in results.json',
  );
  for (const [device, m] of Object.entries(json.models)) {
    const warned = json.warnings.some((w) => w.startsWith(`${device} nn model`));
    // The JSON rounds to 0.001: compare only where rounding cannot decide.
    if (Math.abs(m.accuracy - m.majorityRate) > 0.001)
      assert.equal(warned, m.accuracy < m.majorityRate, `${device}: warned iff no better than the majority`);
  }
  assert.deepEqual(Object.keys(json.policies), [
    'baseline',
    'hedging95',
    'linnos',
    'linnos+hl',
    'greedy-oracle',
  ]);
  const counts = new Set(Object.values(json.policies).map((p) => p.read.count));
  assert.equal(counts.size, 1, 'every policy replays the same reads');
  assert.equal(json.policies['baseline']!.revokes, 0);
  assert.ok(json.policies['linnos']!.revokes > 0, 'linnos revokes some reads');
  assert.ok(json.policies['linnos+hl']!.extraIos > 0, 'linnos+hl hedges');
  assert.deepEqual(Object.keys(json.models), ['ssd0', 'ssd1', 'ssd2']);
  for (const [device, m] of Object.entries(json.models)) {
    // The models rank slow reads above fast ones, and the int16 kernel decides as the float model does.
    assert.ok(m.rocAuc > 0.6, `${device}: ROC-AUC ${m.rocAuc}`);
    assert.ok(m.servingAgreement > 0.99, `${device}: serving = float on ${m.servingAgreement}`);
  }
  // hedging95 hedges at the baseline's p95; linnos+hl at p(100 - f), f the pooled false-submit rate (%).
  const policies = json.policies;
  assert.equal(policies['hedging95']!.hedgeAfterUs, policies['baseline']!.read.p95Us);
  const f = json.linnos.falseSubmitRatePct;
  assert.ok(
    Math.abs(json.linnos.hedgePercentile - (f > 5 ? 100 - f : 95)) < 0.002,
    JSON.stringify(json.linnos),
  );
  const hedgedAt = policies['linnos+hl']!.hedgeAfterUs!;
  if (json.linnos.hedgePercentile < 95)
    assert.ok(hedgedAt < policies['hedging95']!.hedgeAfterUs!, 'hedges earlier');
  else assert.equal(hedgedAt, policies['hedging95']!.hedgeAfterUs);
  assert.ok(json.inference.nsPerPrediction > 0);
  assert.ok(json.policies['greedy-oracle']!.read.avgUs < json.policies['baseline']!.read.avgUs);
  const written = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as DemoJson;
  assert.deepEqual(written.models, json.models);
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /model quality per device/);
});
