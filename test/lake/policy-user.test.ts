import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import type { BackendReport } from '../../src/lake/backends/types.js';
import { calibrationTable } from '../../src/lake/policy/calibration.js';
import { INLINE } from '../../src/lake/policy/constants.js';
import { ContentionPolicy } from '../../src/lake/policy/contention.js';
import type { PlacementFault, PlacementInput } from '../../src/lake/policy/placement.js';
import { loadUserPolicy } from '../../src/lake/policy/user-policy.js';

const dir = mkdtempSync(join(tmpdir(), 'lake-policy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function moduleFile(name: string, source: string): string {
  const path = join(dir, name);
  writeFileSync(path, source);
  return path;
}

const backends: BackendReport[] = [
  { name: 'cpu-wasm', kind: 'cpu', available: true, capabilities: [], description: 'test' },
  {
    name: 'webgpu',
    kind: 'gpu',
    available: false,
    reason: 'not available here: test',
    capabilities: [],
    description: 'test',
  },
];
const table = calibrationTable({
  model: 'nn+1',
  batchSizes: [1, 2, 4],
  inlineUs: [10, 20, 40],
  backends: [{ backend: 'cpu-wasm', usPerBatch: [30, 30, 30] }], // crossover 4
});

function isUsage(pattern: RegExp): (error: unknown) => boolean {
  return (error) =>
    error instanceof LakeError && error.code === 'LAKE_E_USAGE' && pattern.test(error.message);
}

describe('user placement policies (--policy ./p.js)', () => {
  test('a module exporting a function decides every batch; it sees the documented input', async () => {
    const path = moduleFile(
      'always-lakeD.mjs',
      `export const seen = [];
       export default function place(input) { seen.push(input); return input.batchSize >= 2 ? 'cpu-wasm' : 'inline'; }`,
    );
    const user = await loadUserPolicy(path);
    assert.equal(user.name, 'always-lakeD.mjs');
    const policy = new ContentionPolicy({ tables: [table], backends, user });
    const one = policy.choose('nn+1', 1, 123);
    const two = policy.choose('nn+1', 2, 123);
    assert.deepEqual([one.placement, one.reason], [INLINE, 'user']);
    assert.deepEqual(
      [two.placement, two.reason],
      ['cpu-wasm', 'user'],
      'below the crossover, as the user asked',
    );
    assert.equal(two.costUs, 30);
    const { seen } = (await import(path)) as { seen: PlacementInput[] };
    const input = seen[1]!;
    assert.equal(input.batchSize, 2);
    assert.equal(input.model, 'nn+1');
    assert.equal(input.interArrivalUs, 123);
    assert.equal(input.utilisation, 0);
    assert.deepEqual(
      input.backends.map((b) => [b.name, b.usable, b.crossover]),
      [
        ['cpu-wasm', true, 4],
        ['webgpu', false, null],
      ],
    );
    assert.equal(policy.guard?.faults, 0);
  });

  test('a named export `policy` works too', async () => {
    const user = await loadUserPolicy(
      moduleFile('named.mjs', `export function policy() { return 'inline'; }`),
    );
    const policy = new ContentionPolicy({ tables: [table], backends, user });
    assert.equal(policy.choose('nn+1', 4, 1).placement, INLINE);
  });

  test('a missing file, a module that does not load, or one without a function is a usage error', async () => {
    await assert.rejects(loadUserPolicy(join(dir, 'nope.mjs')), isUsage(/nope\.mjs: no such file/));
    await assert.rejects(
      loadUserPolicy(moduleFile('syntax.mjs', 'export default function (input { return 1 }')),
      isUsage(/syntax\.mjs: the module does not load: /),
    );
    await assert.rejects(
      loadUserPolicy(moduleFile('throws.mjs', `throw new Error('boom at load');`)),
      isUsage(/the module does not load: boom at load/),
    );
    await assert.rejects(
      loadUserPolicy(moduleFile('no-function.mjs', `export const threshold = 4;`)),
      isUsage(/must export a function of \{ batchSize, .* \(it exports threshold\)/),
    );
  });

  test('a bad return value falls back to the default, with one clear message', async () => {
    const user = await loadUserPolicy(
      moduleFile(
        'bad-return.mjs',
        `export default function (input) { return input.batchSize === 1 ? 42 : input.batchSize === 2 ? 'webgpu' : 'tpu'; }`,
      ),
    );
    const faults: PlacementFault[] = [];
    const policy = new ContentionPolicy({ tables: [table], backends, user, onFault: (f) => faults.push(f) });
    const one = policy.choose('nn+1', 1, 1);
    assert.deepEqual([one.placement, one.reason], [INLINE, 'user-fallback']);
    const four = policy.choose('nn+1', 4, 1);
    assert.deepEqual(
      [four.placement, four.reason],
      ['cpu-wasm', 'user-fallback'],
      'the default: crossover 4',
    );
    policy.choose('nn+1', 2, 1);
    assert.equal(policy.guard?.faults, 3);
    assert.equal(faults.length, 1, 'told once');
    assert.match(
      faults[0]!.message,
      /^policy bad-return\.mjs returned 42 for a batch of 1 \(nn\+1\); expected 'inline' or 'cpu-wasm'; the default placement decides instead$/,
    );
    assert.equal(policy.guard?.firstFault, faults[0]!.message);
  });

  test('an unusable backend, a throw or a promise is a fault too, named in the message', async () => {
    const cases: [string, RegExp][] = [
      [
        `export default () => 'webgpu';`,
        /returned 'webgpu' \(webgpu is not usable: not available here: test\) for a batch of 1/,
      ],
      [`export default () => { throw new Error('nope'); };`, /threw nope/],
      [`export default async () => 'inline';`, /returned a promise \(placement must be synchronous\)/],
    ];
    for (const [i, [source, message]] of cases.entries()) {
      const user = await loadUserPolicy(moduleFile(`fault-${i}.mjs`, source));
      const policy = new ContentionPolicy({ tables: [table], backends, user });
      assert.equal(policy.choose('nn+1', 1, 1).reason, 'user-fallback');
      assert.match(policy.guard?.firstFault ?? '', message);
    }
  });
});
