import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { createPredictor } from '../../src/kernels/create.js';
import type { BackendChoice } from '../../src/kernels/types.js';
import { WasmInt16Predictor } from '../../src/kernels/wasm/int16-predictor.js';
import { wasmAvailable } from '../../src/kernels/wasm/module.js';
import { randomModel, uniformDigits } from './helpers.js';

const model = randomModel(5, [31, 64, 2]);
const x = uniformDigits(6, 1);

test('WebAssembly SIMD is available on Node 20, so auto picks wasm', () => {
  assert.equal(wasmAvailable(), true);
  const predictor = createPredictor(model);
  assert.equal(predictor.backend, 'wasm');
  predictor.dispose();
});

test('wasm predictor used before init: a clear error, then it works after init()', () => {
  const predictor = new WasmInt16Predictor(model);
  assert.equal(predictor.initialized, false);
  assert.throws(
    () => predictor.predict(x),
    (error: unknown) =>
      error instanceof LakeError && error.code === 'LAKE_E_USAGE' && /before init\(\)/.test(error.message),
  );
  assert.throws(() => predictor.predictBatch(x, 1, new Uint8Array(1)), /before init\(\)/);
  predictor.init();
  predictor.init(); // idempotent
  const reference = createPredictor(model, { backend: 'js' });
  assert.equal(predictor.predict(x), reference.predict(x));
  predictor.dispose();
  assert.throws(() => predictor.init(), /used after dispose/);
  assert.throws(() => predictor.predict(x), /used after dispose/);
});

test('each wasm predictor has its own memory: two models side by side', () => {
  const other = randomModel(99, [31, 64, 2]);
  const a = createPredictor(model, { backend: 'wasm' });
  const b = createPredictor(other, { backend: 'wasm' });
  const xs = uniformDigits(7, 500);
  const ja = createPredictor(model, { backend: 'js' });
  const jb = createPredictor(other, { backend: 'js' });
  const raw = new Float64Array(2);
  const expected = new Float64Array(2);
  for (let v = 0; v < 500; v += 50) {
    const vector = xs.subarray(v * 31, (v + 1) * 31);
    a.scores(vector, raw);
    ja.scores(vector, expected);
    assert.ok(Math.abs(raw[0]! - expected[0]!) < 1e-2);
    b.scores(vector, raw);
    jb.scores(vector, expected);
    assert.ok(Math.abs(raw[1]! - expected[1]!) < 1e-2);
  }
  for (const p of [a, b, ja, jb]) p.dispose();
});

test('batches larger than the WASM batch area are processed in chunks', () => {
  const predictor = createPredictor(model, { backend: 'wasm' });
  const n = 9000;
  const xs = uniformDigits(8, n);
  const out = new Uint8Array(n);
  predictor.predictBatch(xs, n, out);
  for (const v of [0, 4095, 4096, 8191, 8192, 8999]) {
    assert.equal(out[v], predictor.predict(xs.subarray(v * 31, (v + 1) * 31)), `vector ${v}`);
  }
  predictor.dispose();
});

test('option and model checks', () => {
  assert.throws(
    () => createPredictor(model, { backend: 'gpu' as BackendChoice }),
    /options.backend must be one of js, wasm, exact, auto, got gpu/,
  );
  const threeClasses = randomModel(1, [31, 16, 3]);
  for (const backend of ['js', 'wasm', 'exact'] as const) {
    assert.throws(
      () => createPredictor(threeClasses, { backend }),
      (error: unknown) =>
        error instanceof LakeError && error.code === 'LAKE_E_MODEL_FORMAT' && /2 outputs/.test(error.message),
    );
  }
  const broken = randomModel(1, [31, 16, 2]);
  broken.layers[1]!.weights[3] = Number.NaN;
  assert.throws(() => createPredictor(broken, { backend: 'js' }), /layer 1: weight NaN/);
  const mismatched = randomModel(1, [31, 16, 2]);
  mismatched.layers[1] = { ...mismatched.layers[1]!, inputs: 15 };
  assert.throws(() => createPredictor(mismatched, { backend: 'wasm' }), /weights for 2x15/);
});
