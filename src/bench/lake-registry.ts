/**
 * Registry capture throughput (`lake bench registry`): producer threads capture check entries into one
 * ring while this thread drains and verifies every one.
 */
import type { Worker } from 'node:worker_threads';
import { LakeError } from '../errors.js';
import { CaptureRing } from '../lake/registry/capture-ring.js';
import { spawnWorker } from '../lake/spawn-worker.js';
import type { BenchSuite } from './harness.js';
import { CHECK_SCHEMA, verifyingVisitor } from './registry-check/capture-check.js';
import {
  PRODUCER_GO,
  PRODUCER_STOP,
  type ProducerData,
  producerWord,
} from './registry-check/producer-protocol.js';

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
      const worker = spawnWorker(new URL('./registry-check/', import.meta.url), 'producer-worker', {
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

/** The `registry` suite: one row, errored when any capture was lost or torn. */
export async function registrySuite(): Promise<BenchSuite> {
  const r = await benchRegistry();
  return {
    suite: 'registry',
    results: [
      {
        name: `captures from ${r.producers} threads`,
        unit: 'captures/s',
        median: r.capturesPerSecond,
        min: r.capturesPerSecond,
        max: r.capturesPerSecond,
        samples: 1,
        details: {
          captures: r.captures,
          lost: r.lost,
          torn: r.torn,
          fullRetries: r.fullRetries,
          seconds: r.seconds,
        },
        state: r.lost === 0 && r.torn === 0 ? 'completed' : 'errored',
        ...(r.lost === 0 && r.torn === 0 ? {} : { error: `${r.lost} lost, ${r.torn} torn` }),
      },
    ],
  };
}
