import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import {
  type GpuProcess,
  type Nvml,
  type NvmlDeviceSamples,
  NvmlUtilisationSource,
} from '../../src/lake/backends/cuda/nvml.js';
import { INLINE, UTILISATION_PERIOD_MS } from '../../src/lake/policy/constants.js';
import { ContentionPolicy } from '../../src/lake/policy/contention.js';
import type { GpuSharingMode } from '../../src/lake/policy/gpu-mode.js';
import {
  type ForeignProcessSource,
  SLOWDOWN_MIN_EXCESS_US,
  SLOWDOWN_RATIO,
  SLOWDOWN_RUN,
  SlowdownSignal,
} from '../../src/lake/policy/slowdown.js';
import { UtilisationMonitor, type UtilisationSource } from '../../src/lake/policy/utilisation.js';
import { CPU_AND_CUDA, CUDA_WINS_FROM_8 } from './backends/gpu-policy-fixtures.js';

const CALIBRATED = 20; // cuda, a batch of 64
const SLOWED = 2000; // 100x calibrated, 1,980 us over it
const NORMAL = 35; // within calibration noise

/**
 * A GPU's NVML view reduced to what the signal reads: the other processes listed, and the foreign load
 * each poll reports with how far back it reaches (`sinceMs`).
 */
class ScriptedGpu implements UtilisationSource, ForeignProcessSource {
  foreignProcesses = 0;
  /** What the list holds (read at each monitor poll and each poll of the signal's). */
  listed = 0;
  load = 0;
  sinceMs = 20;
  polls = 0;
  utilisation(): { busy: number; windowMs: number; foreign: number; sinceMs: number } {
    this.foreignProcesses = this.listed;
    const foreign = this.listed > 0 ? this.load : 0;
    return { busy: foreign, windowMs: UTILISATION_PERIOD_MS, foreign, sinceMs: this.sinceMs };
  }
  pollForeignProcesses(): number {
    this.polls++;
    this.foreignProcesses = this.listed;
    return this.listed;
  }
}

function setup(mode: GpuSharingMode = 'yield') {
  const clock = { now: 0 };
  const gpu = new ScriptedGpu();
  const monitor = new UtilisationMonitor(gpu, { clock: () => clock.now });
  const signal = new SlowdownSignal({ backend: 'cuda', monitor, processes: gpu });
  const policy = new ContentionPolicy({
    tables: [CUDA_WINS_FROM_8],
    backends: CPU_AND_CUDA,
    deviceMonitors: { cuda: monitor },
    slowdown: { cuda: signal },
    gpuMode: mode,
  });
  /** A batch of 64 placed, run for `us`, reported as the caller reports it; its placement and reason. */
  const batch = (us: number): { placement: string; reason: string } => {
    const choice = policy.choose('nn', 64, 1);
    clock.now += us / 1000;
    if (choice.placement !== INLINE) policy.observeBatch(choice.placement, choice.costUs, us, clock.now);
    clock.now += 1; // a batch a millisecond
    return { placement: choice.placement, reason: choice.reason };
  };
  return { clock, gpu, monitor, signal, policy, batch };
}

