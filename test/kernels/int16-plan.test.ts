import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPredictor } from '../../src/kernels/create.js';
import { type Int16Plan, padTo32, planInt16 } from '../../src/kernels/wasm/int16-plan.js';
import type { DenseModel } from '../../src/models/dense.js';
import { Random } from '../../src/random.js';
import { floatForward, randomModel, uniformDigits } from './helpers.js';

/** For each first-layer unit, the digit vector that maximises (or minimises) its pre-activation. */
function extremeVectors(model: DenseModel): Uint8Array[] {
  const { inputs, outputs, weights } = model.layers[0]!;
  const vectors: Uint8Array[] = [];
  for (let j = 0; j < outputs; j++) {
    for (const sign of [1, -1]) {
      vectors.push(
        Uint8Array.from({ length: inputs }, (_, i) => (sign * weights[j * inputs + i]! > 0 ? 9 : 0)),
      );
    }
  }
  return vectors;
}

test('layer 0: every unit sum for every digit vector fits int16 (checked at the extremes)', () => {
  const model = randomModel(3, [31, 256, 2]);
  // Make some units extreme: huge, tiny and all-zero weights.
  const w = model.layers[0]!.weights;
  for (let i = 0; i < 31; i++) {
    w[i] = 50 * (i % 2 === 0 ? 1 : -1);
    w[31 + i] = 1e-6;
    w[62 + i] = 0;
  }
  model.layers[0]!.bias[2] = 0;
  const plan = planInt16(model);
  const width = plan.width0;
  assert.equal(width, 256);
  for (const x of extremeVectors(model)) {
    for (let j = 0; j < 256; j++) {
      let sum = plan.bias0[j]!;
      for (let i = 0; i < 31; i++) sum += plan.table[(i * 10 + x[i]!) * width + j]!;
      assert.ok(sum >= -32768 && sum <= 32767, `unit ${j}: ${sum}`);
    }
  }
  // The extreme model still serves: logits within 1% of their scale (unit 0, 300x wider than the others,
  // coarsens the output layer's single scale). A dead unit, such as unit 2, once limited that scale for all
  // the others (errors of 15%); this caught it.
  const js = createPredictor(model, { backend: 'js' });
  const wasm = createPredictor(model, { backend: 'wasm' });
  const a = new Float64Array(2);
  const b = new Float64Array(2);
  for (const x of extremeVectors(model)) {
    js.scores(x, a);
    wasm.scores(x, b);
    const scale = 1 + Math.abs(a[0]!) + Math.abs(a[1]!);
    assert.ok(
      Math.abs(a[0]! - b[0]!) / scale < 1e-2 && Math.abs(a[1]! - b[1]!) / scale < 1e-2,
      `${[...a]} vs ${[...b]}`,
    );
  }
  js.dispose();
  wasm.dispose();
});

/**
 * The plan executed in plain integers, as dense-int16.wat does it, tracking the largest partial sum:
 * layer 0 in exact integers (then checked to lie in int16), later layers with int32 accumulators, the
 * arithmetic shift, saturation to int16 and ReLU.
 */
function emulate(
  plan: Int16Plan,
  x: Uint8Array,
): { outputs: number[]; largestSum: number; largestLayer0: number } {
  let largestSum = 0;
  let largestLayer0 = 0;
  let h: number[] = [];
  for (let j = 0; j < plan.width0; j++) {
    let sum = plan.bias0[j]!;
    for (let i = 0; i < plan.inputs; i++) sum += plan.table[(i * 10 + x[i]!) * plan.width0 + j]!;
    largestLayer0 = Math.max(largestLayer0, Math.abs(sum));
    h.push(Math.max(0, sum));
  }
  for (const layer of plan.hidden) {
    const next: number[] = [];
    for (let j = 0; j < layer.outputs; j++) {
      let sum = layer.bias[j]!;
      let magnitude = Math.abs(sum);
      for (let k = 0; k < layer.inputs; k++) {
        sum += h[k]! * layer.weights[j * layer.inputs + k]!;
        magnitude += Math.abs(h[k]! * layer.weights[j * layer.inputs + k]!);
      }
      largestSum = Math.max(largestSum, magnitude);
      next.push(Math.max(0, Math.min(32767, Math.floor(sum / 2 ** layer.shift))));
    }
    h = next;
  }
  const outputs = [0, 1].map((c) => {
    let sum = plan.outputBias[c]!;
    let magnitude = Math.abs(sum);
    for (let k = 0; k < plan.outputInputs; k++) {
      sum += h[k]! * plan.outputWeights[c * plan.outputInputs + k]!;
      magnitude += Math.abs(h[k]! * plan.outputWeights[c * plan.outputInputs + k]!);
    }
    largestSum = Math.max(largestSum, magnitude);
    return sum;
  });
  return { outputs, largestSum, largestLayer0 };
}

