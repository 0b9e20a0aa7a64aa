import type { DenseLayer, DenseModel } from '../../models/dense.js';
import { roundHalfAwayFromZero } from '../../models/linnos-integer.js';
import { Random } from '../../random.js';

/**
 * Quantisation of a float model for dense-int16.wat.
 *
 * Scales are chosen per unit, not per layer: unit j of a layer holds r_j times its float value, and the next
 * layer divides its weight columns by r_k, so each unit uses the whole int16 range whatever the others do,
 * at no cost at run time. The output layer has one scale for both classes, which must stay comparable.
 * - Layer 0 (inputs are digits 0-9): table[i][d][j] = round(d * W[j][i] * r_j), bias round(b_j * r_j), with
 *   r_j such that the sum for every possible input lies in int16 (checked on the rounded integers).
 * - Later layers: Wq[j][k] = round(W[j][k] * r_j / r_k) in int16 and bias round(b_j * r_j) in int32, with
 *   r_j such that sum_k hmax_k |Wq[j][k]| + |bias| < 2^31 (hmax_k = the largest value unit k can take), so
 *   the int32 accumulators cannot overflow, whatever the inputs.
 * - A hidden layer then shifts its int32 sums right by one per-layer amount (adding half a step first, so it
 *   rounds) and narrows them to int16 with saturation; its scale becomes r_j / 2^shift. The worst case over
 *   all digit vectors is ~40x above what real inputs reach in a 256-wide layer, and the looseness compounds
 *   over NN+2's layers, so the shift is chosen for 4x the largest value that calibration vectors reach
 *   (default: 256 seeded uniform random digit vectors), never more than the worst case needs. A larger value
 *   saturates at 32767 instead of wrapping, and the next layer's int32 bound holds either way.
 *   Measured on seeded random models (test/kernels): decisions agree with the float model on ~99.97% of
 *   vectors for NN, ~99.7-99.95% for NN+1 and NN+2; LinnOS's own x1000 integers agree on ~99.3-99.7%.
 * Widths are padded to multiples of 32 with zero units; an odd input count gets one zero input position.
 */
export interface Int16HiddenLayer {
  /** Padded input width (a multiple of 32). */
  inputs: number;
  /** Padded output width (a multiple of 32). */
  outputs: number;
  /** outputs x inputs, row-major. */
  weights: Int16Array;
  bias: Int32Array;
  shift: number;
}

export interface Int16Plan {
  /** Digits per vector. */
  inputs: number;
  /** Input positions including the zero padding (even). */
  inputPositions: number;
  /** Padded width of layer 0 (a multiple of 32). */
  width0: number;
  /** (inputs * 10) rows of width0 values: row (i * 10 + d) = digit d at position i. */
  table: Int16Array;
  bias0: Int16Array;
  hidden: Int16HiddenLayer[];
  /** [2][outputInputs], class-major. */
  outputWeights: Int16Array;
  outputBias: Int32Array;
  /** Padded input width of the output layer. */
  outputInputs: number;
  /** logit = raw output / outputScale. */
  outputScale: number;
}

const INT16_MAX = 32767;
const INT16_MIN = -32768;
const INT32_MAX = 2147483647;
const MAX_DIGIT = 9;
/** Room kept in int32 for the rounding half-step a hidden layer adds to its bias (2^(shift-1) <= 2^15). */
const ROUNDING_HEADROOM = 2 ** 16;
/** Shrink factor when rounding pushed a bound over its limit (rare: the first scale leaves room for it). */
const SHRINK = 0.999;

export function padTo32(width: number): number {
  return Math.ceil(width / 32) * 32;
}

/**
 * The model must have been checked (checkDenseModel) and end in 2 outputs. `calibration` (digit vectors,
 * back to back) sets the shifts of hidden layers after the first; without it, seeded uniform random digits.
 */
export function planInt16(model: DenseModel, calibration?: Uint8Array): Int16Plan {
  const first = model.layers[0]!;
  const layer0 = planFirstLayer(first);
  const observed = observedMaxima(model, calibration ?? uniformCalibration(first.inputs));
  let scales = layer0.scales;
  let bounds = layer0.bounds;
  let width = layer0.width;
  const hidden: Int16HiddenLayer[] = [];
  for (const [index, layer] of model.layers.slice(1, -1).entries()) {
    const planned = planHiddenLayer(layer, scales, bounds, width, observed[index + 1]!);
    hidden.push(planned.layer);
    scales = planned.scales;
    bounds = planned.bounds;
    width = planned.layer.outputs;
  }
  const output = planOutputLayer(model.layers[model.layers.length - 1]!, scales, bounds, width);
  return {
    inputs: first.inputs,
    inputPositions: first.inputs + (first.inputs % 2),
    width0: layer0.width,
    table: layer0.table,
    bias0: layer0.bias,
    hidden,
    outputWeights: output.weights,
    outputBias: output.bias,
    outputInputs: width,
    outputScale: output.scale,
  };
}

