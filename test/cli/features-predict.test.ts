/**
 * `lake predict` reads what `lake features` writes: trace -> features -> predict end to end, the decisions
 * the same as for the 31 digits alone, and with --json each row's device and index from the file.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { registerFeatures } from '../../src/cli/features.js';
import { registerPredict } from '../../src/cli/predict.js';
import { registerTrain } from '../../src/cli/train.js';
import { LAKE_VECTOR_HEADER } from '../../src/linnos/vector-file.js';
import { runCommands } from '../helpers/cli.js';
import { fixturePath } from '../helpers/fixtures.js';

const header = fixturePath('linnos/w_sde.h');

let dir = '';
let trace = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lake-features-predict-'));
  // Two devices, reads with a tail on each (Heimdall's format has no device column: LinnOS output does).
  const lines: string[] = [];
  for (let i = 0; i < 600; i++) {
    const device = i % 2;
    const latency = i % 9 === 8 ? 2500 + i : 90 + ((i * 31) % 70);
    const ms = (i * 0.2).toFixed(3);
    // linnos-output: io_index,device_index,sched_ts_ms,latency_us,rw,size_B,offset_B,submit_ts_ms,ret
    lines.push(`${i},${device},${ms},${latency},1,4096,${(i % 50) * 4096},${ms},4096`);
  }
  trace = join(dir, 'two.trace');
  await writeFile(trace, `${lines.join('\n')}\n`);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function lake(...args: string[]): Promise<string> {
  return runCommands([registerFeatures, registerTrain, registerPredict], args);
}

test('predict takes the features file: one decision per vector, as for its 31 digits alone', async () => {
  const features = join(dir, 'vectors.csv');
  const summary = JSON.parse(await lake('features', '--trace', trace, '--out', features, '--json')) as {
    vectors: number;
  };
  const text = await readFile(features, 'utf8');
  assert.equal(text.split('\n')[0], LAKE_VECTOR_HEADER);
  const rows = text.trim().split('\n').slice(1);
  assert.equal(rows.length, summary.vectors);

  const decisions = (await lake('predict', '--model', header, '--input', features)).trim().split('\n');
  assert.equal(decisions.length, summary.vectors);

  // The same vectors as bare digit strings (columns d0..d30 of each row).
  const digitsOnly = join(dir, 'digits.txt');
  await writeFile(digitsOnly, `${rows.map((r) => r.split(',').slice(2, 33).join('')).join('\n')}\n`);
  const direct = (await lake('predict', '--model', header, '--input', digitsOnly)).trim().split('\n');
  assert.deepEqual(decisions, direct);
  assert.ok(new Set(decisions).size === 2, 'the header separates some reads: both decisions occur');
});

test('--json names each row by its line, device and index in the features file', async () => {
  const features = join(dir, 'vectors-json.csv');
  await lake('features', '--trace', trace, '--out', features);
  const rows = (await readFile(features, 'utf8')).trim().split('\n').slice(1);
  const out = (await lake('predict', '--model', header, '--input', features, '--json'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { line: number; device: number; index: number; decision: number });
  assert.equal(out.length, rows.length);
  for (const k of [0, 1, rows.length - 1]) {
    const [device, index] = rows[k]!.split(',');
    assert.equal(out[k]!.line, k + 2, 'line 1 is the header');
    assert.equal(out[k]!.device, Number(device));
    assert.equal(out[k]!.index, Number(index));
  }
});

test('trace -> features -> train -> predict: a model lake trained predicts on the file it was trained from', async () => {
  const features = join(dir, 'train.csv');
  const model = join(dir, 'model.json');
  await lake('features', '--trace', trace, '--out', features);
  const trained = JSON.parse(
    await lake('train', '--vectors', features, '--out', model, '--epochs', '2', '--json'),
  ) as { vectors: number };
  const decisions = (await lake('predict', '--model', model, '--input', features)).trim().split('\n');
  assert.equal(decisions.length, trained.vectors);
  assert.ok(decisions.every((d) => d === '0' || d === '1'));
});
