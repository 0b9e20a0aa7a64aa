import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { mergeStreams } from '../../../src/array/engine.js';
import { createFlashDevice } from '../../../src/flash/index.js';
import { createPredictor } from '../../../src/kernels/create.js';
import type { BackendReport } from '../../../src/lake/backends/types.js';
import { LakeLib } from '../../../src/lake/lib/lake-lib.js';
import { LinnosBatchRunner } from '../../../src/lake/linnos/batch-runner.js';
import type { LakeBatchEvent } from '../../../src/lake/linnos/policy.js';
import { lakeResultJson } from '../../../src/lake/linnos/result-json.js';
import { runLakeLinnos } from '../../../src/lake/linnos/run.js';
import { batchCostUs, calibrationTable } from '../../../src/lake/policy/calibration.js';
import { INLINE } from '../../../src/lake/policy/constants.js';
import { ContentionPolicy, type DeviceFaultSource } from '../../../src/lake/policy/contention.js';
import { LINNOS_FEATURES } from '../../../src/linnos/features.js';
import { linnosLayerSizes } from '../../../src/models/dense.js';
import { Random } from '../../../src/random.js';
import { synthesize } from '../../../src/trace/synth.js';
import { randomModel, uniformDigits } from '../../kernels/helpers.js';
import { fakeCudaCatalog } from '../fixtures/fake-cuda-catalog.js';
import { randomDenseModel } from '../helpers.js';

const REPORTS: BackendReport[] = [
  { name: 'cpu-wasm', kind: 'cpu', available: true, capabilities: [], description: 'test' },
  { name: 'cuda', kind: 'gpu', available: true, capabilities: [], description: 'test' },
];
const SIZES = [1, 2, 4, 8];
/** cuda wins from batch 2; cpu-wasm only from batch 8, and costs more than cuda there. */
const TABLE = calibrationTable({
  model: 'nn',
  batchSizes: SIZES,
  inlineUs: SIZES.map((n) => 2 * n),
  backends: [
    { backend: 'cpu-wasm', usPerBatch: [9, 9, 9, 15] },
    { backend: 'cuda', mode: 'offload', usPerBatch: [3, 3, 3.5, 4] },
  ],
});
const LAUNCH_FAILED = /launch linnos_predict: .*CUDA_ERROR_LAUNCH_FAILED/;

/** A fault source as LakeLib is one: a list that grows, and an epoch that moves with it. */
class Faults implements DeviceFaultSource {
  faultEpoch = 0;
  readonly list: { backend: string; reason: string }[] = [];
  add(backend: string, reason: string): void {
    this.list.push({ backend, reason });
    this.faultEpoch++;
  }
  deviceFaults(): readonly { backend: string; reason: string }[] {
    return this.list;
  }
}

