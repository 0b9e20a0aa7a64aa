import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LakeError } from '../../../src/errors.js';
import {
  type GpuProcess,
  type Nvml,
  NvmlUtilisationSource,
  openCudaDeviceMonitor,
  openNvml,
} from '../../../src/lake/backends/cuda/nvml.js';
import { INLINE } from '../../../src/lake/policy/constants.js';
import { ContentionPolicy } from '../../../src/lake/policy/contention.js';
import { gpuSharingModeFromEnv, parseGpuSharingMode } from '../../../src/lake/policy/gpu-mode.js';
import { UtilisationMonitor } from '../../../src/lake/policy/utilisation.js';
import { CPU_AND_CUDA, CUDA_WINS_FROM_8 } from './gpu-policy-fixtures.js';

/** NVML as the test sets it: the GPU's utilisation and the processes running compute work on it. */
class FakeNvml implements Nvml {
  percent = 0;
  processes: GpuProcess[] = [];
  failing = false;
  closed = false;
  utilisationPercent(): number {
    if (this.failing) throw new Error('nvmlDeviceGetUtilizationRates failed: GPU is lost (15)');
    return this.percent;
  }
  computeProcesses(): GpuProcess[] {
    return this.processes;
  }
  // A driver that keeps no samples: the source reads nvmlDeviceGetUtilizationRates.
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

const OWN = 4242;
const proc = (pid: number): GpuProcess => ({ pid, usedMemoryBytes: 1 << 20 });

describe('NVML as the GPU utilisation source', () => {
  test("busy only while another process computes on the GPU (LAKE: 'more than one process')", () => {
    const nvml = new FakeNvml();
    let now = 0;
    const source = new NvmlUtilisationSource(nvml, { ownPid: OWN, clock: () => now });
    nvml.percent = 95;
    nvml.processes = [proc(OWN)];
    now = 20;
    assert.deepEqual(source.utilisation(), { busy: 0, windowMs: 20, sinceMs: 20 }, 'lake alone: never busy');
    nvml.processes = [proc(OWN), proc(7)];
    now = 40;
    // The last sample period: it may have ended a period ago, and NVML's longest is 1 s.
    assert.deepEqual(source.utilisation(), { busy: 0.95, windowMs: 20, sinceMs: 2000 });
    assert.equal(source.foreignProcesses, 1);
    // In a container NVML lists host pids: one unknown process is lake's own, two mean another job.
    nvml.processes = [proc(900)];
    assert.equal(source.utilisation().busy, 0);
    nvml.processes = [proc(900), proc(901)];
    assert.equal(source.utilisation().busy, 0.95);
    nvml.failing = true;
    assert.equal(source.utilisation().busy, 0, 'an NVML error reads as idle');
    assert.match(source.lastError ?? '', /GPU is lost/);
    source.close();
    assert.equal(nvml.closed, true);
  });
});

function gpuPolicy(mode: 'yield' | 'priority') {
  const nvml = new FakeNvml();
  const clock = { now: 0 };
  const source = new NvmlUtilisationSource(nvml, { ownPid: OWN, clock: () => clock.now });
  const gpu = new UtilisationMonitor(source, { clock: () => clock.now });
  const policy = new ContentionPolicy({
    tables: [CUDA_WINS_FROM_8],
    backends: CPU_AND_CUDA,
    deviceMonitors: { cuda: gpu },
    gpuMode: mode,
  });
  return { nvml, clock, policy };
}

describe("contention policy over the GPU's utilisation", () => {
  test("'yield': a competing job over 70% moves GPU batches to the CPU within a period, and back after", () => {
    const { nvml, clock, policy } = gpuPolicy('yield');
    nvml.processes = [proc(OWN)];
    nvml.percent = 30;
    assert.equal(policy.choose('nn', 64, 1).placement, 'cuda');
    assert.equal(policy.worthBatching('nn'), 8);
    nvml.processes = [proc(OWN), proc(77)];
    nvml.percent = 98;
    clock.now = 19;
    assert.equal(policy.choose('nn', 64, 1).placement, 'cuda', 'not sampled before 20 ms');
    clock.now = 20;
    const moved = policy.choose('nn', 64, 1);
    assert.equal(moved.placement, INLINE);
    assert.equal(moved.reason, 'utilisation');
    assert.equal(policy.worthBatching('nn'), null, 'no reason to hold reads back');
    const state = policy.backendStates('nn', 64).find((b) => b.name === 'cuda')!;
    assert.equal(state.utilisation, 0.98);
    nvml.processes = [proc(OWN)];
    clock.now = 40;
    assert.equal(policy.choose('nn', 64, 1).placement, 'cuda');
    assert.equal(policy.worthBatching('nn'), 8);
  });

  test("'priority': lake stays on its high-priority stream next to the job; lakeD's own load still counts", () => {
    const { nvml, clock, policy } = gpuPolicy('priority');
    nvml.processes = [proc(OWN), proc(77)];
    nvml.percent = 98;
    clock.now = 20;
    assert.equal(policy.choose('nn', 64, 1).placement, 'cuda');
    assert.equal(policy.worthBatching('nn'), 8);
    assert.equal(policy.gpuMode, 'priority');
  });
});

describe('GPU sharing mode', () => {
  test('LAKE_GPU_MODE selects it; yield by default; anything else is refused naming the variable', () => {
    assert.equal(gpuSharingModeFromEnv({}), 'yield');
    assert.equal(gpuSharingModeFromEnv({ LAKE_GPU_MODE: 'priority' }), 'priority');
    assert.equal(parseGpuSharingMode('yield', '--gpu-mode'), 'yield');
    assert.throws(
      () => gpuSharingModeFromEnv({ LAKE_GPU_MODE: 'fast' }),
      (error: unknown) =>
        error instanceof LakeError &&
        error.code === 'LAKE_E_USAGE' &&
        error.message === 'LAKE_GPU_MODE must be one of yield, priority, got "fast"',
    );
  });
});

describe('NVML detection', () => {
  test('no monitor unless cuda is usable and NVML opens; why NVML does not open here', () => {
    assert.equal(openCudaDeviceMonitor([{ ...CPU_AND_CUDA[1]!, available: false }]), undefined);
    const nvml = openNvml('0000:3B:00.0');
    if (typeof nvml !== 'string') {
      nvml.close();
      return; // a machine with the NVIDIA driver
    }
    assert.match(nvml, /^(koffi not installed|libnvidia-ml\.so\.1 not found)/);
    assert.equal(openCudaDeviceMonitor(CPU_AND_CUDA), undefined);
  });
});
