import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { registerPredict } from '../../src/cli/predict.js';
import { LakeError, TraceParseError } from '../../src/errors.js';
import { parseTestVectors } from '../../src/models/linnos-header.js';
import { saveModel } from '../../src/models/model-file.js';
import { runCommand } from '../helpers/cli.js';
import { fixturePath } from '../helpers/fixtures.js';
import { randomModel } from '../kernels/helpers.js';

const fixtures = fixturePath('linnos');
const W_SDE_DECISIONS = '01100010001000000000100001';

let dir = '';
let vectors = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lake-predict-'));
  // The 26 ml_test.h rows, written in the three accepted forms.
  const parsed = parseTestVectors(await readFile(join(fixtures, 'ml_test.h'), 'utf8'), 'ml_test.h');
  const rows = Array.from({ length: parsed.count }, (_, v) => [
    ...parsed.vectors.subarray(v * 31, (v + 1) * 31),
  ]);
  const lines = rows.map((row, v) =>
    v % 3 === 0 ? row.join('') : v % 3 === 1 ? row.join(',') : row.join('  '),
  );
  vectors = join(dir, 'vectors.txt');
  await writeFile(
    vectors,
    `# ml_test.h\n${lines.slice(0, 10).join('\n')}\n\n${lines.slice(10).join('\n')}\n`,
  );
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function lake(...args: string[]): Promise<string> {
  return runCommand(registerPredict, 'predict', args);
}

test('a LinnOS header predicts with the exact integers by default: the README decisions', async () => {
  const out = await lake('--model', join(fixtures, 'w_sde.h'), '--input', vectors);
  assert.equal(out, `${[...W_SDE_DECISIONS].join('\n')}\n`);
  for (const backend of ['js', 'wasm']) {
    assert.equal(
      await lake('--model', join(fixtures, 'w_sde.h'), '--input', vectors, '--backend', backend),
      out,
    );
  }
});

test('--json prints the decision and the raw outputs per line', async () => {
  const out = await lake('--model', join(fixtures, 'w_sde.h'), '--input', vectors, '--json');
  const rows = out
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(rows.length, 26);
  assert.deepEqual(rows[0], {
    line: 2,
    decision: 0,
    outputs: [-384, -3083901],
    scale: 1e6,
    backend: 'exact',
  });
  assert.equal(rows.map((r) => r['decision']).join(''), W_SDE_DECISIONS);
  assert.equal(rows[10]!['line'], 13);
});

test('a lake model file predicts too (auto backend)', async () => {
  const path = join(dir, 'model.json');
  await saveModel(path, randomModel(3, [31, 64, 2]), {
    kind: 'linnos',
    featureSchema: 'linnos-digits-31',
    createdAt: '2026-01-01T00:00:00Z',
  });
  const auto = await lake('--model', path, '--input', vectors);
  assert.equal(auto.trim().split('\n').length, 26);
  assert.equal(await lake('--model', path, '--input', vectors, '--backend', 'js'), auto);
});

test('bad input names file, line and field', async () => {
  const bad = join(dir, 'bad.txt');
  await writeFile(bad, `${'1'.repeat(31)}\n${'2,'.repeat(30)}x\n`);
  await assert.rejects(lake('--model', join(fixtures, 'w_sde.h'), '--input', bad), (error: unknown) => {
    return (
      error instanceof TraceParseError && error.message === `${bad}:2: field digit 30: "x" is not a digit 0-9`
    );
  });
  await writeFile(bad, `${'1'.repeat(30)}\n`);
  await assert.rejects(
    lake('--model', join(fixtures, 'w_sde.h'), '--input', bad),
    /bad\.txt:1: field vector: expected 31 digits/,
  );
  await writeFile(bad, `1 2 3 12 ${'0 '.repeat(27)}\n`);
  await assert.rejects(
    lake('--model', join(fixtures, 'w_sde.h'), '--input', bad),
    /bad\.txt:1: field digit 3: "12" is not a digit/,
  );
});

test('usage errors', async () => {
  const usage = (error: unknown): boolean => error instanceof LakeError && error.code === 'LAKE_E_USAGE';
  await assert.rejects(lake('--input', vectors), usage);
  await assert.rejects(lake('--model', join(fixtures, 'w_sde.h')), usage);
  await assert.rejects(
    lake('--model', join(fixtures, 'w_sde.h'), '--input', vectors, '--backend', 'gpu'),
    /--backend must be one of/,
  );
  await assert.rejects(
    lake('--model', join(fixtures, 'README.md'), '--input', vectors),
    /unknown model file type "\.md"/,
  );
  await assert.rejects(
    lake('--model', join(fixtures, 'w_sde.h'), '--input', join(dir, 'none.txt')),
    /none\.txt: cannot read/,
  );
});