describe('slowdown signal: raising', () => {
  test('three slowed GPU batches in a row with another process listed move the next batch to the CPU at once', () => {
    const { gpu, signal, policy, batch } = setup();
    gpu.listed = 1; // a job's context, and NVML shows no load from it yet
    gpu.load = 0.1;
    assert.equal(SLOWDOWN_RUN, 3);
    for (let i = 0; i < SLOWDOWN_RUN; i++)
      assert.deepEqual(batch(SLOWED), { placement: 'cuda', reason: 'crossover' }, `slowed batch ${i + 1}`);
    assert.equal(signal.raised, true);
    assert.deepEqual(batch(NORMAL), { placement: INLINE, reason: 'slowdown' }, 'the next batch');
    const cuda = policy.backendStates('nn', 64).find((b) => b.name === 'cuda')!;
    assert.equal(cuda.utilisation, 1, 'foreign load 1');
    assert.equal(policy.worthBatching('nn'), null, 'no reason to hold reads for the GPU');
    assert.equal(signal.report.raises, 1);
    // The monitor last polled before the job's context appeared: the signal read the list itself, once.
    assert.equal(gpu.polls, 1);
  });

  test("with no other process on the device, slowed batches are lake's own: nothing is raised", () => {
    const { gpu, signal, batch } = setup();
    gpu.load = 0.95; // whatever the device shows, lake is alone on it
    for (let i = 0; i < 40; i++) assert.equal(batch(SLOWED).placement, 'cuda', `batch ${i}`);
    assert.equal(signal.raised, false);
    assert.equal(signal.report.slowAlone, 40 - SLOWDOWN_RUN + 1);
    // Each batch takes 3 ms: the list is read at most once per 20 ms, not per batch.
    assert.ok(gpu.polls >= 5 && gpu.polls <= 7, `polls: ${gpu.polls}`);
  });

  test('a single outlier, or two, raises nothing: only a run of three', () => {
    const { gpu, signal, batch } = setup();
    gpu.listed = 1;
    assert.equal(batch(43 * CALIBRATED + SLOWDOWN_MIN_EXCESS_US).placement, 'cuda'); // one 68x outlier
    for (const us of [NORMAL, SLOWED, SLOWED, NORMAL, SLOWED, NORMAL, SLOWED, SLOWED]) batch(us);
    assert.equal(signal.raised, false, 'never three in a row');
    // Slow by ratio but not by the absolute margin (a lakeD wake-up on a tiny batch): not slowed.
    const wakeUp = CALIBRATED + SLOWDOWN_MIN_EXCESS_US - 1;
    assert.ok(wakeUp >= SLOWDOWN_RATIO * CALIBRATED);
    for (let i = 0; i < 5; i++) batch(wakeUp);
    assert.equal(signal.raised, false);
    // Exactly at the ratio, where the excess is large too: slowed.
    const bigTable = { calibrated: 400, measured: SLOWDOWN_RATIO * 400 };
    for (let i = 0; i < SLOWDOWN_RUN; i++) signal.observe(bigTable.calibrated, bigTable.measured, 100 + i);
    assert.equal(signal.raised, true);
  });

  test('refuses a margin that means nothing, naming it', () => {
    const gpu = new ScriptedGpu();
    const monitor = new UtilisationMonitor(gpu);
    assert.throws(
      () => new SlowdownSignal({ backend: 'cuda', monitor, processes: gpu, ratio: 0.5 }),
      (error: unknown) =>
        error instanceof LakeError &&
        error.code === 'LAKE_E_USAGE' &&
        error.message === 'slowdown signal of cuda: ratio must be a number >= 1, got 0.5',
    );
    assert.throws(
      () => new SlowdownSignal({ backend: 'cuda', monitor, processes: gpu, run: 0 }),
      /run must be an integer >= 1, got 0/,
    );
  });
});

