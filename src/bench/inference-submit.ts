/**
 * The submit step of incremental inference (kernels/incremental.ts) at batch 1, beside the full forwards of
 * inference.ts: what LinnOS adds to a read's submit once the first-layer sums of the device's last four
 * completions are kept up to date when reads complete.
 *
 * - `linnos submit path wasm batch 1`: LinnosSubmitPath.predict on a live DeviceState (pend_now from the
 *   view's pending pages, digits written, the kernel's submit step), 4 devices in turn, pending pages from
 *   the pool's pend_now values: the cost the online policy's admit would pay.
 * - `incremental <backend> submit batch 1`: the kernel's submit step alone (predictDigits, the 3 digits
 *   given), 4 contexts.
 * - `incremental wasm context update`: the work moved off the submit path, per completed read.
 * Before timing, each is checked against the full forward on every vector of the pool (raw outputs equal;
 * the LinnOS path: decisions equal); a disagreement makes the row errored instead of timed.
 */
import { DeviceState } from '../array/device-state.js';
import { createPredictor } from '../kernels/create.js';
import { createIncrementalPredictor, type IncrementalBackend } from '../kernels/incremental.js';
import type { IncrementalPredictor } from '../kernels/incremental-types.js';
import type { Backend } from '../kernels/types.js';
import { decodeLinnosVector, LINNOS_FEATURES, linnosFeatures } from '../linnos/features.js';
import { LINNOS_SUBMIT_POSITIONS, LinnosSubmitPath } from '../linnos/incremental.js';
import type { DenseModel } from '../models/dense.js';
import type { BenchResult } from './harness.js';
import { type BenchClock, timeCalls, timedResult } from './inference-timing.js';

/** Devices (contexts) the submit step cycles through. */
const DEVICES = 4;
const ARRIVING_BYTES = 4096;

export function submitPathResults(
  model: DenseModel,
  pool: Uint8Array,
  samples: number,
  runMs: number,
  clock: BenchClock,
): BenchResult[] {
  const results: BenchResult[] = [
    timedResult(
      'linnos submit path wasm batch 1',
      'ns/prediction',
      { backend: 'wasm', batch: 1, step: 'submit-path' },
      () => timeLinnosPath(model, pool, samples, runMs, clock),
    ),
  ];
  const pairs: [IncrementalBackend, Backend][] = [
    ['wasm', 'wasm'],
    ['int16-js', 'wasm'],
    ['exact', 'exact'],
  ];
  for (const [backend, full] of pairs) {
    results.push(
      timedResult(
        `incremental ${backend} submit batch 1`,
        'ns/prediction',
        { backend, batch: 1, step: 'submit' },
        () => timeSubmitStep(model, pool, backend, full, samples, runMs, clock),
      ),
    );
  }
  results.push(
    timedResult('incremental wasm context update', 'ns/update', { backend: 'wasm', step: 'update' }, () =>
      timeContextUpdate(model, pool, samples, runMs, clock),
    ),
  );
  return results;
}

/** LinnOS's submit split of `model` (its last 3 inputs arrive with the read), one context per device. */
function linnosIncremental(model: DenseModel, backend: IncrementalBackend): IncrementalPredictor {
  return createIncrementalPredictor(model, {
    backend,
    submitPositions: LINNOS_SUBMIT_POSITIONS,
    contexts: DEVICES,
  });
}

function vectorsOf(pool: Uint8Array): Uint8Array[] {
  return Array.from({ length: pool.length / LINNOS_FEATURES }, (_, v) =>
    pool.subarray(v * LINNOS_FEATURES, (v + 1) * LINNOS_FEATURES),
  );
}

