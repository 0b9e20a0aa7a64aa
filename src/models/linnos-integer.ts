import { LakeError } from '../errors.js';
import type { DenseModel } from './dense.js';

/**
 * The integer form of a LinnOS model, as the kernel module and its weight headers hold it (REFERENCE.md
 * section 6). Every number is an integer held exactly in a double.
 *
 * Scaling, per layer l (0 = first):
 * - weights: round(w * 1000) in every layer;
 * - bias: round(b * 1000) in layer 0 (its inputs are unscaled digits, so its sums are at scale 1e3);
 *   round(b * 1e6) in every later layer (inputs at scale 1e3 times weights at 1e3);
 * - the output of a hidden layer after the first (NN+1, NN+2) is rescaled from 1e6 back to 1e3 by C integer
 *   division by 1000 (truncation toward zero), applied after the ReLU, so its operand is never negative.
 *   LinnOS itself has no such layer and rescales nothing; this is lake's extension, chosen so that every
 *   hidden activation is at scale 1e3 and every layer's bias at 1e6, whatever the depth.
 * The outputs are therefore always at scale 1e6. The decision is slow iff o[1] > o[0] (a tie is fast).
 * Rounding is half away from zero (C's lround), the same for positive and negative values.
 */
export interface LinnosIntegerLayer {
  inputs: number;
  outputs: number;
  /** outputs x inputs, row-major: weights[o * inputs + i]; integers. */
  weights: Float64Array;
  /** outputs; integers. */
  bias: Float64Array;
}

export interface LinnosIntegerModel {
  kind: 'linnos-integer';
  layers: LinnosIntegerLayer[];
}

export const WEIGHT_SCALE = 1000;
export const FIRST_BIAS_SCALE = 1000;
export const LATER_BIAS_SCALE = 1_000_000;
/** Divisor that brings a hidden layer after the first back from scale 1e6 to 1e3. */
export const HIDDEN_RESCALE = 1000;
/** The outputs of every integer model are at this scale (logit = output / OUTPUT_SCALE). */
export const OUTPUT_SCALE = 1_000_000;
/** The largest value the first layer's inputs may take (decimal digits). */
export const MAX_DIGIT = 9;

/** C's lround: half away from zero; never -0 (integers have none). */
export function roundHalfAwayFromZero(value: number): number {
  const rounded = value < 0 ? -Math.round(-value) : Math.round(value);
  return rounded === 0 ? 0 : rounded;
}

export function biasScale(layerIndex: number): number {
  return layerIndex === 0 ? FIRST_BIAS_SCALE : LATER_BIAS_SCALE;
}

/** Quantise a float model the LinnOS way. */
export function quantizeLinnos(model: DenseModel): LinnosIntegerModel {
  return {
    kind: 'linnos-integer',
    layers: model.layers.map((layer, l) => ({
      inputs: layer.inputs,
      outputs: layer.outputs,
      weights: Float64Array.from(layer.weights, (w) => roundHalfAwayFromZero(w * WEIGHT_SCALE)),
      bias: Float64Array.from(layer.bias, (b) => roundHalfAwayFromZero(b * biasScale(l))),
    })),
  };
}

/** The float model an integer model stands for (weights / 1000, biases / 1000 or / 1e6), as float32. */
export function dequantizeLinnos(model: LinnosIntegerModel): DenseModel {
  return {
    layers: model.layers.map((layer, l) => ({
      inputs: layer.inputs,
      outputs: layer.outputs,
      weights: Float32Array.from(layer.weights, (w) => w / WEIGHT_SCALE),
      bias: Float32Array.from(layer.bias, (b) => b / biasScale(l)),
    })),
  };
}

/**
 * An upper bound on the magnitude of every product and partial sum the integer forward pass can form for
 * inputs that are digits 0-9: per unit, the sum of |bias| and |input bound| x |weight| over its inputs, taking
 * as input bound 9 for the first layer and the previous layer's bound after it (divided by 1000 after hidden
 * layers past the first). Each partial sum is at most this, so when the bound is below 2^53 every operation
 * of the forward pass is exact in doubles, and also far below the 2^63 of the C `long` the kernel uses, so the
 * result equals C's bit for bit. For the artifact models it is ~3e11; a float model needs weights beyond
 * ~|w| = 1e4 to come near 2^53.
 */
export function integerMagnitudeBound(model: LinnosIntegerModel): number {
  let inputBound = new Float64Array(model.layers[0]?.inputs ?? 0).fill(MAX_DIGIT);
  let worst = 0;
  model.layers.forEach((layer, l) => {
    const outputBound = new Float64Array(layer.outputs);
    for (let o = 0; o < layer.outputs; o++) {
      let sum = Math.abs(layer.bias[o]!);
      const row = o * layer.inputs;
      for (let i = 0; i < layer.inputs; i++) sum += inputBound[i]! * Math.abs(layer.weights[row + i]!);
      worst = Math.max(worst, sum);
      outputBound[o] = l > 0 && l < model.layers.length - 1 ? Math.trunc(sum / HIDDEN_RESCALE) : sum;
    }
    inputBound = outputBound;
  });
  return worst;
}

/** Checks shapes, that every value is an integer, and that the forward pass is exact in doubles. */
export function validateIntegerModel(model: LinnosIntegerModel, source = 'integer model'): void {
  const fail = (message: string): never => {
    throw new LakeError('LAKE_E_MODEL_FORMAT', `${source}: ${message}`);
  };
  if (model.layers.length < 2) fail(`has ${model.layers.length} layers; a LinnOS model has at least 2`);
  model.layers.forEach((layer, l) => {
    if (layer.weights.length !== layer.inputs * layer.outputs) {
      fail(`layer ${l}: ${layer.weights.length} weights for ${layer.outputs}x${layer.inputs}`);
    }
    if (layer.bias.length !== layer.outputs)
      fail(`layer ${l}: ${layer.bias.length} biases for ${layer.outputs}`);
    const previous = model.layers[l - 1];
    if (previous !== undefined && previous.outputs !== layer.inputs) {
      fail(`layer ${l} takes ${layer.inputs} inputs but layer ${l - 1} gives ${previous.outputs}`);
    }
    for (const value of layer.weights) if (!Number.isSafeInteger(value)) fail(`layer ${l}: weight ${value}`);
    for (const value of layer.bias) if (!Number.isSafeInteger(value)) fail(`layer ${l}: bias ${value}`);
  });
  const bound = integerMagnitudeBound(model);
  if (bound > Number.MAX_SAFE_INTEGER) {
    fail(`sums may reach ${bound.toExponential(3)}, beyond 2^53: the integer path would not be exact`);
  }
}

export function isLinnosIntegerModel(model: DenseModel | LinnosIntegerModel): model is LinnosIntegerModel {
  return (model as LinnosIntegerModel).kind === 'linnos-integer';
}