describe('slowdown signal: clearing', () => {
  test("clears when the other process leaves the list, at the monitor's next poll", () => {
    const { clock, gpu, signal, batch } = setup();
    gpu.listed = 1;
    gpu.load = 0.95;
    gpu.sinceMs = 10_000; // every reading reaches back before the raise: NVML cannot clear it
    for (let i = 0; i < SLOWDOWN_RUN; i++) batch(SLOWED);
    const raisedAt = clock.now;
    gpu.listed = 0; // the job exits
    const moved = [];
    while (clock.now < raisedAt + 2 * UTILISATION_PERIOD_MS) moved.push({ at: clock.now, ...batch(NORMAL) });
    const back = moved.find((m) => m.placement === 'cuda')!;
    assert.ok(back !== undefined, 'back on the GPU');
    assert.equal(moved[0]!.reason, 'slowdown', 'held by the signal until the monitor polls the list');
    assert.ok(back.at - raisedAt <= UTILISATION_PERIOD_MS + 1, `back ${back.at - raisedAt} ms after`);
    assert.deepEqual(
      [signal.report.clearedByExit, signal.report.clearedByNvml, signal.raised],
      [1, 0, false],
    );
  });

  test('clears on a low NVML reading only when the reading rests on time after the raise', () => {
    const { clock, gpu, monitor, signal, batch } = setup();
    gpu.listed = 1;
    gpu.load = 0.05; // NVML still shows the period before the job's kernels
    gpu.sinceMs = 300; // each reading averages the last 300 ms (a long sample period)
    for (let i = 0; i < SLOWDOWN_RUN; i++) batch(SLOWED);
    const raisedAt = clock.now;
    const placements: { at: number; placement: string; fromMs: number }[] = [];
    while (clock.now < raisedAt + 400) {
      const { placement } = batch(NORMAL);
      placements.push({ at: clock.now, placement, fromMs: monitor.last?.fromMs ?? Number.NEGATIVE_INFINITY });
    }
    const back = placements.find((p) => p.placement === 'cuda')!;
    for (const p of placements.slice(0, placements.indexOf(back)))
      assert.ok(p.fromMs < raisedAt, `held at ${p.at} by a reading from ${p.fromMs}, before the raise`);
    assert.ok(back.fromMs >= raisedAt, 'cleared by a reading that starts after the raise');
    assert.ok(back.at - raisedAt >= 300 && back.at - raisedAt <= 300 + UTILISATION_PERIOD_MS + 4);
    assert.equal(signal.report.clearedByNvml, 1);
  });

  test('a high NVML reading after the raise keeps it until the job exits', () => {
    const { clock, gpu, signal, batch } = setup();
    gpu.listed = 1;
    for (let i = 0; i < SLOWDOWN_RUN; i++) batch(SLOWED);
    gpu.load = 0.9;
    gpu.sinceMs = 20;
    for (let i = 0; i < 100; i++) assert.equal(batch(NORMAL).placement, INLINE);
    assert.equal(signal.contended(), true);
    gpu.listed = 0;
    clock.now += UTILISATION_PERIOD_MS;
    assert.equal(batch(NORMAL).placement, 'cuda');
    assert.equal(signal.report.clearedByExit, 1);
  });
});

describe("slowdown signal in 'priority' mode", () => {
  test("counts: NVML's load alone keeps lake on its high-priority stream, slowed batches move it", () => {
    const { gpu, signal, batch } = setup('priority');
    gpu.listed = 1;
    gpu.load = 0.95;
    gpu.sinceMs = 10_000;
    for (let i = 0; i < 30; i++)
      assert.equal(batch(NORMAL).placement, 'cuda', 'the job is busy, lake is not slowed');
    for (let i = 0; i < SLOWDOWN_RUN; i++) assert.equal(batch(SLOWED).placement, 'cuda');
    assert.deepEqual(batch(NORMAL), { placement: INLINE, reason: 'slowdown' });
    assert.equal(signal.report.raises, 1);
  });

  test("in 'yield', once NVML's reading shows the load too, batches kept off the GPU are NVML's", () => {
    const { clock, gpu, batch } = setup('yield');
    gpu.listed = 1;
    gpu.load = 0.95; // the job is busy, NVML has not polled since
    for (let i = 0; i < SLOWDOWN_RUN; i++) batch(SLOWED);
    assert.deepEqual(batch(NORMAL), { placement: INLINE, reason: 'slowdown' }, 'the signal moved first');
    clock.now = UTILISATION_PERIOD_MS;
    assert.deepEqual(batch(NORMAL), { placement: INLINE, reason: 'utilisation' }, 'NVML alone would hold it');
  });
});

