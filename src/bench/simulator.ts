import { mergeStreams, replay } from '../array/engine.js';
import { baselinePolicy } from '../array/policies.js';
import { createFlashDevice } from '../flash/index.js';
import type { Device, SubmitResult } from '../flash/types.js';
import { LatencyRecorder } from '../report/histogram.js';
import { type ProfileName, synthesize } from '../trace/synth.js';
import type { TraceRecord } from '../trace/types.js';
import { type BenchResult, type BenchSuite, measure, summarise, withRatios } from './harness.js';

const MIX: readonly ProfileName[] = ['azure', 'azure', 'azure'];

/** Lazily generated arrivals for three devices, `ios` in all (Azure per device). */
export function* benchArrivals(ios: number, seed = 1): Generator<TraceRecord> {
  // Azure: one I/O per 77 us per device; ask for enough time, then stop at the count.
  const durationMs = (ios / MIX.length) * 0.077 * 1.2 + 10;
  let n = 0;
  for (const r of mergeStreams(MIX.map((p, i) => synthesize(p, { durationMs, seed: seed * 100 + i })))) {
    if (n++ >= ios) return;
    yield r;
  }
}

/** A device with no flash model (a FIFO with a fixed service time): the engine's own cost. */
class FifoDevice implements Device {
  readonly name = 'fifo';
  readonly capacityBytes = 2 ** 40;
  #freeAt = 0;
  readonly #result: SubmitResult = { completeUs: 0, cause: 'none' };
  submit(_read: boolean, _offset: number, _size: number, nowUs: number): SubmitResult {
    this.#freeAt = Math.max(nowUs, this.#freeAt) + 20;
    this.#result.completeUs = this.#freeAt;
    return this.#result;
  }
  peekRead(_offset: number, _size: number, nowUs: number): number {
    return Math.max(nowUs, this.#freeAt) + 20;
  }
}

function timeReplay(ios: number, makeDevices: () => Device[], samples: number): number[] {
  const rates: number[] = [];
  for (let s = 0; s < samples; s++) {
    const devices = makeDevices(); // preconditioning is not part of the replay
    const read = new LatencyRecorder();
    const write = new LatencyRecorder();
    const started = performance.now();
    const result = replay(benchArrivals(ios), {
      devices,
      policy: baselinePolicy(),
      readLatency: read,
      writeLatency: write,
    });
    const seconds = (performance.now() - started) / 1000;
    rates.push(result.ios / seconds);
  }
  return rates;
}

/**
 * Simulated I/Os per wall-clock second for the 3-device array under baseline (Azure on each device), beside
 * the workload generator alone and the engine on model-free FIFO devices (references in the same run). The
 * replays run over arrivals generated beforehand, so they time the engine and the devices only.
 */
export async function benchSimulator(options: { ios?: number; samples?: number } = {}): Promise<BenchSuite> {
  const ios = options.ios ?? 1_000_000;
  const samples = options.samples ?? 3;
  const results: BenchResult[] = [];
  results.push(
    await measure('generator only', 'ios/s', () => {
      const rates: number[] = [];
      for (let s = 0; s < samples; s++) {
        const started = performance.now();
        let n = 0;
        for (const _ of benchArrivals(ios)) n++;
        rates.push(n / ((performance.now() - started) / 1000));
      }
      return summarise('generator only', 'ios/s', rates, { ios });
    }),
  );
  results.push(
    await measure('engine + fifo devices', 'ios/s', () =>
      summarise(
        'engine + fifo devices',
        'ios/s',
        timeReplay(ios, () => [new FifoDevice(), new FifoDevice(), new FifoDevice()], samples),
        { ios },
      ),
    ),
  );
  results.push(
    await measure('engine + 3 femu SSDs (baseline)', 'ios/s', () =>
      summarise(
        'engine + 3 femu SSDs (baseline)',
        'ios/s',
        timeReplay(
          ios,
          () => [0, 1, 2].map((i) => createFlashDevice({ profile: 'femu', name: `ssd${i}`, seed: i + 1 })),
          samples,
        ),
        { ios },
      ),
    ),
  );
  return { suite: 'simulator', results: withRatios(results, 'engine + fifo devices') };
}

/** Peak RSS of a replay of `ios` streamed I/Os (run in a fresh process by the bench command). */
export function replayMemoryChild(ios: number): { ios: number; maxRssBytes: number; seconds: number } {
  const devices = [0, 1, 2].map((i) => createFlashDevice({ profile: 'femu', name: `ssd${i}`, seed: i + 1 }));
  const started = performance.now();
  const read = new LatencyRecorder();
  const result = replay(benchArrivals(ios), { devices, policy: baselinePolicy(), readLatency: read });
  return {
    ios: result.ios,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    seconds: (performance.now() - started) / 1000,
  };
}
