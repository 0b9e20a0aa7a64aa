import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { lakeEval, WINDOWS, windowText } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'lake-eval-'));
after(() => rmSync(dir, { recursive: true, force: true }));
// The first 12,000 I/Os of a window: enough to train and test, small enough for a unit test.
const small = join(dir, 'small.trace');
writeFileSync(small, `${windowText(WINDOWS.rw7525).split('\n').slice(0, 12_000).join('\n')}\n`);

describe('lake eval', () => {
  test('--as-published says, in text and JSON, that it leaks future information', async () => {
    const base = [
      '--trace',
      small,
      '--pipeline',
      'heimdall',
      '--as-published',
      '--epochs',
      '2',
      '--joint',
      '3',
    ];
    const text = await lakeEval([...base, '--no-timing']);
    assert.match(text, /WARNING heimdall \(as published\): LEAKS FUTURE INFORMATION/);
    assert.match(text, /split: random 80\/20/);
    const json = JSON.parse(await lakeEval([...base, '--no-timing', '--json'])) as {
      warnings: string[];
      pipelines: { leaksFuture: boolean; leakNote: string; split: string; joint: { p: number }[] }[];
    };
    assert.equal(json.pipelines[0]!.leaksFuture, true);
    assert.match(json.pipelines[0]!.leakNote, /LEAKS FUTURE INFORMATION/);
    assert.equal(json.warnings.length, 1);
    assert.equal(json.pipelines[0]!.joint[0]!.p, 3);
  });

  test('the lake pipeline reports every figure the issue asks for, serving time and drift included', async () => {
    const json = JSON.parse(await lakeEval(['--trace', small, '--pipeline', 'lake', '--json'])) as {
      warnings: string[];
      pipelines: {
        leaksFuture: boolean;
        split: string;
        labels: { thresholdUs: number; testSlowFraction: number };
        metrics: Record<string, number> & {
          confusion: {
            truePositive: number;
            falsePositive: number;
            trueNegative: number;
            falseNegative: number;
          };
        };
        servingNs: number;
        featureNsPerRead: number;
      }[];
      drift: { summary: string };
    };
    const lake = json.pipelines[0]!;
    assert.deepEqual(json.warnings, []);
    assert.equal(lake.leaksFuture, false);
    assert.equal(lake.split, 'time');
    // Every rate follows from the confusion matrix, recomputed here.
    const m = lake.metrics;
    const { truePositive: tp, falsePositive: fp, trueNegative: tn, falseNegative: fn } = m.confusion;
    assert.equal(m['count'], tp + fp + tn + fn);
    assert.equal(m['slow'], tp + fn);
    const close = (key: string, expected: number): void =>
      assert.ok(Math.abs(m[key]! - expected) < 1e-12, `${key} ${m[key]} vs ${expected}`);
    close('accuracy', (tp + tn) / (tp + fp + tn + fn));
    close('falseSubmitRate', fn / (tp + fn));
    close('falseRevokeRate', fp / (fp + tn));
    const precision = tp / (tp + fp);
    const recall = tp / (tp + fn);
    close('f1', (2 * precision * recall) / (precision + recall));
    close('precision', precision);
    close('recall', recall);
    assert.equal(lake.labels.testSlowFraction, (tp + fn) / (tp + fp + tn + fn));
    // The scores rank slow reads above fast ones better than chance, and beat the slow share in precision.
    assert.ok(m['rocAuc']! > 0.5 && m['rocAuc']! <= 1, `ROC-AUC ${m['rocAuc']}`);
    assert.ok(m['prAuc']! > lake.labels.testSlowFraction && m['prAuc']! <= 1, `PR-AUC ${m['prAuc']}`);
    assert.ok(lake.labels.thresholdUs > 0 && lake.labels.testSlowFraction > 0);
    assert.ok(lake.servingNs > 0);
    // A difference of two timed walks, clamped at 0 (src/realtrace/serving-time.ts): only its presence and
    // finiteness (NaN when no read was timed) say something here; its size is a benchmark's business.
    assert.ok(Number.isFinite(lake.featureNsPerRead), String(lake.featureNsPerRead));
    assert.match(json.drift.summary, /retrain/);
  });

  test('--refit-every retrains lake while it serves and says so; 0 keeps one model', async () => {
    const args = ['--trace', small, '--pipeline', 'lake', '--no-timing', '--no-drift'];
    const text = await lakeEval([...args, '--refit-every', '500']);
    assert.match(
      text,
      /retraining while serving +\| +[1-9]\d* retrains live \(every 500 known labels, 1000 ms/,
    );
    const json = JSON.parse(await lakeEval([...args, '--refit-every', '0', '--json'])) as {
      pipelines: { refit?: unknown; decisionThreshold: number }[];
    };
    assert.equal(json.pipelines[0]!.refit, undefined);
    await assert.rejects(lakeEval([...args, '--refit-every', '-1']), /--refit-every/);
  });

  test('bad input is refused with a usage or trace error', async () => {
    await assert.rejects(lakeEval(['--trace', small, '--pipeline', 'nope']), (e: unknown) => {
      return e instanceof LakeError && e.code === 'LAKE_E_USAGE' && /--pipeline/.test(e.message);
    });
    await assert.rejects(
      lakeEval(['--trace', small, '--pipeline', 'lake', '--as-published']),
      /heimdall only/,
    );
    const noLatency = join(dir, 'raw.trace');
    writeFileSync(noLatency, '0.000 0 4096 4096 1\n0.100 0 8192 4096 0\n');
    await assert.rejects(lakeEval(['--trace', noLatency, '--format', 'linnos-input']), (e: unknown) => {
      return (
        e instanceof LakeError && e.code === 'LAKE_E_TRACE_FORMAT' && /no measured latency/.test(e.message)
      );
    });
    const bad = join(dir, 'bad.trace');
    writeFileSync(bad, '0.000,134,1,4096,42242048,0.100,4096\n0.000,1x4,1,4096,0,0.2,4096\n');
    await assert.rejects(lakeEval(['--trace', bad, '--format', 'heimdall']), /bad\.trace:2: field/);
  });
});
