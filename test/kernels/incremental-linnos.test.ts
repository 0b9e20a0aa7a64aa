import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeviceState } from '../../src/array/device-state.js';
import { LakeError } from '../../src/errors.js';
import { createPredictor } from '../../src/kernels/create.js';
import { createIncrementalPredictor, type IncrementalBackend } from '../../src/kernels/incremental.js';
import type { Backend } from '../../src/kernels/types.js';
import { LINNOS_FEATURES, linnosFeatures } from '../../src/linnos/features.js';
import { LINNOS_SUBMIT_POSITIONS, LinnosSubmitPath, NO_HISTORY } from '../../src/linnos/incremental.js';
import { Random } from '../../src/random.js';
import { randomModel, realisticDigits } from './helpers.js';

const pairs: [IncrementalBackend, Backend][] = [
  ['exact', 'exact'],
  ['wasm', 'wasm'],
  ['int16-js', 'wasm'],
];

/**
 * A seeded stream of submits and completions on two devices (reads and writes, sizes 4-256 KiB); before each
 * read's submit the submit path's decision must equal the full predictor's on the linnosFeatures vector. With
 * `observe`, completions update the context as the policy's onReadComplete would; without, predict catches up.
 */
function replay(
  backend: IncrementalBackend,
  full: Backend,
  observe: boolean,
): { predicted: number; slow: number } {
  const model = randomModel(91, [31, 256, 2], realisticDigits(92, 400));
  const reference = createPredictor(model, { backend: full });
  const incremental = createIncrementalPredictor(model, {
    backend,
    submitPositions: LINNOS_SUBMIT_POSITIONS,
    contexts: 2,
  });
  const paths = [new LinnosSubmitPath(incremental, 0), new LinnosSubmitPath(incremental, 1)];
  const devices = [new DeviceState(0), new DeviceState(1)];
  const random = new Random(93);
  const inFlight: { device: number; read: boolean; bytes: number; pending: number; at: number }[] = [];
  const vector = new Uint8Array(LINNOS_FEATURES);
  let predicted = 0;
  let slow = 0;
  for (let step = 0; step < 4000; step++) {
    if (inFlight.length > 0 && (random.next() < 0.48 || inFlight.length > 300)) {
      const io = inFlight.splice(random.int(inFlight.length), 1)[0]!;
      devices[io.device]!.complete(io.read, io.bytes, io.pending, random.lognormal(5, 1.2), step);
      if (observe && io.read) paths[io.device]!.observe(devices[io.device]!);
      continue;
    }
    const device = random.int(2);
    const read = random.next() < 0.7;
    const bytes = 4096 * (1 + random.int(64));
    const view = devices[device]!;
    if (read) {
      const decision = paths[device]!.predict(view, bytes);
      if (linnosFeatures(view, bytes, vector)) {
        assert.equal(decision, reference.predict(vector), `step ${step}`);
        predicted++;
        slow += decision === 1 ? 1 : 0;
      } else {
        assert.equal(decision, NO_HISTORY);
      }
    }
    inFlight.push({ device, read, bytes, pending: view.submit(bytes), at: step });
  }
  reference.dispose();
  incremental.dispose();
  return { predicted, slow };
}

for (const [backend, full] of pairs) {
  for (const observe of [true, false]) {
    test(`LinnosSubmitPath (${backend}) decides as the full ${full} forward, ${observe ? 'with' : 'without'} observe`, () => {
      const { predicted, slow } = replay(backend, full, observe);
      assert.ok(predicted > 1000, `${predicted} reads predicted`);
      assert.ok(slow > predicted * 0.05 && slow < predicted * 0.95, `${slow} of ${predicted} predicted slow`);
    });
  }
}

test("a new view (a new replay) is never served from the previous one's context", () => {
  const model = randomModel(5, [31, 64, 2], realisticDigits(6, 200));
  const reference = createPredictor(model, { backend: 'exact' });
  const incremental = createIncrementalPredictor(model, {
    backend: 'exact',
    submitPositions: LINNOS_SUBMIT_POSITIONS,
  });
  const path = new LinnosSubmitPath(incremental);
  const vector = new Uint8Array(31);
  const [expected, actual] = [new Float64Array(2), new Float64Array(2)];
  for (const latency of [100, 9000]) {
    const view = new DeviceState(0);
    for (let k = 0; k < 4; k++) view.complete(true, 4096, view.submit(4096) + k * 50, latency + k, k);
    linnosFeatures(view, 8192, vector);
    assert.equal(path.predict(view, 8192), reference.predict(vector));
    // The context is the one predict used: its raw outputs are the full forward's for this view.
    reference.rawScores(vector, expected);
    incremental.rawScores(0, vector.subarray(12, 15), actual);
    assert.deepEqual(actual, expected);
  }
});

test('a submit path needs a predictor split at pend_now', () => {
  const model = randomModel(5, [31, 32, 2]);
  const wrong = createIncrementalPredictor(model, { backend: 'exact', submitPositions: [12, 13] });
  assert.throws(
    () => new LinnosSubmitPath(wrong),
    (e: unknown) => e instanceof LakeError && e.code === 'LAKE_E_USAGE' && /pend_now/.test(e.message),
  );
});