function timeSubmitStep(
  model: DenseModel,
  pool: Uint8Array,
  backend: IncrementalBackend,
  fullBackend: Backend,
  samples: number,
  runMs: number,
  clock: BenchClock,
): number[] {
  const full = createPredictor(model, { backend: fullBackend });
  const incremental = linnosIncremental(model, backend);
  try {
    const vectors = vectorsOf(pool);
    const submits = vectors.map((x) => x.subarray(12, 15));
    const [expected, actual] = [new Float64Array(2), new Float64Array(2)];
    vectors.forEach((x, v) => {
      full.rawScores(x, expected);
      incremental.setContext(v % DEVICES, x);
      incremental.rawScores(v % DEVICES, submits[v]!, actual);
      if (actual[0] !== expected[0] || actual[1] !== expected[1]) {
        throw new Error(
          `vector ${v}: incremental ${backend} (${actual.join(', ')}) != full ${fullBackend} (${expected.join(', ')})`,
        );
      }
    });
    const n = vectors.length;
    const run = (calls: number): number => {
      let sink = 0;
      for (let c = 0; c < calls; c++) {
        const at = (c % n) * LINNOS_FEATURES;
        sink += incremental.predictDigits(c & (DEVICES - 1), pool[at + 12]!, pool[at + 13]!, pool[at + 14]!);
      }
      return sink;
    };
    return timeCalls(run, 1, samples, runMs, clock);
  } finally {
    full.dispose();
    incremental.dispose();
  }
}

function timeContextUpdate(
  model: DenseModel,
  pool: Uint8Array,
  samples: number,
  runMs: number,
  clock: BenchClock,
): number[] {
  const incremental = linnosIncremental(model, 'wasm');
  try {
    const vectors = vectorsOf(pool);
    const n = vectors.length;
    const run = (calls: number): number => {
      for (let c = 0; c < calls; c++) incremental.setContext(c & (DEVICES - 1), vectors[c % n]!);
      return 0;
    };
    return timeCalls(run, 1, samples, runMs, clock);
  } finally {
    incremental.dispose();
  }
}

/** Devices whose last four completions are those of pool vectors 0..3, each with nothing pending. */
function devicesFromPool(vectors: Uint8Array[]): DeviceState[] {
  return Array.from({ length: DEVICES }, (_, d) => {
    const values = decodeLinnosVector(vectors[d]!);
    const device = new DeviceState(d);
    for (let k = 0; k < 4; k++) {
      device.submit(ARRIVING_BYTES);
      device.complete(true, ARRIVING_BYTES, values[k]!, values[5 + k]!, k);
    }
    return device;
  });
}

function timeLinnosPath(
  model: DenseModel,
  pool: Uint8Array,
  samples: number,
  runMs: number,
  clock: BenchClock,
): number[] {
  const full = createPredictor(model, { backend: 'wasm' });
  const incremental = linnosIncremental(model, 'wasm');
  try {
    const vectors = vectorsOf(pool);
    const devices = devicesFromPool(vectors);
    const paths = devices.map((device) => {
      const path = new LinnosSubmitPath(incremental, device.device);
      path.observe(device);
      return path;
    });
    // Pages pending before the arriving read: the pool's pend_now less the read itself.
    const pending = Int32Array.from(vectors, (x) => Math.max(0, decodeLinnosVector(x)[4]! - 1));
    const n = pending.length;
    const vector = new Uint8Array(LINNOS_FEATURES);
    for (let c = 0; c < n; c++) {
      const device = devices[c & (DEVICES - 1)]!;
      device.pendingPages = pending[c]!;
      linnosFeatures(device, ARRIVING_BYTES, vector);
      const decision = paths[c & (DEVICES - 1)]!.predict(device, ARRIVING_BYTES);
      if (decision !== full.predict(vector))
        throw new Error(`pool vector ${c}: the submit path disagrees with the full forward`);
    }
    const run = (calls: number): number => {
      let sink = 0;
      for (let c = 0; c < calls; c++) {
        const d = c & (DEVICES - 1);
        const device = devices[d]!;
        device.pendingPages = pending[c % n]!;
        sink += paths[d]!.predict(device, ARRIVING_BYTES);
      }
      return sink;
    };
    return timeCalls(run, 1, samples, runMs, clock);
  } finally {
    full.dispose();
    incremental.dispose();
  }
}