function planFirstLayer(layer: DenseLayer) {
  const { inputs, outputs, weights, bias } = layer;
  const width = padTo32(outputs);
  const table = new Int16Array(inputs * 10 * width);
  const biasQ = new Int16Array(width);
  const scales = new Float64Array(outputs);
  const bounds = new Float64Array(outputs);
  // Each rounded term can add 1/2, so the first guess leaves that much room below the int16 limits.
  const room = INT16_MAX - 0.5 * (inputs + 1);
  for (let j = 0; j < outputs; j++) {
    let high = bias[j]!;
    let low = bias[j]!;
    for (let i = 0; i < inputs; i++) {
      const w = weights[j * inputs + i]! * MAX_DIGIT;
      if (w > 0) high += w;
      else low += w;
    }
    const range = Math.max(Math.abs(high), Math.abs(low));
    let scale = range > 0 ? room / range : 1;
    for (;;) {
      let max = roundHalfAwayFromZero(bias[j]! * scale);
      let min = max;
      for (let i = 0; i < inputs; i++) {
        // The same expression as the table entry for digit 9 below, so the bound is the entry's exact value.
        const top = roundHalfAwayFromZero(MAX_DIGIT * (weights[j * inputs + i]! * scale));
        if (top > 0) max += top;
        else min += top;
      }
      if (max <= INT16_MAX && min >= INT16_MIN) {
        bounds[j] = Math.max(0, max);
        break;
      }
      scale *= SHRINK;
    }
    scales[j] = scale;
    biasQ[j] = roundHalfAwayFromZero(bias[j]! * scale);
    for (let i = 0; i < inputs; i++) {
      const w = weights[j * inputs + i]! * scale;
      for (let d = 1; d <= MAX_DIGIT; d++) table[(i * 10 + d) * width + j] = roundHalfAwayFromZero(d * w);
    }
  }
  return { width, table, bias: biasQ, scales, bounds };
}

/**
 * The largest scale for row j of a layer fed by units with the given scales and bounds at which its weights
 * fit int16 (weightLimit) and its int32 sums, less `headroom`, cannot overflow (sumLimit), allowing for
 * rounding; quantizeRow then checks the rounded row.
 */
function rowScaleLimit(
  layer: DenseLayer,
  j: number,
  inScales: Float64Array,
  inBounds: Float64Array,
  headroom: number,
): { weightLimit: number; sumLimit: number } {
  let maxWeight = 0;
  let sum = Math.abs(layer.bias[j]!);
  let slack = 0.5;
  for (let k = 0; k < layer.inputs; k++) {
    // A unit that is always 0 (bound 0) takes no weight, so its scale must not limit the others'.
    if (inBounds[k] === 0) continue;
    const w = Math.abs(layer.weights[j * layer.inputs + k]!) / inScales[k]!;
    maxWeight = Math.max(maxWeight, w);
    sum += inBounds[k]! * w;
    slack += 0.5 * inBounds[k]!;
  }
  return {
    weightLimit: maxWeight > 0 ? INT16_MAX / maxWeight : Number.POSITIVE_INFINITY,
    sumLimit: sum > 0 ? (INT32_MAX - headroom - slack) / sum : Number.POSITIVE_INFINITY,
  };
}

/** Rounds row j at `scale` into weights (row `row` of a padded matrix of `width` columns) and bias. */
function quantizeRow(
  layer: DenseLayer,
  j: number,
  scale: number,
  inScales: Float64Array,
  inBounds: Float64Array,
  weights: Int16Array,
  row: number,
  width: number,
): { bias: number; absoluteSum: number; highest: number } {
  const bias = roundHalfAwayFromZero(layer.bias[j]! * scale);
  let absoluteSum = Math.abs(bias);
  let highest = bias;
  for (let k = 0; k < layer.inputs; k++) {
    const q =
      inBounds[k] === 0
        ? 0
        : roundHalfAwayFromZero((layer.weights[j * layer.inputs + k]! * scale) / inScales[k]!);
    weights[row * width + k] = q;
    absoluteSum += inBounds[k]! * Math.abs(q);
    if (q > 0) highest += inBounds[k]! * q;
  }
  return { bias, absoluteSum, highest };
}

function finiteScale(limit: number): number {
  return Number.isFinite(limit) ? limit : 1;
}

