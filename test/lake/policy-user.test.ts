import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import type { BackendReport } from '../../src/lake/backends/types.js';
import { calibrationTable } from '../../src/lake/policy/calibration.js';
import { INLINE } from '../../src/lake/policy/constants.js';
import { ContentionPolicy } from '../../src/lake/policy/contention.js';
import type { PlacementFault, PlacementInput } from '../../src/lake/policy/placement.js';
import {
  type IsolatedPolicy,
  loadUserPolicy,
  type UserPolicyOptions,
} from '../../src/lake/policy/user-policy.js';

const dir = mkdtempSync(join(tmpdir(), 'lake-policy-'));
const opened: IsolatedPolicy[] = [];
after(async () => {
  await Promise.all(opened.map((p) => p.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** Loads a policy and closes it when the file's tests end. */
async function load(path: string, options?: UserPolicyOptions): Promise<IsolatedPolicy> {
  const policy = await loadUserPolicy(path, options);
  opened.push(policy);
  return policy;
}

/** Whether the policy's thread still exists (Linux: its /proc task); undefined where that cannot be told. */
function threadAlive(policy: IsolatedPolicy): boolean | undefined {
  return policy.thread === null ? undefined : existsSync(`/proc/self/task/${policy.thread}`);
}

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
    const log = join(dir, 'seen.jsonl');
    const path = moduleFile(
      'always-lakeD.mjs',
      `import { appendFileSync } from 'node:fs';
       export default function place(input) {
         appendFileSync(${JSON.stringify(log)}, JSON.stringify({ ...input, infinite: input.interArrivalUs === Infinity }) + '\\n');
         return input.batchSize >= 2 ? 'cpu-wasm' : 'inline';
       }`,
    );
    const user = await load(path);
    try {
      assert.equal(user.name, 'always-lakeD.mjs');
      const policy = new ContentionPolicy({ tables: [table], backends, user });
      const one = policy.choose('nn+1', 1, 123);
      const two = policy.choose('nn+1', 2, Number.POSITIVE_INFINITY);
      assert.deepEqual([one.placement, one.reason], [INLINE, 'user']);
      assert.deepEqual(
        [two.placement, two.reason],
        ['cpu-wasm', 'user'],
        'below the crossover, as the user asked',
      );
      assert.equal(two.costUs, 30);
      const seen = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as PlacementInput & { infinite: boolean });
      const [first, second] = seen;
      assert.equal(seen.length, 2, 'one call per batch');
      assert.equal(first!.batchSize, 1);
      assert.equal(first!.model, 'nn+1');
      assert.equal(first!.interArrivalUs, 123);
      assert.equal(second!.infinite, true, 'an unknown inter-arrival time arrives as Infinity');
      assert.equal(second!.utilisation, 0);
      assert.equal(second!.inlineUs, 20);
      assert.deepEqual(
        second!.backends.map((b) => [b.name, b.usable, b.crossover, b.batchUs ?? null]),
        [
          ['cpu-wasm', true, 4, 30],
          ['webgpu', false, null, null],
        ],
      );
      assert.equal(policy.guard?.faults, 0);
      assert.equal(policy.guard?.calls, 2);
      assert.equal(user.stats().calls, 2);
      assert.ok(user.stats().meanCallUs > 0);
    } finally {
      await user.close();
    }
  });

  test('a named export `policy` works too', async () => {
    const user = await load(moduleFile('named.mjs', `export function policy() { return 'inline'; }`));
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
    const user = await load(
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
      [`export default () => Promise.reject(new Error('later'));`, /returned a promise/],
      [`export default () => ({ placement: 'inline' });`, /returned an object for a batch/],
      [`export default () => undefined;`, /returned undefined for a batch/],
      [`export default () => Symbol('x');`, /returned a symbol for a batch/],
      [`export default () => 'x'.repeat(5000);`, /returned a string of 5000 characters for a batch/],
      [`export default () => { throw 'plain'; };`, /threw plain for a batch/],
    ];
    for (const [i, [source, message]] of cases.entries()) {
      const user = await load(moduleFile(`fault-${i}.mjs`, source));
      const policy = new ContentionPolicy({ tables: [table], backends, user });
      assert.equal(policy.choose('nn+1', 1, 1).reason, 'user-fallback');
      assert.match(policy.guard?.firstFault ?? '', message);
    }
  });

  test('a function that loops forever is stopped; the default decides every later batch', async () => {
    const user = await load(moduleFile('loop.mjs', 'export default () => { for (;;) {} };'), {
      budgetUs: 20_000,
    });
    const faults: PlacementFault[] = [];
    const policy = new ContentionPolicy({ tables: [table], backends, user, onFault: (f) => faults.push(f) });
    const four = policy.choose('nn+1', 4, 1);
    assert.deepEqual(
      [four.placement, four.reason],
      ['cpu-wasm', 'user-fallback'],
      'the default: crossover 4',
    );
    const one = policy.choose('nn+1', 1, 1);
    assert.deepEqual([one.placement, one.reason], [INLINE, 'user-fallback']);
    assert.match(
      user.stopped ?? '',
      /^policy loop\.mjs was stopped: a call (used more than its budget of 20000 us of CPU|ran past its budget of 20000 us).* on a batch of 4 \(nn\+1\); the default placement decides for the rest of the run$/,
    );
    assert.equal(faults.length, 1, 'told once');
    assert.equal(faults[0]!.message, user.stopped);
    assert.deepEqual([policy.guard?.calls, policy.guard?.faults, policy.guard?.afterStop], [0, 1, 1]);
    assert.equal(user.stats().stopped, user.stopped);
    await user.close();
    assert.notEqual(threadAlive(user), true, 'the looping thread is gone');
  });

  test('a call that overruns its budget but would end is stopped too', async () => {
    const user = await load(
      moduleFile(
        'slow.mjs',
        `export default () => { const end = performance.now() + 300; while (performance.now() < end) {} return 'inline'; };`,
      ),
      { budgetUs: 10_000 },
    );
    const policy = new ContentionPolicy({ tables: [table], backends, user });
    assert.equal(policy.choose('nn+1', 1, 1).reason, 'user-fallback');
    assert.match(user.stopped ?? '', /was stopped: a call/);
  });

  test('a slow call within its budget is answered', async () => {
    const user = await load(
      moduleFile(
        'slow-ok.mjs',
        `export default (input) => { const end = performance.now() + 2; while (performance.now() < end) {} return input.batchSize >= 2 ? 'cpu-wasm' : 'inline'; };`,
      ),
      { budgetUs: 2_000_000 },
    );
    const policy = new ContentionPolicy({ tables: [table], backends, user });
    for (let i = 0; i < 5; i++) {
      const choice = policy.choose('nn+1', 2, 1);
      assert.deepEqual([choice.placement, choice.reason], ['cpu-wasm', 'user']);
    }
    assert.equal(user.stopped, undefined);
    assert.equal(user.stats().calls, 5);
  });

  test('a module whose top level loops forever is stopped at load; the run goes on with the default', async () => {
    const user = await load(moduleFile('loop-at-load.mjs', 'for (;;) {}\nexport default () => "inline";'), {
      loadBudgetMs: 300,
    });
    assert.match(
      user.stopped ?? '',
      /^policy loop-at-load\.mjs was stopped: its module did not finish loading within its budget of 300 ms; the default placement decides every batch$/,
    );
    const faults: PlacementFault[] = [];
    const policy = new ContentionPolicy({ tables: [table], backends, user, onFault: (f) => faults.push(f) });
    assert.deepEqual(
      faults.map((f) => f.message),
      [user.stopped],
      'told at once, before any batch',
    );
    const four = policy.choose('nn+1', 4, 1);
    assert.deepEqual([four.placement, four.reason], ['cpu-wasm', 'user-fallback']);
    assert.equal(policy.guard?.afterStop, 1);
    await user.close();
    assert.notEqual(threadAlive(user), true);
  });

  test('close ends a healthy policy thread', async () => {
    const user = await load(moduleFile('healthy.mjs', `export default () => 'inline';`));
    assert.equal(
      new ContentionPolicy({ tables: [table], backends, user }).choose('nn+1', 1, 1).placement,
      INLINE,
    );
    if (user.thread !== null) assert.equal(threadAlive(user), true);
    await user.close();
    assert.notEqual(threadAlive(user), true);
    await user.close(); // twice is fine
  });

  test('budgets must be positive', async () => {
    const path = moduleFile('fine.mjs', `export default () => 'inline';`);
    await assert.rejects(loadUserPolicy(path, { budgetUs: 0 }), isUsage(/budget/));
    await assert.rejects(loadUserPolicy(path, { loadBudgetMs: Number.NaN }), isUsage(/load budget/));
  });
});