/**
 * NVML's device samples in virtual time: one every `intervalMs`, the share of the period the job's kernels
 * ran; the job is listed from `contextMs` and busy from `loadMs` to `idleMs`.
 */
class SampledNvml implements Nvml {
  nowMs = 0;
  readonly #out = { count: 0, timestampUs: new Float64Array(64), percent: new Float64Array(64) };
  constructor(
    readonly intervalMs: number,
    readonly job: { contextMs: number; loadMs: number; idleMs: number },
  ) {}
  utilisationPercent(): number {
    throw new Error('not used: the driver keeps device samples');
  }
  computeProcesses(): readonly GpuProcess[] {
    const lake = { pid: 4242, usedMemoryBytes: 1 };
    return this.nowMs >= this.job.contextMs ? [lake, { pid: 777, usedMemoryBytes: 1 }] : [lake];
  }
  deviceSamples(afterUs: number): NvmlDeviceSamples {
    const out = this.#out;
    out.count = 0;
    for (let k = 1; k * this.intervalMs <= this.nowMs; k++) {
      const endMs = k * this.intervalMs;
      if (endMs * 1000 <= afterUs) continue;
      const busy = Math.min(endMs, this.job.idleMs) - Math.max(endMs - this.intervalMs, this.job.loadMs);
      out.timestampUs[out.count] = endMs * 1000;
      out.percent[out.count] = Math.round((100 * Math.max(0, busy)) / this.intervalMs);
      out.count++;
    }
    return out;
  }
  processSamples(): undefined {
    return undefined;
  }
  close(): void {}
}

describe('slowdown signal over NVML device samples', () => {
  test("a sample stamped before the job's load cannot clear it; one from the idle job after the raise does", () => {
    const nvml = new SampledNvml(100, { contextMs: 500, loadMs: 1002, idleMs: 1500 });
    const clock = () => nvml.nowMs;
    const source = new NvmlUtilisationSource(nvml, { ownPid: 4242, clock, epochUs: () => nvml.nowMs * 1000 });
    const monitor = new UtilisationMonitor(source, { clock });
    const signal = new SlowdownSignal({ backend: 'cuda', monitor, processes: source });
    const policy = new ContentionPolicy({
      tables: [CUDA_WINS_FROM_8],
      backends: CPU_AND_CUDA,
      deviceMonitors: { cuda: monitor },
      slowdown: { cuda: signal },
    });
    const changes: { atMs: number; placement: string; reason: string }[] = [];
    for (let t = 0; t <= 2000; t++) {
      nvml.nowMs = t;
      const choice = policy.choose('nn', 64, 1);
      // lake's batches on the GPU wait for the job's kernels while it is busy.
      const slowed = t >= nvml.job.loadMs && t < nvml.job.idleMs;
      if (choice.placement !== INLINE)
        policy.observeBatch('cuda', choice.costUs, slowed ? SLOWED : NORMAL, t);
      if (changes.at(-1)?.placement !== choice.placement)
        changes.push({ atMs: t, placement: choice.placement, reason: choice.reason });
    }
    // Slowed batches at 1002, 1003, 1004 raise it; the next batch runs inline.
    assert.deepEqual(changes[1], { atMs: 1005, placement: INLINE, reason: 'slowdown' });
    // The samples stamped 1000 (0%: before the load) and 1100 (98%) do not clear it. The job idles at 1500;
    // the sample stamped 1600 (0%) reaches back to 1425 (window 50 ms, one period with slack 125 ms),
    // after the raise: the poll that reads it clears the signal.
    assert.equal(changes.length, 3);
    assert.equal(changes[2]!.placement, 'cuda');
    assert.ok(changes[2]!.atMs >= 1600 && changes[2]!.atMs <= 1600 + UTILISATION_PERIOD_MS);
    assert.equal(signal.report.clearedByNvml, 1);
    assert.equal(source.signal, 'device-samples');
    assert.equal(source.sampleIntervalMs, 100);
  });
});