describe('ContentionPolicy: a backend whose device faulted', () => {
  test('is not usable, with the fault as reason: the default skips it, worthBatching ignores it, costs are the CPU path', () => {
    const faults = new Faults();
    const policy = new ContentionPolicy({ tables: [TABLE], backends: REPORTS, deviceFaults: faults });
    assert.equal(policy.choose('nn', 4, 1).placement, 'cuda');
    assert.equal(policy.worthBatching('nn'), 2);
    assert.equal(policy.costUs('nn', 'cuda', 4), 3.5);
    faults.add('cuda', 'launch linnos_predict: CUDA_ERROR_LAUNCH_FAILED (719)');
    const cuda = policy.backendStates('nn', 4).find((b) => b.name === 'cuda')!;
    assert.equal(cuda.usable, false);
    assert.equal(cuda.batchUs, undefined);
    assert.match(cuda.reason ?? '', /^faulted in lakeD \(launch linnos_predict: CUDA_ERROR_LAUNCH_FAILED/);
    const small = policy.choose('nn', 4, 1);
    assert.deepEqual(small, { placement: INLINE, costUs: 8, reason: 'backend-fault' });
    assert.equal(cuda.faulted, true);
    assert.equal(policy.choose('nn', 1, 1).reason, 'below-crossover', "below cuda's crossover too");
    assert.equal(policy.choose('nn', 8, 1).placement, 'cpu-wasm', 'the next best backend takes batches');
    assert.equal(policy.worthBatching('nn'), 8, "cuda's crossover no longer counts");
    assert.equal(
      policy.costUs('nn', 'cuda', 4),
      batchCostUs(TABLE, INLINE, 4),
      'the CPU twin does inline work',
    );
    assert.deepEqual(policy.faults(), [
      { backend: 'cuda', reason: 'launch linnos_predict: CUDA_ERROR_LAUNCH_FAILED (719)' },
    ]);
    // Marked once: a later report of the same backend keeps the first reason.
    assert.equal(policy.markFaulted('cuda', 'later'), false);
    assert.equal(policy.markFaulted('cpu-wasm', 'test: marked directly'), true);
    assert.equal(policy.choose('nn', 8, 1).placement, INLINE);
    assert.equal(policy.choose('nn', 8, 1).reason, 'backend-fault', 'both would win but faulted');
    assert.equal(policy.worthBatching('nn'), null);
  });

  test('a user policy that names it is told it is not usable, and why; the default decides', () => {
    const faults = new Faults();
    const told: string[] = [];
    const policy = new ContentionPolicy({
      tables: [TABLE],
      backends: REPORTS,
      deviceFaults: faults,
      user: { name: 'gpu-always', choose: () => 'cuda' },
      onFault: (f) => told.push(f.message),
    });
    assert.deepEqual(policy.choose('nn', 1, 1), { placement: 'cuda', costUs: 3, reason: 'user' });
    faults.add('cuda', 'streamSynchronize: CUDA_ERROR_LAUNCH_FAILED (719)');
    assert.deepEqual(policy.choose('nn', 1, 1), { placement: INLINE, costUs: 2, reason: 'user-fallback' });
    assert.equal(told.length, 1);
    assert.match(told[0]!, /returned 'cuda' \(cuda is not usable: faulted in lakeD \(streamSynchronize: /);
    assert.match(told[0]!, /expected 'inline' or 'cpu-wasm'/);
  });
});

describe('lakeD reports a CUDA fault with the batch it happened in', () => {
  let lib: LakeLib | undefined;
  after(async () => {
    await lib?.close();
  });

  test("lakeLib learns it at the batch's synchronise, loses no decision, keeps it through a lakeD restart", async () => {
    lib = await LakeLib.open({
      arenaBytes: 8 << 20,
      hangTimeoutMs: 10_000,
      backendCatalog: fakeCudaCatalog(3),
    });
    assert.deepEqual(
      lib.listBackends().map((b) => [b.name, b.available]),
      [
        ['cpu-wasm', true],
        ['cuda', true],
      ],
    );
    const model = randomModel(21, linnosLayerSizes('nn'), uniformDigits(22, 100));
    const runner = LinnosBatchRunner.open(lib, model, { name: 'nn', capacity: 32 });
    try {
      assert.equal(lib.getDevice(1).backend, 'cuda');
      assert.equal(lib.getDevice(1).fault, undefined, 'the fake GPU serves');
      const random = new Random(9);
      const batch = (placement: string, n: number): Uint8Array => {
        for (let i = 0; i < n * LINNOS_FEATURES; i++) runner.input[i] = random.int(10);
        runner.run(INLINE, n);
        const inline = runner.output.slice(0, n);
        runner.output.fill(255, 0, n);
        runner.run(placement, n);
        assert.deepEqual(runner.output.slice(0, n), inline, `a batch of ${n} on ${placement}`);
        return inline;
      };
      batch('cuda', 17);
      batch('cuda', 32);
      assert.equal(lib.faultEpoch, 0);
      assert.deepEqual(lib.deviceFaults(), []);
      batch('cuda', 25); // lakeD's third launch fails: the CPU twin finishes the batch
      assert.equal(lib.faultEpoch, 1, 'learned with the batch, no later');
      const [fault] = lib.deviceFaults();
      assert.equal(fault?.device, 1);
      assert.equal(fault?.backend, 'cuda');
      assert.match(fault?.reason ?? '', LAUNCH_FAILED);
      assert.match(lib.getDevice(1).fault ?? '', LAUNCH_FAILED);
      const cuda = lib.listBackends().find((b) => b.name === 'cuda')!;
      assert.equal(cuda.available, false);
      assert.match(cuda.reason ?? '', /^faulted in lakeD \(device 1: launch linnos_predict: /);
      batch('cuda', 9); // still served, on the CPU path
      assert.equal(lib.faultEpoch, 1, 'one fault, learned once');
      // The crash path: a restarted lakeD reopens the device, and lakeLib still does not trust it.
      lib.debug.crash();
      batch('cuda', 12);
      assert.equal(lib.stats().restarts, 1);
      const deadline = performance.now() + 30_000;
      while (lib.stats().mode !== 'daemon' && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        lib.noop(); // adopts the new lakeD once it is up
      }
      assert.equal(lib.stats().mode, 'daemon');
      batch('cuda', 12);
      assert.equal(lib.getDevice(1).fault, undefined, 'the new lakeD reopened the device');
      assert.equal(lib.deviceFaults().length, 1, 'the fault sticks for the lakeLib');
      assert.equal(lib.listBackends().find((b) => b.name === 'cuda')?.available, false);
    } finally {
      runner.close();
    }
  });
});

describe('LinnOS on LAKE after a CUDA fault in lakeD', () => {
  test('no decision lost, placements leave cuda from the next batch, costs follow, the JSON says when', async () => {
    const profiles = ['azure', 'bing-i'] as const;
    const models = profiles.map((_, d) => randomDenseModel(60 + d, [31, 256, 2]));
    const events: LakeBatchEvent[] = [];
    const result = await runLakeLinnos({
      shapes: [{ shape: 'nn', models }],
      arrivals: () => mergeStreams(profiles.map((p, i) => synthesize(p, { durationMs: 150, seed: 70 + i }))),
      makeDevices: () =>
        profiles.map((_, i) => createFlashDevice({ profile: 'femu', name: `ssd${i}`, seed: 80 + i })),
      variants: ['lake'],
      calibration: [TABLE],
      utilisation: false,
      batching: { nn: { hold: 'always', windowUs: 50, maxBatch: 8 } },
      // The fifth launch on lakeD fails (runner set-up launches nothing).
      lakeLibOptions: { arenaBytes: 8 << 20, hangTimeoutMs: 10_000, backendCatalog: fakeCudaCatalog(5) },
      onBatch: (_shape, _variant, event) => events.push(event),
    });
    const run = result.shapes[0]!.runs[0]!;
    const at = run.stats.backendFaults['cuda'];
    assert.ok(at !== undefined, 'the run saw the fault');
    assert.match(at.reason, LAUNCH_FAILED);
    const onCuda = events.flatMap((e, i) => (e.placement === 'cuda' ? [i] : []));
    assert.equal(onCuda.length, 5, 'four batches on the GPU, the fifth faulted there, none after');
    assert.equal(at.batch, onCuda[4], 'faultedAt is the batch the fault happened in');
    assert.ok(events.length > at.batch + 20, `batches after the fault: ${events.length - at.batch - 1}`);
    for (const [i, e] of events.entries()) {
      const n = e.decisions.length;
      if (i < at.batch) continue;
      // The faulted batch and every later one are charged as what ran: the CPU path, never cuda's 3-4 us.
      if (e.placement !== 'cpu-wasm') assert.equal(e.costUs, batchCostUs(TABLE, INLINE, n), `batch ${i}`);
    }
    assert.ok(
      events.slice(at.batch + 1).some((e) => e.decisions.length >= 2),
      'batches cuda would have won',
    );
    // Every decision equals the model's inline one on the same vector.
    const references = models.map((m) => createPredictor(m, { backend: 'wasm' }));
    try {
      for (const e of events) {
        const want = new Uint8Array(e.decisions.length);
        references[e.device]!.predictBatch(e.digits, e.decisions.length, want);
        assert.deepEqual(e.decisions, want);
      }
    } finally {
      for (const r of references) r.dispose();
    }
    assert.equal(
      run.stats.decisions,
      events.reduce((s, e) => s + e.decisions.length, 0),
    );
    assert.equal(run.replay.policyFaults, 0, 'no held read was left undecided');
    assert.equal(run.stats.faults, 0, 'no batch threw');
    assert.deepEqual(result.backendFaults, [
      { backend: 'cuda', reason: at.reason, run: 'nn/lake', batch: at.batch },
    ]);
    const json = lakeResultJson(result) as {
      backends: { name: string; usable: boolean; fault?: string; faultedAt?: unknown }[];
      shapes: { nn: { runs: { lake: { backendFaults?: unknown } } } };
    };
    const cuda = json.backends.find((b) => b.name === 'cuda')!;
    assert.equal(cuda.usable, true, 'detection at the start found it');
    assert.equal(cuda.fault, at.reason);
    assert.deepEqual(cuda.faultedAt, { run: 'nn/lake', batch: at.batch });
    assert.deepEqual(json.shapes.nn.runs.lake.backendFaults, { cuda: at });
  });
});
