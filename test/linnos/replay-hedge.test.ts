/**
 * `lake replay` builds linnos+hl from model files as the demo builds it from models in memory: the
 * false-submit rate is pooled over the slow reads each file was scored on (its trainingStats), not averaged
 * over files, and the hedge percentile follows from it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { linnosLayerSizes } from '../../src/models/dense.js';
import { saveModel } from '../../src/models/model-file.js';
import { synthesize } from '../../src/trace/synth.js';
import { writeTrace } from '../../src/trace/write.js';
import { runLake } from '../helpers/cli.js';
import { randomDenseModel } from '../lake/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lake-replay-hedge-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test(
  'replay pools the model files false-submit rates over their slow reads',
  { timeout: 60_000 },
  async () => {
    const trace = join(dir, 'azure.trace');
    await writeTrace(
      trace,
      synthesize('azure', { durationMs: 300, seed: 3, rateScale: 0.5, spanBytes: 8 * 1024 * 1024 }),
      'linnos-input',
    );
    // 30 of 300 slow reads missed, and 50 of 100: pooled 80 / 400 = 20% (an unweighted mean would give 30%).
    const files = [
      { slow: 300, falseSubmitRate: 0.1 },
      { slow: 100, falseSubmitRate: 0.5 },
    ].map((stats, i) => ({ path: join(dir, `m${i}.json`), stats }));
    for (const [i, f] of files.entries())
      await saveModel(f.path, randomDenseModel(i + 1, linnosLayerSizes('nn')), {
        kind: 'linnos',
        featureSchema: 'linnos-digits-31',
        createdAt: '2026-01-01T00:00:00.000Z',
        trainingStats: { count: 1000, ...f.stats },
      });
    const devices = [0, 1].map((i) => join(dir, `d${i}.img`));
    const r = runLake(
      [
        'replay',
        '--devices',
        devices.join(','),
        '--size',
        '8M',
        '--trace',
        trace,
        '--policies',
        'baseline,linnos+hl',
        '--model',
        files.map((f) => f.path).join(','),
        '--warm-up',
        '0',
        '--json',
      ],
      60_000,
    );
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(r.stdout) as {
      linnos: { falseSubmitRatePct: number; hedgePercentile: number };
      policies: Record<string, { hedgeAfterUs?: number; read: { p50Us: number; p95Us: number } }>;
    };
    assert.equal(json.linnos.falseSubmitRatePct, 20);
    assert.equal(json.linnos.hedgePercentile, 80);
    const hedgeAfterUs = json.policies['linnos+hl']!.hedgeAfterUs!;
    const baseline = json.policies['baseline']!.read;
    assert.ok(
      hedgeAfterUs >= baseline.p50Us && hedgeAfterUs <= baseline.p95Us,
      `hedges at ${hedgeAfterUs} us`,
    );
  },
);
