import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type GpuProcess,
  type Nvml,
  type NvmlProcessSamples,
  NvmlUtilisationSource,
} from '../../../src/lake/backends/cuda/nvml.js';
import { INLINE, UTILISATION_PERIOD_MS } from '../../../src/lake/policy/constants.js';
import { ContentionPolicy } from '../../../src/lake/policy/contention.js';
import { UtilisationMonitor } from '../../../src/lake/policy/utilisation.js';
import { CPU_AND_CUDA, CUDA_WINS_FROM_8 } from './gpu-policy-fixtures.js';

const OWN = 4242;
const JOB = 777;
const T0 = 1_700_000_000_000_000;

/**
 * A driver in virtual time as NVML's per-process sampling behaves: every `intervalMs` it takes a sample of
 * each process busy in the period just ended (the busy share of that period), stamped with the CPU time in
 * us; a competing job holds a context from `contextMs` to `exitMs` and keeps the GPU busy from `loadMs` to
 * `idleMs`; lake's own process is busy in a period when it placed a batch on the GPU in it.
 */
class ScriptedDriver implements Nvml {
  nowMs = 0;
  lakeOnGpuAtMs = Number.NEGATIVE_INFINITY;
  readonly #out = {
    count: 0,
    pid: new Uint32Array(64),
    timestampUs: new Float64Array(64),
    smPercent: new Float64Array(64),
  };
  constructor(
    readonly intervalMs: number,
    readonly job: { contextMs: number; loadMs: number; idleMs: number; exitMs: number },
  ) {}

  utilisationPercent(): number {
    throw new Error('not used: the driver keeps per-process samples');
  }
  computeProcesses(): readonly GpuProcess[] {
    const listed = this.nowMs >= this.job.contextMs && this.nowMs < this.job.exitMs;
    return listed
      ? [
          { pid: OWN, usedMemoryBytes: 1 },
          { pid: JOB, usedMemoryBytes: 1 },
        ]
      : [{ pid: OWN, usedMemoryBytes: 1 }];
  }
  deviceSamples(): undefined {
    return undefined;
  }
  processSamples(afterUs: number): NvmlProcessSamples {
    const out = this.#out;
    out.count = 0;
    for (let k = 1; k * this.intervalMs <= this.nowMs; k++) {
      const endMs = k * this.intervalMs;
      const at = Math.round(T0 + endMs * 1000);
      if (at <= afterUs) continue;
      const startMs = endMs - this.intervalMs;
      const busyMs = Math.min(endMs, this.job.idleMs, this.job.exitMs) - Math.max(startMs, this.job.loadMs);
      // NVML reports the processes with non-zero utilisation in the period (its percent is an integer).
      const percent = Math.round((100 * Math.max(0, busyMs)) / this.intervalMs);
      if (percent > 0) this.#push(JOB, at, percent);
      if (this.lakeOnGpuAtMs > startMs) this.#push(OWN, at, 15);
    }
    return out;
  }
  #push(pid: number, at: number, percent: number): void {
    const out = this.#out;
    out.pid[out.count] = pid;
    out.timestampUs[out.count] = at;
    out.smPercent[out.count] = percent;
    out.count++;
  }
  close(): void {}
}

/** Places a batch of 64 every ms of virtual time until `untilMs`; the times the placement changed. */
function run(driver: ScriptedDriver, untilMs: number): { atMs: number; placement: string }[] {
  const clock = () => driver.nowMs;
  const source = new NvmlUtilisationSource(driver, {
    ownPid: OWN,
    clock,
    epochUs: () => T0 + driver.nowMs * 1000,
  });
  const policy = new ContentionPolicy({
    tables: [CUDA_WINS_FROM_8],
    backends: CPU_AND_CUDA,
    deviceMonitors: { cuda: new UtilisationMonitor(source, { clock }) },
    gpuMode: 'yield',
  });
  const changes: { atMs: number; placement: string }[] = [];
  for (let t = 0; t <= untilMs; t++) {
    driver.nowMs = t;
    const { placement } = policy.choose('nn', 64, 1);
    if (placement === 'cuda') driver.lakeOnGpuAtMs = t;
    if (changes.at(-1)?.placement !== placement) changes.push({ atMs: t, placement });
  }
  assert.equal(source.signal, 'process-samples');
  return changes;
}

