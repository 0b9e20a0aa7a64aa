import { execFileSync } from 'node:child_process';
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

/**
 * Arrivals held in memory as columns, as a trace file's reader hands them over in batches: generating or
 * parsing them is not the simulator's work, so the replays below iterate over these.
 */
export interface ArrivalColumns {
  readonly count: number;
  readonly arrivalMs: Float64Array;
  readonly device: Int32Array;
  readonly offset: Float64Array;
  readonly size: Float64Array;
  readonly read: Uint8Array;
}

export function arrivalColumns(ios: number, seed = 1): ArrivalColumns {
  const columns = {
    count: 0,
    arrivalMs: new Float64Array(ios),
    device: new Int32Array(ios),
    offset: new Float64Array(ios),
    size: new Float64Array(ios),
    read: new Uint8Array(ios),
  };
  let n = 0;
  for (const r of benchArrivals(ios, seed)) {
    columns.arrivalMs[n] = r.arrivalMs;
    columns.device[n] = r.device;
    columns.offset[n] = r.offset;
    columns.size[n] = r.size;
    columns.read[n] = r.read ? 1 : 0;
    n++;
  }
  columns.count = n;
  return columns;
}

/** The columns as records, one record object refilled each time (the engine copies what it keeps). */
export function* columnRecords(columns: ArrivalColumns, limit = columns.count): Generator<TraceRecord> {
  const record: TraceRecord = { arrivalMs: 0, device: 0, offset: 0, size: 0, read: false };
  const n = Math.min(limit, columns.count);
  for (let i = 0; i < n; i++) {
    record.arrivalMs = columns.arrivalMs[i]!;
    record.device = columns.device[i]!;
    record.offset = columns.offset[i]!;
    record.size = columns.size[i]!;
    record.read = columns.read[i] === 1;
    yield record;
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

/** Three aged femu SSDs configured as `lake simulate` configures them. */
function femuArray(): Device[] {
  return [0, 1, 2].map((i) =>
    createFlashDevice({ profile: 'femu', name: `ssd${i}`, seed: i + 1, reuseResult: true }),
  );
}

/** One replay of `arrivals` on fresh devices (made before the clock starts: preconditioning is not replay). */
function replayRate(arrivals: () => Iterable<TraceRecord>, makeDevices: () => Device[]): number {
  const devices = makeDevices();
  const read = new LatencyRecorder();
  const write = new LatencyRecorder();
  const started = performance.now();
  const result = replay(arrivals(), {
    devices,
    policy: baselinePolicy(),
    readLatency: read,
    writeLatency: write,
  });
  return result.ios / ((performance.now() - started) / 1000);
}

/**
 * Rates of `samples` timed replays after one untimed warm-up replay of a fifth of the I/Os (so that the
 * figures are of optimised code, not of the JIT's first tiers; tinybench warms up the same way).
 */
function timeReplay(
  arrivals: (limit?: number) => Iterable<TraceRecord>,
  ios: number,
  makeDevices: () => Device[],
  samples: number,
): number[] {
  replayRate(() => arrivals(Math.ceil(ios / 5)), makeDevices);
  const rates: number[] = [];
  for (let s = 0; s < samples; s++) rates.push(replayRate(() => arrivals(), makeDevices));
  return rates;
}

/**
 * Simulated I/Os per wall-clock second for the 3-device array under baseline (Azure on each device), beside
 * the workload generator alone and the engine on model-free FIFO devices (the reference, same run). The
 * simulator figures replay arrivals held in memory; "end to end" also generates them while replaying.
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
  const columns = arrivalColumns(ios);
  const inMemory = (limit?: number) => columnRecords(columns, limit);
  const fifo = () => [new FifoDevice(), new FifoDevice(), new FifoDevice()];
  results.push(
    await measure('engine + fifo devices', 'ios/s', () =>
      summarise('engine + fifo devices', 'ios/s', timeReplay(inMemory, ios, fifo, samples), { ios }),
    ),
  );
  results.push(
    await measure('engine + 3 femu SSDs (baseline)', 'ios/s', () =>
      summarise('engine + 3 femu SSDs (baseline)', 'ios/s', timeReplay(inMemory, ios, femuArray, samples), {
        ios,
      }),
    ),
  );
  results.push(
    await measure('end to end: generator + engine + 3 femu SSDs', 'ios/s', () =>
      summarise(
        'end to end: generator + engine + 3 femu SSDs',
        'ios/s',
        timeReplay((limit) => benchArrivals(limit ?? ios), ios, femuArray, samples),
        { ios },
      ),
    ),
  );
  return { suite: 'simulator', results: withRatios(results, 'engine + fifo devices') };
}

/** Peak RSS of a replay of `ios` streamed I/Os (run in a fresh process by the bench command). */
export function replayMemoryChild(ios: number): { ios: number; maxRssBytes: number; seconds: number } {
  const devices = femuArray();
  const started = performance.now();
  const read = new LatencyRecorder();
  const result = replay(benchArrivals(ios), { devices, policy: baselinePolicy(), readLatency: read });
  return {
    ios: result.ios,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * Peak memory of streamed replays of 1 M and 10 M I/Os, each in a fresh process (Node run with
 * `childArgs(ios)`, which prints replayMemoryChild's result as its last line): flat memory means the 10 M
 * run's peak is close to the 1 M run's.
 */
export async function memorySuite(childArgs: (ios: number) => string[]): Promise<BenchSuite> {
  const results: BenchResult[] = [];
  for (const ios of [1_000_000, 10_000_000]) {
    const out = execFileSync(process.execPath, childArgs(ios), {
      maxBuffer: 1 << 20,
    }).toString();
    const child = JSON.parse(out.trim().split('\n').pop() ?? '{}') as {
      ios: number;
      maxRssBytes: number;
      seconds: number;
    };
    results.push({
      name: `peak RSS, ${ios.toLocaleString('en-US')} I/Os streamed`,
      unit: 'bytes',
      median: child.maxRssBytes,
      min: child.maxRssBytes,
      max: child.maxRssBytes,
      samples: 1,
      details: { ios: child.ios, seconds: child.seconds, iosPerSecond: child.ios / child.seconds },
      state: 'completed',
    });
  }
  const base = results[0]!.median;
  return {
    suite: 'memory',
    results: results.map((r) => ({ ...r, ratio: r.median / base, reference: results[0]!.name })),
  };
}