function planHiddenLayer(
  layer: DenseLayer,
  inScales: Float64Array,
  inBounds: Float64Array,
  inWidth: number,
  observed: Float64Array,
) {
  const width = padTo32(layer.outputs);
  const weights = new Int16Array(width * inWidth);
  const bias = new Int32Array(width);
  const rowScales = new Float64Array(layer.outputs);
  const highest = new Float64Array(layer.outputs);
  for (let j = 0; j < layer.outputs; j++) {
    const { weightLimit, sumLimit } = rowScaleLimit(layer, j, inScales, inBounds, ROUNDING_HEADROOM);
    let scale = finiteScale(Math.min(weightLimit, sumLimit));
    for (;;) {
      const row = quantizeRow(layer, j, scale, inScales, inBounds, weights, j, inWidth);
      if (row.absoluteSum <= INT32_MAX - ROUNDING_HEADROOM) {
        bias[j] = row.bias;
        highest[j] = row.highest;
        break;
      }
      scale *= SHRINK;
    }
    rowScales[j] = scale;
  }
  let worst = 0;
  let seen = 0;
  for (let j = 0; j < layer.outputs; j++) {
    worst = Math.max(worst, highest[j]!);
    seen = Math.max(seen, observed[j]! * rowScales[j]!);
  }
  const top = Math.min(worst, seen * CALIBRATION_HEADROOM);
  let shift = 0;
  while (Math.floor(top / 2 ** shift) > INT16_MAX) shift++;
  // The shift floors; adding half a step to the bias makes it round to nearest instead of lowering every
  // unit by half a step on average. ROUNDING_HEADROOM kept room for it in int32 (shift <= 16 since top < 2^31);
  // a result of 32768 saturates to 32767 in the narrowing.
  const half = shift > 0 ? 2 ** (shift - 1) : 0;
  for (let j = 0; j < layer.outputs; j++) bias[j] = bias[j]! + half;
  const scales = rowScales.map((scale) => scale / 2 ** shift);
  const bounds = highest.map((value) =>
    Math.min(INT16_MAX, Math.max(0, Math.floor((value + half) / 2 ** shift))),
  );
  return { layer: { inputs: inWidth, outputs: width, weights, bias, shift }, scales, bounds };
}

function planOutputLayer(layer: DenseLayer, inScales: Float64Array, inBounds: Float64Array, inWidth: number) {
  let scale = Number.POSITIVE_INFINITY;
  for (let c = 0; c < layer.outputs; c++) {
    const { weightLimit, sumLimit } = rowScaleLimit(layer, c, inScales, inBounds, 0);
    scale = Math.min(scale, weightLimit, sumLimit);
  }
  scale = finiteScale(scale);
  const weights = new Int16Array(layer.outputs * inWidth);
  const bias = new Int32Array(layer.outputs);
  for (;;) {
    let fits = true;
    for (let c = 0; c < layer.outputs; c++) {
      const row = quantizeRow(layer, c, scale, inScales, inBounds, weights, c, inWidth);
      bias[c] = row.bias;
      if (row.absoluteSum > INT32_MAX) fits = false;
    }
    if (fits) return { weights, bias, scale };
    scale *= SHRINK;
  }
}

const CALIBRATION_VECTORS = 256;
/** A hidden layer's int16 range covers this multiple of the largest value seen in calibration. */
const CALIBRATION_HEADROOM = 4;
const CALIBRATION_SEED = 0x1a4e;

function uniformCalibration(inputs: number): Uint8Array {
  const random = new Random(CALIBRATION_SEED);
  return Uint8Array.from({ length: CALIBRATION_VECTORS * inputs }, () => random.int(10));
}

/** Per layer and unit, the largest pre-activation the float model reaches on the calibration vectors (>= 0). */
function observedMaxima(model: DenseModel, calibration: Uint8Array): Float64Array[] {
  const maxima = model.layers.map((layer) => new Float64Array(layer.outputs));
  const inputs = model.layers[0]!.inputs;
  for (let base = 0; base + inputs <= calibration.length; base += inputs) {
    let input: ArrayLike<number> = calibration.subarray(base, base + inputs);
    model.layers.forEach((layer, l) => {
      const output = new Float64Array(layer.outputs);
      for (let j = 0; j < layer.outputs; j++) {
        let sum = layer.bias[j]!;
        for (let i = 0; i < layer.inputs; i++) sum += layer.weights[j * layer.inputs + i]! * input[i]!;
        output[j] = Math.max(0, sum);
        if (sum > maxima[l]![j]!) maxima[l]![j] = sum;
      }
      input = output;
    });
  }
  return maxima;
}
