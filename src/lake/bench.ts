import type { Worker } from 'node:worker_threads';
import { LakeError } from '../errors.js';
import { LakeLib } from './lib/lake-lib.js';
import { CHECK_SCHEMA, verifyCheckReader } from './registry/capture-check.js';
import { CaptureRing } from './registry/capture-ring.js';
import { PRODUCER_GO, PRODUCER_STOP, type ProducerData, producerWord } from './registry/producer-protocol.js';
import { spawnWorker } from './spawn-worker.js';

/** Percentiles of a set of timings, in microseconds. */
export interface TimingSummary {
  samples: number;
  medianUs: number;
  p90Us: number;
  p99Us: number;
  meanUs: number;
  minUs: number;
}

export interface RemotingBench {
  /** Round trip of a no-op sync lakeLib call with both sides spinning first (lakeD hot). */
  spinThenSleep: TimingSummary;
  /** The same with spinning off on both sides: every call pays two Atomics.wait wake-ups. */
  sleepOnly: TimingSummary;
  /** Cost of the timer read around each call, already included in the figures above. */
  timerOverheadUs: number;
  /** The target for spinThenSleep.medianUs. */
  targetUs: number;
  node: string;
}

export interface RegistryBench {
  producers: number;
  seconds: number;
  captures: number;
  capturesPerSecond: number;
  /** Captures a producer made that the reader never saw: must be 0. */
  lost: number;
  /** Entries that failed their checksum or pattern: must be 0. */
  torn: number;
  /** Captures refused because the ring was full (the producer retried them). */
  fullRetries: number;
  capacity: number;
  node: string;
}

function summarise(times: Float64Array): TimingSummary {
  const sorted = Float64Array.from(times).sort();
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000;
  let sum = 0;
  for (const t of sorted) sum += t;
  return {
    samples: sorted.length,
    medianUs: at(0.5),
    p90Us: at(0.9),
    p99Us: at(0.99),
    meanUs: (sum / sorted.length) * 1000,
    minUs: sorted[0]! * 1000,
  };
}

async function timeNoops(spin: boolean, calls: number): Promise<TimingSummary> {
  const lib = await LakeLib.open({ spin, arenaBytes: 1 << 20 });
  try {
    for (let i = 0; i < Math.min(2000, calls); i++) lib.noop();
    const times = new Float64Array(calls);
    for (let i = 0; i < calls; i++) {
      const start = performance.now();
      lib.noop();
      times[i] = performance.now() - start;
    }
    return summarise(times);
  } finally {
    await lib.close();
  }
}

/**
 * LAKE's remoting benchmark: the round trip of a no-op sync call through the command ring, spin-then-sleep
 * against sleep only (medians of many calls, each timed alone).
 */
export async function benchRemoting(
  options: { calls?: number; sleepCalls?: number } = {},
): Promise<RemotingBench> {
  const calls = options.calls ?? 50_000;
  const sleepCalls = options.sleepCalls ?? 2_000;
  const spinThenSleep = await timeNoops(true, calls);
  const sleepOnly = await timeNoops(false, sleepCalls);
  const probe = new Float64Array(10_000);
  for (let i = 0; i < probe.length; i++) {
    const start = performance.now();
    probe[i] = performance.now() - start;
  }
  return {
    spinThenSleep,
    sleepOnly,
    timerOverheadUs: summarise(probe).medianUs,
    targetUs: 2,
    node: process.version,
  };
}

/**
 * Registry capture throughput: `producers` threads capture check entries into one ring as fast as they can
 * for `seconds` while this thread drains and verifies every entry; none may be lost or torn.
 */
export async function benchRegistry(
  options: { seconds?: number; producers?: number; capacity?: number } = {},
): Promise<RegistryBench> {
  const seconds = options.seconds ?? 2;
  const producers = options.producers ?? 2;
  const capacity = options.capacity ?? 1 << 16;
  const ring = CaptureRing.create(CHECK_SCHEMA, { capacity });
  const control = new Int32Array(new SharedArrayBuffer(4 * (2 + 3 * producers)));
  const workers: Worker[] = [];
  try {
    for (let p = 0; p < producers; p++) {
      const data: ProducerData = {
        ring: ring.shared(),
        control: control.buffer as SharedArrayBuffer,
        producer: p,
        count: 0,
      };
      const worker = spawnWorker(new URL('./registry/', import.meta.url), 'producer-worker', {
        workerData: data,
      });
      worker.on('error', () => {});
      workers.push(worker);
    }
    const deadline = performance.now() + 60_000;
    while (!workersAt(control, producers, 1)) {
      if (performance.now() > deadline)
        throw new LakeError('LAKE_E_WORKER_CRASH', 'benchRegistry: producers did not start');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const next = new Array<number>(producers).fill(0);
    let torn = 0;
    let outOfOrder = 0;
    const visit = verifyingVisitor(
      next,
      () => torn++,
      () => outOfOrder++,
    );
    const start = performance.now();
    Atomics.store(control, PRODUCER_GO, 1);
    Atomics.notify(control, PRODUCER_GO);
    const stopAt = start + seconds * 1000;
    while (performance.now() < stopAt) ring.drain(visit);
    Atomics.store(control, PRODUCER_STOP, 1);
    const finishBy = performance.now() + 10_000;
    while (!workersAt(control, producers, 2)) {
      ring.drain(visit);
      if (performance.now() > finishBy)
        throw new LakeError('LAKE_E_WORKER_CRASH', 'benchRegistry: producers did not stop');
    }
    const elapsed = (performance.now() - start) / 1000;
    while (ring.drain(visit) > 0) {}
    let captures = 0;
    let lost = 0;
    let fullRetries = 0;
    for (let p = 0; p < producers; p++) {
      const captured = Atomics.load(control, producerWord(p, 'captured'));
      captures += captured;
      lost += captured - next[p]!;
      fullRetries += Atomics.load(control, producerWord(p, 'retries'));
    }
    return {
      producers,
      seconds: elapsed,
      captures,
      capturesPerSecond: captures / elapsed,
      lost: lost + outOfOrder,
      torn,
      fullRetries,
      capacity,
      node: process.version,
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

function workersAt(control: Int32Array, producers: number, state: number): boolean {
  for (let p = 0; p < producers; p++)
    if (Atomics.load(control, producerWord(p, 'ready')) !== state) return false;
  return true;
}

/** A drain visitor checking that each producer's entries arrive whole and in sequence. */
export function verifyingVisitor(
  next: number[],
  onTorn: () => void,
  onGap: () => void,
): Parameters<CaptureRing['drain']>[0] {
  return (entry) => {
    const id = verifyCheckReader(entry);
    if (id === undefined) {
      onTorn();
      return;
    }
    if (next[id.producer] !== id.seq) onGap();
    next[id.producer] = id.seq + 1;
  };
}
