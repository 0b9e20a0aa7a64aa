import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeStreams } from '../../../src/array/engine.js';
import { createFlashDevice } from '../../../src/flash/index.js';
import type { GpuProcess, Nvml } from '../../../src/lake/backends/cuda/nvml.js';
import type { LakeBatchEvent } from '../../../src/lake/linnos/policy.js';
import { runLakeLinnos } from '../../../src/lake/linnos/run.js';
import type { UtilisationReading } from '../../../src/lake/policy/utilisation.js';
import { synthesize } from '../../../src/trace/synth.js';
import { fakeCudaCatalog } from '../fixtures/fake-cuda-catalog.js';
import { randomDenseModel } from '../helpers.js';
import { CUDA_WINS_FROM_2_MS } from './gpu-policy-fixtures.js';

const DEVICE_PERCENT = 37;
/** NVML's longest sample period counted twice: how far back a utilisation-rates reading speaks. */
const RATES_SPAN_MS = 2000;

/**
 * NVML without sample buffers (the utilisation-rates signal: the whole device, lake's own kernels
 * included), another process listed beside lake.
 */
class WholeDeviceNvml implements Nvml {
  readonly processes: GpuProcess[] = [
    { pid: process.pid, usedMemoryBytes: 1 << 20 },
    { pid: process.pid + 1, usedMemoryBytes: 1 << 30 },
  ];
  utilisationPercent(): number {
    return DEVICE_PERCENT;
  }
  computeProcesses(): readonly GpuProcess[] {
    return this.processes;
  }
  deviceSamples(): undefined {
    return undefined;
  }
  processSamples(): undefined {
    return undefined;
  }
  close(): void {}
}

test("LinnOS on LAKE: the GPU's monitor subtracts lake's own cuda batches from NVML's whole-device reading", async () => {
  const profiles = ['azure', 'bing-i'] as const;
  const models = profiles.map((_, d) => randomDenseModel(110 + d, [31, 256, 2]));
  const readings: UtilisationReading[] = [];
  const events: LakeBatchEvent[] = [];
  await runLakeLinnos({
    shapes: [{ shape: 'nn', models }],
    arrivals: () => mergeStreams(profiles.map((p, i) => synthesize(p, { durationMs: 150, seed: 120 + i }))),
    makeDevices: () =>
      profiles.map((_, i) => createFlashDevice({ profile: 'femu', name: `ssd${i}`, seed: 130 + i })),
    variants: ['lake'],
    calibration: [CUDA_WINS_FROM_2_MS],
    utilisation: { periodMs: 1, onSample: (r) => readings.push({ ...r }) },
    nvml: new WholeDeviceNvml(),
    batching: { nn: { hold: 'always', windowUs: 50, maxBatch: 8 } },
    lakeLibOptions: { arenaBytes: 8 << 20, hangTimeoutMs: 10_000, backendCatalog: fakeCudaCatalog() },
    onBatch: (_shape, _variant, event) => events.push(event),
  });
  assert.ok(
    events.some((e) => e.placement === 'cuda'),
    'batches ran on the GPU',
  );
  // lakeD's monitor and the GPU's share the options; the GPU's readings are those reaching 2 s back.
  const gpu = readings.filter((r) => Math.abs(r.atMs - r.fromMs - RATES_SPAN_MS) < 1e-6);
  assert.ok(gpu.length > 0, 'the GPU was sampled');
  for (const r of gpu) {
    assert.equal(r.busy, DEVICE_PERCENT / 100);
    assert.equal(r.foreign, Math.max(0, r.busy - r.own), "others' load is the device's less lake's own");
  }
  const charged = gpu.filter((r) => r.own > 0);
  assert.ok(charged.length > 0, "lake's cuda batches were charged to the GPU's monitor");
  assert.ok(
    charged.some((r) => r.foreign < r.busy),
    'so the reading counts less than the whole device as foreign',
  );
});
