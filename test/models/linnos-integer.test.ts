import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { createPredictor } from '../../src/kernels/create.js';
import {
  dequantizeLinnos,
  integerMagnitudeBound,
  type LinnosIntegerModel,
  quantizeLinnos,
  roundHalfAwayFromZero,
  validateIntegerModel,
} from '../../src/models/linnos-integer.js';
import { randomModel } from '../kernels/helpers.js';

test('quantisation: weights and first bias x1000, later biases x1e6, half away from zero', () => {
  const model = randomModel(1, [31, 8, 8, 2]);
  model.layers[0]!.weights[0] = 0.0625; // x1000 = 62.5 exactly
  model.layers[0]!.weights[1] = -0.0625;
  model.layers[0]!.bias[0] = 1.2344;
  model.layers[2]!.bias[1] = -0.4134265;
  const integer = quantizeLinnos(model);
  assert.equal(integer.layers[0]!.weights[0], 63);
  assert.equal(integer.layers[0]!.weights[1], -63);
  assert.equal(integer.layers[0]!.bias[0], 1234);
  assert.equal(integer.layers[2]!.bias[1], roundHalfAwayFromZero(Math.fround(-0.4134265) * 1e6));
  assert.equal(integer.layers[1]!.bias[0], roundHalfAwayFromZero(model.layers[1]!.bias[0]! * 1e6));
  assert.deepEqual([2.5, -2.5, 0.49, -0.5, 0].map(roundHalfAwayFromZero), [3, -3, 0, -1, 0]);
});

test('dequantising and quantising again gives back the same integers', () => {
  const integer = quantizeLinnos(randomModel(2, [31, 256, 2]));
  const again = quantizeLinnos(dequantizeLinnos(integer));
  assert.deepEqual(again, integer);
});

test('the magnitude bound covers the sums, and a model beyond 2^53 is refused', () => {
  const model: LinnosIntegerModel = {
    kind: 'linnos-integer',
    layers: [
      { inputs: 2, outputs: 1, weights: Float64Array.from([3, -4]), bias: Float64Array.from([5]) },
      { inputs: 1, outputs: 2, weights: Float64Array.from([7, -1]), bias: Float64Array.from([2, 0]) },
    ],
  };
  // Layer 0: |5| + 9*3 + 9*4 = 68; layer 1: 68 * 7 + 2 = 478.
  assert.equal(integerMagnitudeBound(model), 478);
  validateIntegerModel(model);
  const huge = randomModel(3, [31, 64, 64, 64, 2]);
  for (const layer of huge.layers) for (let i = 0; i < layer.weights.length; i++) layer.weights[i]! *= 37;
  const integer = quantizeLinnos(huge);
  assert.ok(integerMagnitudeBound(integer) > 2 ** 53);
  assert.throws(
    () => createPredictor(integer, { backend: 'exact' }),
    (error: unknown) =>
      error instanceof LakeError &&
      error.code === 'LAKE_E_MODEL_FORMAT' &&
      /beyond 2\^53/.test(error.message),
  );
});

test('integer models are checked: integers, shapes, at least two layers', () => {
  const integer = quantizeLinnos(randomModel(4, [31, 8, 2]));
  integer.layers[1]!.weights[0] = 0.5;
  assert.throws(() => validateIntegerModel(integer, 'w_x.h'), /w_x.h: layer 1: weight 0.5/);
  const single: LinnosIntegerModel = { kind: 'linnos-integer', layers: [integer.layers[0]!] };
  assert.throws(() => validateIntegerModel(single), /has 1 layers; a LinnOS model has at least 2/);
});
