import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mergeStreams } from '../../../src/array/engine.js';
import { createFlashDevice } from '../../../src/flash/index.js';
import { createPredictor } from '../../../src/kernels/create.js';
import type { GpuProcess, Nvml } from '../../../src/lake/backends/cuda/nvml.js';
import type { LakeBatchEvent } from '../../../src/lake/linnos/policy.js';
import { lakeResultJson } from '../../../src/lake/linnos/result-json.js';
import { runLakeLinnos } from '../../../src/lake/linnos/run.js';
import { INLINE } from '../../../src/lake/policy/constants.js';
import { SLOWDOWN_RUN } from '../../../src/lake/policy/slowdown.js';
import { synthesize } from '../../../src/trace/synth.js';
import { slowCudaCatalog } from '../fixtures/slow-cuda-catalog.js';
import { randomDenseModel } from '../helpers.js';
import { CUDA_WINS_FROM_2_MS } from './gpu-policy-fixtures.js';

const SLOW_MS = 40;
/** cuda batches before the competing job appears; lakeD's launches after them are slowed. */
const BEFORE_JOB = 10;

/** NVML with lake alone on the GPU until the test lists a job; it reports no load either way. */
class ListedNvml implements Nvml {
  processes: GpuProcess[] = [{ pid: process.pid, usedMemoryBytes: 1 << 20 }];
  listReads = 0;
  closed = false;
  utilisationPercent(): number {
    return 0;
  }
  computeProcesses(): readonly GpuProcess[] {
    this.listReads++;
    return this.processes;
  }
  deviceSamples(): undefined {
    return undefined;
  }
  processSamples(): undefined {
    return undefined;
  }
  close(): void {
    this.closed = true;
  }
}

describe('LinnOS on LAKE: a job slows the GPU before NVML shows its load', () => {
  test('slowed launches with another process listed move batches to the CPU on the next batch', async () => {
    const profiles = ['azure', 'bing-i'] as const;
    const models = profiles.map((_, d) => randomDenseModel(90 + d, [31, 256, 2]));
    const nvml = new ListedNvml();
    const events: LakeBatchEvent[] = [];
    let onCuda = 0;
    const result = await runLakeLinnos({
      shapes: [{ shape: 'nn', models }],
      arrivals: () => mergeStreams(profiles.map((p, i) => synthesize(p, { durationMs: 150, seed: 30 + i }))),
      makeDevices: () =>
        profiles.map((_, i) => createFlashDevice({ profile: 'femu', name: `ssd${i}`, seed: 40 + i })),
      variants: ['lake'],
      calibration: [CUDA_WINS_FROM_2_MS],
      // NVML's and lakeD's monitors sample once a minute: within the run only the slowdown signal moves.
      utilisation: { periodMs: 60_000 },
      nvml,
      batching: { nn: { hold: 'always', windowUs: 50, maxBatch: 8 } },
      // Runner set-up launches nothing: launch k on lakeD is the kth cuda batch.
      lakeLibOptions: {
        arenaBytes: 8 << 20,
        hangTimeoutMs: 10_000,
        backendCatalog: slowCudaCatalog(BEFORE_JOB + 1, SLOW_MS),
      },
      onBatch: (_shape, _variant, event) => {
        events.push(event);
        if (event.placement === 'cuda' && ++onCuda === BEFORE_JOB)
          nvml.processes = [...nvml.processes, { pid: process.pid + 1, usedMemoryBytes: 1 << 30 }];
      },
    });
    const run = result.shapes[0]!.runs[0]!;
    const cuda = events.flatMap((e, i) => (e.placement === 'cuda' ? [i] : []));
    assert.equal(cuda.length, BEFORE_JOB + SLOWDOWN_RUN, 'three slowed batches on the GPU, none after');
    const lastOnGpu = cuda.at(-1)!;
    const after = events.slice(lastOnGpu + 1).filter((e) => e.decisions.length >= 2);
    // The next batch that reaches the crossover, and every later one, runs inline (batches of one in between
    // run inline anyway).
    assert.ok(after.length >= 10, `batches cuda would have won after the raise: ${after.length}`);
    assert.ok(run.stats.wallUs >= SLOWDOWN_RUN * SLOW_MS * 1000, 'the slowed launches were waited for');
    for (const e of after) {
      assert.equal(e.placement, INLINE);
      assert.equal(e.reason, 'slowdown');
      assert.equal(e.costUs, 5000 * e.decisions.length, 'charged as inline');
    }
    // Before the job every batch that reached the crossover ran on the GPU (nothing slowed, nothing listed).
    for (const e of events.slice(0, cuda[BEFORE_JOB]!))
      if (e.decisions.length >= 2) assert.equal(e.placement, 'cuda');
    assert.deepEqual(run.stats.contentionMoves, { utilisation: 0, slowdown: 1 });
    assert.equal(run.stats.reasons.slowdown, after.length);
    assert.equal(run.stats.reasons.utilisation, undefined, "NVML's load never moved a batch");
    const [signal] = result.slowdown;
    assert.equal(signal?.backend, 'cuda');
    assert.equal(signal?.raises, 1);
    assert.equal(signal?.slowAlone, 0);
    assert.equal(nvml.closed, true, 'the run closes the NVML it was given');
    // Every decision equals the model's inline one on the same vector, wherever it ran.
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
    const json = lakeResultJson(result) as {
      slowdown?: Record<string, { raises: number; clearedByExit: number; clearedByNvml: number }>;
      shapes: { nn: { runs: { lake: { reasons: Record<string, number>; contentionMoves: unknown } } } };
    };
    assert.deepEqual(json.slowdown, {
      cuda: { raises: 1, clearedByExit: 0, clearedByNvml: 0, slowAlone: 0 },
    });
    assert.deepEqual(json.shapes.nn.runs.lake.contentionMoves, { utilisation: 0, slowdown: 1 });
    assert.equal(json.shapes.nn.runs.lake.reasons['slowdown'], after.length);
  });
});
