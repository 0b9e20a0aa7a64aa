import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DeviceState } from '../../src/array/device-state.js';
import { mergeStreams, type ReplayResult, replay } from '../../src/array/engine.js';
import type { ArrayContext } from '../../src/array/policy.js';
import { createFlashDevice } from '../../src/flash/index.js';
import { createPredictor } from '../../src/kernels/create.js';
import { LakeLib } from '../../src/lake/lib/lake-lib.js';
import type { LakeLibOptions } from '../../src/lake/lib/types.js';
import { LinnosBatchRunner } from '../../src/lake/linnos/batch-runner.js';
import { type LakeBatchEvent, LakeLinnosPolicy } from '../../src/lake/linnos/policy.js';
import { calibrationTable } from '../../src/lake/policy/calibration.js';
import { INLINE } from '../../src/lake/policy/constants.js';
import { ContentionPolicy } from '../../src/lake/policy/contention.js';
import { FeatureRegistry } from '../../src/lake/registry/feature-registry.js';
import { LINNOS_FEATURES, linnosFeatures } from '../../src/linnos/features.js';
import type { DenseModel } from '../../src/models/dense.js';
import { synthesize } from '../../src/trace/synth.js';
import { randomDenseModel } from './helpers.js';

const DEVICES = 3;
const MODELS: DenseModel[] = Array.from({ length: DEVICES }, (_, d) =>
  randomDenseModel(40 + d, [31, 256, 2]),
);
const PROFILES = ['azure', 'bing-i', 'cosmos'] as const;
const arrivals = () => mergeStreams(PROFILES.map((p, i) => synthesize(p, { durationMs: 300, seed: 90 + i })));
const makeDevices = () =>
  PROFILES.map((_, i) => createFlashDevice({ profile: 'femu', name: `ssd${i}`, seed: 30 + i }));
/** lakeD wins from batches of 2: lone reads inline, batches on lakeD. */
const SIZES = [1, 2, 4, 8];
const TABLE = calibrationTable({
  model: 'nn',
  batchSizes: SIZES,
  inlineUs: SIZES.map((n) => 2 * n),
  backends: [{ backend: 'cpu-wasm', usPerBatch: SIZES.map((n) => 2.5 + n / 2) }],
});

interface Run {
  policy: LakeLinnosPolicy;
  result: ReplayResult;
  events: LakeBatchEvent[];
}

function run(lib: LakeLib, name: string, onBatch?: (event: LakeBatchEvent, index: number) => void): Run {
  const runners = MODELS.map((model) => LinnosBatchRunner.open(lib, model, { name: 'nn', capacity: 8 }));
  try {
    const events: LakeBatchEvent[] = [];
    const policy = new LakeLinnosPolicy({
      name,
      model: 'nn',
      runners,
      contention: new ContentionPolicy({ tables: [TABLE], backends: lib.listBackends() }),
      registry: new FeatureRegistry(),
      batching: { windowUs: 100, maxBatch: 8, hold: 'always' },
      onBatch: (event) => {
        events.push(event);
        onBatch?.(event, events.length);
      },
    });
    const result = replay(arrivals(), { devices: makeDevices(), policy });
    return { policy, result, events };
  } finally {
    for (const runner of runners) runner.close();
  }
}

/** Every held read was decided and released, and each decision is the model's on the registry's vector. */
function assertEveryDecision({ policy, result, events }: Run): void {
  const stats = policy.stats;
  assert.ok(stats.decisions > 500, `decisions ${stats.decisions}`);
  assert.equal(result.policyFaults, 0, 'no held read was left for the engine to submit');
  assert.equal(result.heldTries, stats.decisions, 'every held try got its decision');
  assert.equal(stats.offered, stats.decisions + stats.unpredicted);
  assert.equal(stats.captured, stats.decisions, 'every vector went through the registry');
  assert.equal(stats.registryDropped, 0);
  assert.equal(
    events.reduce((sum, e) => sum + e.decisions.length, 0),
    stats.decisions,
  );
  const references = MODELS.map((model) => createPredictor(model, { backend: 'wasm' }));
  try {
    for (const event of events) {
      const expected = new Uint8Array(event.decisions.length);
      references[event.device]!.predictBatch(event.digits, event.decisions.length, expected);
      assert.deepEqual(event.decisions, expected, `batch at ${event.nowUs} us on device ${event.device}`);
      assert.ok(
        event.digits.every((d) => d <= 9) && event.digits.length === event.decisions.length * LINNOS_FEATURES,
      );
    }
  } finally {
    for (const r of references) r.dispose();
  }
}