test('the kernel computes exactly the planned integer arithmetic, and no sum leaves int16/int32', () => {
  const random = new Random(12);
  for (const sizes of [
    [31, 256, 2],
    [31, 256, 256, 2],
    [31, 256, 256, 256, 2],
    [31, 40, 70, 2],
  ]) {
    const model = randomModel(sizes.length + 7, sizes);
    const plan = planInt16(model);
    const wasm = createPredictor(model, { backend: 'wasm' });
    const vectors = [
      ...extremeVectors(model).slice(0, 64),
      ...Array.from({ length: 30 }, () => uniformDigits(random.int(1000), 1)),
    ];
    const raw = new Float64Array(2);
    for (const x of vectors) {
      const expected = emulate(plan, x);
      assert.ok(expected.largestLayer0 <= 32767, `${sizes}: layer 0 reaches ${expected.largestLayer0}`);
      assert.ok(expected.largestSum <= 2 ** 31 - 1, `${sizes}: a sum reaches ${expected.largestSum}`);
      wasm.rawScores(x, raw);
      assert.deepEqual([...raw], expected.outputs);
    }
    wasm.dispose();
  }
});

test('adversarial inputs: all-nine and all-zero vectors and random extremes agree with the float model', () => {
  const random = new Random(77);
  for (const sizes of [
    [31, 256, 2],
    [31, 256, 256, 2],
    [31, 256, 256, 256, 2],
  ]) {
    const model = randomModel(sizes.length + 40, sizes);
    const wasm = createPredictor(model, { backend: 'wasm' });
    const vectors = [new Uint8Array(31).fill(9), new Uint8Array(31)];
    for (let v = 0; v < 50; v++)
      vectors.push(Uint8Array.from({ length: 31 }, () => (random.next() < 0.5 ? 0 : 9)));
    const scores = new Float64Array(2);
    for (const x of vectors) {
      const expected = floatForward(model, x);
      wasm.scores(x, scores);
      const scale = 1 + Math.abs(expected[0]!) + Math.abs(expected[1]!);
      // Saturation may clip hidden units beyond 4x the calibrated range: a bounded, not a wrapped, error.
      assert.ok(
        Math.abs(scores[0]! - expected[0]!) / scale < 0.05,
        `${sizes}: ${scores[0]} vs ${expected[0]}`,
      );
      assert.ok(
        Math.abs(scores[1]! - expected[1]!) / scale < 0.05,
        `${sizes}: ${scores[1]} vs ${expected[1]}`,
      );
    }
    wasm.dispose();
  }
});

test('calibration vectors can be supplied and are used', () => {
  const model = randomModel(8, [31, 256, 256, 2]);
  const uniform = planInt16(model);
  const zeros = planInt16(model, new Uint8Array(31 * 4));
  // All-zero calibration sees only the biases: the shift differs from the default's.
  assert.notEqual(zeros.hidden[0]!.shift, uniform.hidden[0]!.shift);
  const xs = uniformDigits(5, 200);
  const predictor = createPredictor(model, { backend: 'wasm', calibration: xs });
  const js = createPredictor(model, { backend: 'js' });
  let same = 0;
  for (let v = 0; v < 200; v++) {
    const x = xs.subarray(v * 31, (v + 1) * 31);
    if (predictor.predict(x) === js.predict(x)) same++;
  }
  assert.ok(same >= 198, `${same} of 200`);
  predictor.dispose();
  js.dispose();
});

test('padding widths', () => {
  assert.deepEqual([1, 31, 32, 33, 256, 257].map(padTo32), [32, 32, 32, 64, 256, 288]);
  const plan = planInt16(randomModel(2, [30, 40, 2]));
  assert.equal(plan.inputPositions, 30);
  assert.equal(plan.width0, 64);
  assert.equal(planInt16(randomModel(2, [31, 40, 2])).inputPositions, 32);
});