/** The first of the monitor's polls (every UTILISATION_PERIOD_MS from 0) at or after `ms`. */
const firstPollFrom = (ms: number): number => Math.ceil(ms / UTILISATION_PERIOD_MS) * UTILISATION_PERIOD_MS;

describe('contention policy over NVML per-process samples, in virtual time', () => {
  for (const intervalMs of [1000 / 6, 50, 20]) {
    test(`${intervalMs.toFixed(1)} ms samples: a job's load moves batches to the CPU by the first poll after one sample (or 70% of the window), and back after it ends`, () => {
      // The context comes well before the load (as a framework's setup does) and moves nothing.
      const loadMs = 12 * intervalMs;
      const idleMs = 24 * intervalMs;
      const driver = new ScriptedDriver(intervalMs, {
        contextMs: 100,
        loadMs,
        idleMs,
        exitMs: Number.POSITIVE_INFINITY,
      });
      const changes = run(driver, idleMs + 4 * intervalMs);
      assert.deepEqual(
        changes.map((c) => c.placement),
        ['cuda', INLINE, 'cuda'],
        JSON.stringify(changes),
      );
      // The first sample covering the load is taken one period after it starts; with periods shorter than
      // the window, the first one by which the load fills 70% of the window.
      const windowMs = defaultWindowMs();
      const samples = Math.max(1, Math.ceil((0.7 * windowMs) / intervalMs));
      assert.equal(changes[1]!.atMs, firstPollFrom(loadMs + samples * intervalMs));
      // Idle after the load: the job and lake (on the CPU) are both absent from the next samples, so the
      // window moves on with the clock: below 70% once 30% of it is past the job's last sample.
      assert.equal(changes[2]!.atMs, firstPollFrom(idleMs + intervalMs + 0.3 * windowMs));
    });
  }

  test('a load starting inside a sample period: on the CPU within (1 + 0.7) periods and a poll', () => {
    const intervalMs = 1000 / 6;
    for (const offset of [0.1, 0.29, 0.31, 0.5, 0.9]) {
      const loadMs = (12 + offset) * intervalMs;
      const driver = new ScriptedDriver(intervalMs, { contextMs: 100, loadMs, idleMs: 1e9, exitMs: 1e9 });
      const changes = run(driver, loadMs + 3 * intervalMs);
      const moved = changes.find((c) => c.placement === INLINE)!;
      assert.ok(moved.atMs > loadMs, `offset ${offset}: not before the load`);
      // A sample over a period the load covers by more than 70% already shows it; otherwise the next.
      const sample = offset <= 0.3 ? 13 * intervalMs : 14 * intervalMs;
      assert.equal(moved.atMs, firstPollFrom(sample), `offset ${offset}`);
      assert.ok(moved.atMs - loadMs <= 1.7 * intervalMs + UTILISATION_PERIOD_MS);
    }
  });

  test('a job that exits: back on the GPU at the next poll (the process list is the instant signal)', () => {
    const intervalMs = 1000 / 6;
    const exitMs = 20 * intervalMs + 5;
    const driver = new ScriptedDriver(intervalMs, {
      contextMs: 100,
      loadMs: 12 * intervalMs,
      idleMs: 1e9,
      exitMs,
    });
    const changes = run(driver, exitMs + 200);
    assert.deepEqual(
      changes.map((c) => c.placement),
      ['cuda', INLINE, 'cuda'],
    );
    assert.equal(changes[2]!.atMs, firstPollFrom(exitMs));
  });
});

/** The source's default window, ms. */
function defaultWindowMs(): number {
  return new NvmlUtilisationSource(new ScriptedDriver(1, { contextMs: 0, loadMs: 0, idleMs: 0, exitMs: 0 }))
    .windowMs;
}