describe('LinnOS on LAKE makes every decision', () => {
  let lib: LakeLib;
  const open = async (options: LakeLibOptions): Promise<LakeLib> => {
    lib = await LakeLib.open({ arenaBytes: 8 << 20, ...options });
    return lib;
  };
  after(async () => {
    await lib?.close();
  });

  test('lone reads inline, batches on lakeD; each read waits for its batch and its inference', async () => {
    await open({ hangTimeoutMs: 10_000 });
    const r = run(lib, 'plain');
    assertEveryDecision(r);
    const stats = r.policy.stats;
    assert.ok((stats.decisionsBy[INLINE] ?? 0) > 0, 'lone reads ran inline');
    assert.ok((stats.decisionsBy['cpu-wasm'] ?? 0) > 0, 'batches ran on lakeD');
    for (const e of r.events) assert.equal(e.placement, e.decisions.length >= 2 ? 'cpu-wasm' : INLINE);
    assert.ok(stats.closes.window > 0);
    assert.ok(stats.waitedUs > stats.chargedUs, 'reads waited for their window as well as for inference');
    assert.equal(lib.stats().restarts, 0);
    await lib.close();
  });

  test('lakeD crashing mid-run: its work finishes inline, it restarts, no decision is lost', async () => {
    await open({ hangTimeoutMs: 10_000 });
    let crashed = false;
    const r = run(lib, 'crash', (event) => {
      if (!crashed && event.placement === 'cpu-wasm') {
        crashed = true;
        lib.debug.crash();
      }
    });
    assert.ok(crashed);
    assertEveryDecision(r);
    assert.equal(r.policy.stats.faults, 0, 'lakeLib recovered by itself; no batch failed');
    const stats = lib.stats();
    assert.equal(stats.failures[0]?.kind, 'crash');
    assert.ok(stats.restarts >= 1);
    await lib.close();
  });

  test('lakeD killed from outside mid-run (silent): noticed within the hang limit, no decision is lost', async () => {
    await open({ hangTimeoutMs: 300 });
    let killed = false;
    const r = run(lib, 'kill', (event, index) => {
      if (!killed && index > 50 && event.placement === 'cpu-wasm') {
        killed = true;
        lib.debug.terminateDaemon();
      }
    });
    assert.ok(killed);
    assertEveryDecision(r);
    assert.ok(lib.stats().failures.length >= 1, 'the death was noticed');
    await lib.close();
  });
});

describe('LinnOS on LAKE without timed decisions', () => {
  let lib: LakeLib;
  before(async () => {
    lib = await LakeLib.open({ arenaBytes: 4 << 20, hangTimeoutMs: 10_000 });
  });
  after(async () => {
    await lib.close();
  });

  test('an engine without hold/release gets each decision at once, inline, through the registry', () => {
    const runner = LinnosBatchRunner.open(lib, MODELS[0]!, { name: 'nn', capacity: 8 });
    try {
      const policy = new LakeLinnosPolicy({
        name: 'untimed',
        model: 'nn',
        runners: [runner],
        contention: new ContentionPolicy({ tables: [TABLE], backends: lib.listBackends() }),
        registry: new FeatureRegistry(),
        batching: { windowUs: 5, maxBatch: 8, hold: 'always' },
      });
      const state = new DeviceState(0);
      for (let i = 0; i < 4; i++) state.complete(true, 4096, state.submit(4096), 100 * (i + 1), i);
      const context: ArrayContext = { devices: [state], revokeCostUs: 5, peekReadUs: () => 0 };
      policy.start(context);
      const read = { index: 0, home: 0, device: 0, offset: 0, size: 4096, nowUs: 10, attempt: 0 };
      const revoke = policy.admit(read, context);
      const reference = createPredictor(MODELS[0]!, { backend: 'wasm' });
      const digits = new Uint8Array(LINNOS_FEATURES);
      linnosFeatures(state, 4096, digits);
      assert.equal(revoke, reference.predict(digits) === 1);
      reference.dispose();
      assert.deepEqual(
        [policy.stats.decisions, policy.stats.captured, policy.stats.decisionsBy[INLINE]],
        [1, 1, 1],
      );
    } finally {
      runner.close();
    }
  });
});
