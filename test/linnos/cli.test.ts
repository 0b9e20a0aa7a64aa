/**
 * `lake features`, `lake label` and `lake train` through commander, as the CLI entry wires them: output on stdout, usage
 * errors as LakeError('LAKE_E_USAGE').
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { registerFeatures } from '../../src/cli/features.js';
import { type DeviceLabel, registerLabel } from '../../src/cli/label.js';
import { registerTrain } from '../../src/cli/train.js';
import { LakeError } from '../../src/errors.js';
import { extractLinnosFromTrace } from '../../src/linnos/extract.js';
import { readLinnosVectors } from '../../src/linnos/vector-file.js';
import { loadModel } from '../../src/models/model-file.js';
import { readTraceAll } from '../../src/trace/read.js';
import { runCommands } from '../helpers/cli.js';
import { fixturePath, readFixtureText } from '../helpers/fixtures.js';

const tencent = fixturePath('traces/flashnet-trovi-tencent-nvme/tencent.cut.per_50k.rw_60_40.490.trace');
const temp1 = fixturePath('linnos/temp1');

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lake-learn-cli-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function lake(...args: string[]): Promise<string> {
  return runCommands([registerFeatures, registerLabel, registerTrain], args);
}

const isUsage = (e: unknown): boolean => e instanceof LakeError && e.code === 'LAKE_E_USAGE';

describe('lake features', () => {
  test('writes the vectors of every read of a Heimdall-format trace, as the library extracts them', async () => {
    const out = join(scratch, 'tencent.csv');
    const summary = JSON.parse(await lake('features', '--trace', tencent, '--out', out, '--json')) as {
      vectors: number;
      devices: { device: number; vectors: number }[];
    };
    // 30012 reads; the 14 submitted before 4 reads had completed get no vector
    assert.equal(summary.vectors, 29998);
    assert.deepEqual(summary.devices, [{ device: 0, vectors: 29998 }]);
    const file = readLinnosVectors(out);
    const [want] = extractLinnosFromTrace((await readTraceAll(tencent)).records);
    assert.equal(file.dataset.count, want!.count);
    assert.deepEqual(file.dataset.vectors, want!.vectors);
    assert.deepEqual(file.dataset.latencyUs, want!.latencyUs);
    assert.deepEqual(file.dataset.index, want!.index);
  });

  test('prints a table without --json', async () => {
    const text = await lake('features', '--trace', tencent, '--out', join(scratch, 't.csv'));
    assert.match(text, /^\| 0 +\| +29998 \|$/m);
  });

  test('needs --trace and --out', async () => {
    await assert.rejects(lake('features', '--out', join(scratch, 'x.csv')), isUsage);
    await assert.rejects(lake('features', '--trace', tencent), isUsage);
    await assert.rejects(lake('features', '--trace', tencent, '--out', 'x', '--format', 'nope'), isUsage);
  });
});

describe('lake label', () => {
  test('tangent method alone on a trace: 2440 us at p80.87 (numpy check value)', async () => {
    const result = JSON.parse(await lake('label', '--trace', tencent, '--no-refine', '--json')) as {
      devices: DeviceLabel[];
    };
    assert.equal(result.devices.length, 1);
    assert.equal(result.devices[0]!.reads, 30012);
    assert.equal(result.devices[0]!.threshold.method, 'tangent');
    assert.equal(result.devices[0]!.threshold.thresholdUs, 2440);
  });

  test('refined by default, within +/-10% of the tangent percentile', async () => {
    const result = JSON.parse(await lake('label', '--trace', tencent, '--json')) as {
      devices: DeviceLabel[];
    };
    const d = result.devices[0]!;
    assert.equal(d.threshold.method, 'refined');
    const start = d.tangent!.percentile;
    assert.ok(Math.abs(d.threshold.percentile - start) <= 0.1 * start + 1e-9);
    assert.ok(d.refined!.meanUs <= d.refined!.startMeanUs);
  });

  test('a fixed percentile of a vector file', async () => {
    const text = await lake('label', '--vectors', temp1, '--percentile', '85');
    assert.match(text, /^\| 0 +\| +7804 \| +fixed \| +40,906 \| +85\.00 \|/m);
  });

  test('usage errors', async () => {
    await assert.rejects(lake('label'), isUsage);
    await assert.rejects(lake('label', '--trace', tencent, '--vectors', temp1), isUsage);
    await assert.rejects(lake('label', '--vectors', temp1, '--percentile', '120'), isUsage);
    await assert.rejects(lake('label', '--vectors', temp1, '--replicas', '0'), isUsage);
  });
});

describe('lake train', () => {
  interface TrainJson {
    model: string;
    device: number | null;
    vectors: number;
    threshold: { thresholdUs: number; method: string };
    training: { layerSizes: number[]; trainCount: number; validationCount: number; epochs: number };
    qualityOn: string;
    quality: { accuracy: number; majorityRate: number; rocAuc: number; count: number };
  }

  test('trains on temp1 and writes a lake model file with its label threshold and figures', async () => {
    const out = join(scratch, 'temp1-model.json');
    const result = JSON.parse(
      await lake('train', '--vectors', temp1, '--epochs', '6', '--out', out, '--json'),
    ) as TrainJson;
    assert.equal(result.vectors, 7804);
    assert.equal(result.threshold.method, 'refined');
    assert.deepEqual(result.training.layerSizes, [31, 256, 2]);
    assert.equal(result.training.trainCount + result.training.validationCount, 7804);
    assert.equal(result.qualityOn, 'validation');
    assert.ok(result.quality.accuracy > result.quality.majorityRate, JSON.stringify(result.quality));
    assert.ok(result.quality.rocAuc > 0.8, String(result.quality.rocAuc));
    const loaded = await loadModel(out);
    assert.equal(loaded.meta.shape, '31-256-2');
    assert.equal(loaded.meta.kind, 'linnos');
    assert.equal(loaded.meta.featureSchema, 'linnos-digits-31');
    assert.equal(loaded.meta.labelThresholdUs, result.threshold.thresholdUs);
  });

  test('prints the quality table without --json', async () => {
    const text = await lake(
      'train',
      '--vectors',
      temp1,
      '--epochs',
      '1',
      '--percentile',
      '85',
      '--out',
      join(scratch, 'm.json'),
    );
    assert.match(text, /^\| accuracy \| majority rate \| false submit \| false revoke \|/m);
    assert.match(text, /slow above 40,906 us \(p85\.00, fixed\)/);
  });

  test('one device of a multi-device trace, or all pooled in time order', async () => {
    // 900 I/Os of the Tencent trace spread over 3 devices, as LinnOS replayer output (9 columns)
    const lines = readFixtureText('traces/flashnet-trovi-tencent-nvme/tencent.cut.per_50k.rw_60_40.490.trace')
      .split('\n')
      .slice(0, 900);
    const trace = lines.map((line, k) => {
      const f = line.split(',');
      return [k, k % 3, f[0], f[1], f[2], f[3], f[4], f[5], 1].join(',');
    });
    const path = join(scratch, 'three.trace');
    await writeFile(path, `${trace.join('\n')}\n`);
    const one = JSON.parse(
      await lake(
        'train',
        '--trace',
        path,
        '--device',
        '1',
        '--epochs',
        '1',
        '--threshold',
        '2000',
        '--out',
        join(scratch, 'd1.json'),
        '--json',
      ),
    ) as TrainJson;
    const all = JSON.parse(
      await lake(
        'train',
        '--trace',
        path,
        '--epochs',
        '1',
        '--threshold',
        '2000',
        '--out',
        join(scratch, 'all.json'),
        '--json',
      ),
    ) as TrainJson;
    assert.equal(one.device, 1);
    assert.equal(all.device, null);
    assert.ok(one.vectors > 100 && all.vectors > 2.5 * one.vectors, `${one.vectors} ${all.vectors}`);
    assert.equal((await loadModel(join(scratch, 'd1.json'))).meta.device, '1');
    await assert.rejects(
      lake('train', '--trace', path, '--device', '7', '--out', join(scratch, 'x.json')),
      (e: unknown) => isUsage(e) && /--device 7/.test((e as Error).message),
    );
  });

  test('weighs slow reads 5x unless --slow-weight says otherwise', async () => {
    const train = async (name: string, ...extra: string[]) => {
      const out = join(scratch, name);
      await lake(
        'train',
        '--vectors',
        temp1,
        '--epochs',
        '1',
        '--backend',
        'js',
        '--out',
        out,
        '--json',
        ...extra,
      );
      return loadModel(out);
    };
    const byDefault = await train('default-weight.json');
    const five = await train('weight-5.json', '--slow-weight', '5');
    const one = await train('weight-1.json', '--slow-weight', '1');
    assert.deepEqual(byDefault.model, five.model);
    assert.notDeepEqual(byDefault.model, one.model);
    assert.equal(byDefault.meta.trainingStats?.slowWeight, five.meta.trainingStats?.slowWeight);
    assert.notEqual(byDefault.meta.trainingStats?.slowWeight, one.meta.trainingStats?.slowWeight);
  });

  test('usage errors', async () => {
    const out = join(scratch, 'bad.json');
    await assert.rejects(lake('train', '--vectors', temp1), isUsage);
    await assert.rejects(lake('train', '--out', out), isUsage);
    await assert.rejects(lake('train', '--vectors', temp1, '--out', out, '--shape', 'nn+3'), isUsage);
    await assert.rejects(lake('train', '--vectors', temp1, '--out', out, '--loss', 'mse'), isUsage);
    await assert.rejects(lake('train', '--vectors', temp1, '--out', out, '--epochs', '0'), isUsage);
    await assert.rejects(
      lake('train', '--vectors', temp1, '--out', out, '--threshold', '5', '--percentile', '9'),
      isUsage,
    );
    await assert.rejects(lake('train', '--vectors', temp1, '--out', out, '--validation', '1'), isUsage);
  });
});
