/**
 * Heimdall's model (128-16-1) as Keras trains it, as a configuration of lake's one MLP stack (mlp.ts): ReLU
 * hidden layers and one sigmoid output on binary cross-entropy (the gradient with respect to the logit is
 * p - y, as Keras computes it from the logit), glorot-uniform weights and zero biases, batch 32, Adam (lr
 * 1e-4, betas 0.9/0.999, epsilon 1e-7), the last `validationFraction` of the rows held out as Keras's
 * validation_split does (taken before shuffling, never trained on), the training rows reshuffled every epoch
 * (fit.ts). Inputs are float rows, already scaled. The model is the stack's float64 row-major export; this
 * file also serves it (mlpLogit), as Heimdall's float path does.
 */
import { LakeError } from '../errors.js';
import { Random } from '../random.js';
import { shuffle, trainBatches } from './fit.js';
import { binaryCrossEntropy, Mlp, type RowMajorMlp, sigmoid } from './mlp.js';

export { sigmoid };

/** Heimdall's model: layer widths end in 1 (the logit). */
export type SigmoidMlpModel = RowMajorMlp;

export interface MlpTrainOptions {
  /** Hidden widths (default [128, 16]). */
  hidden?: readonly number[];
  /** Default 20. */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /** Default 1e-4. */
  learningRate?: number;
  /** Default 0.2: the last fifth of the rows is held out (Keras validation_split). */
  validationFraction?: number;
  /** Weight of slow samples in the loss (default 1, Heimdall's). */
  slowWeight?: number;
  /** Default 1. */
  seed?: number;
  onEpoch?: (epoch: number, trainLoss: number, validationLoss: number) => void;
}

export interface MlpTrainResult {
  model: SigmoidMlpModel;
  trainCount: number;
  validationCount: number;
  epochs: number;
  /** Mean training loss per epoch. */
  trainLoss: number[];
  /** Mean validation loss per epoch (NaN without a validation part). */
  validationLoss: number[];
  seconds: number;
}

/** `v` when a positive integer; else a usage error naming the option field (`what`) and the value. */
function positiveInt(what: string, v: number): number {
  if (!(Number.isInteger(v) && v > 0))
    throw new LakeError('LAKE_E_USAGE', `trainSigmoidMlp: ${what} must be a positive integer, got ${v}`);
  return v;
}

/** The logit of one row x[offset..offset+inputs) (scratch holds one activation vector per layer). */
export function mlpLogit(
  model: SigmoidMlpModel,
  x: ArrayLike<number>,
  offset: number,
  scratch: Float64Array[] = mlpScratch(model),
): number {
  const { sizes, weights, biases } = model;
  let input: ArrayLike<number> = x;
  let base = offset;
  for (let l = 0; l < weights.length; l++) {
    const nIn = sizes[l]!;
    const nOut = sizes[l + 1]!;
    const w = weights[l]!;
    const b = biases[l]!;
    const out = scratch[l]!;
    const last = l === weights.length - 1;
    for (let o = 0; o < nOut; o++) {
      let s = b[o]!;
      const row = o * nIn;
      for (let i = 0; i < nIn; i++) s += w[row + i]! * input[base + i]!;
      out[o] = last || s > 0 ? s : 0;
    }
    input = out;
    base = 0;
  }
  return scratch[weights.length - 1]![0]!;
}

export function mlpScratch(model: SigmoidMlpModel): Float64Array[] {
  return model.sizes.slice(1).map((n) => new Float64Array(n));
}

/** Logits of every row of x (count x inputs, row-major). */
export function mlpLogits(model: SigmoidMlpModel, x: Float64Array): Float64Array {
  const inputs = model.sizes[0]!;
  const count = x.length / inputs;
  const out = new Float64Array(count);
  const scratch = mlpScratch(model);
  for (let r = 0; r < count; r++) out[r] = mlpLogit(model, x, r * inputs, scratch);
  return out;
}

/** Train on `x` (count x inputs, already scaled) and labels y (1 = slow). */
export function trainSigmoidMlp(
  x: Float64Array,
  y: Uint8Array,
  inputs: number,
  options: MlpTrainOptions = {},
): MlpTrainResult {
  const started = performance.now();
  const count = y.length;
  if (x.length !== count * inputs) {
    throw new LakeError('LAKE_E_USAGE', `trainSigmoidMlp: ${x.length} values for ${count} rows of ${inputs}`);
  }
  positiveInt('inputs', inputs);
  const hidden = options.hidden ?? [128, 16];
  for (const width of hidden) positiveInt(`hidden width (of [${hidden.join(', ')}])`, width);
  const sizes = [inputs, ...hidden, 1];
  const epochs = positiveInt('epochs', options.epochs ?? 20);
  const batchSize = positiveInt('batchSize', options.batchSize ?? 32);
  const learningRate = options.learningRate ?? 1e-4;
  const validationFraction = options.validationFraction ?? 0.2;
  if (!(validationFraction >= 0 && validationFraction < 1)) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `trainSigmoidMlp: validationFraction must be in [0, 1), got ${validationFraction}`,
    );
  }
  const slowWeight = options.slowWeight ?? 1;
  // One generator draws the weights, then every epoch's shuffle.
  const random = new Random(options.seed ?? 1);
  const network = new Mlp(sizes, random, 1, 'glorot-uniform');
  const validationCount = Math.floor(count * validationFraction);
  const trainCount = count - validationCount;
  if (trainCount === 0) throw new LakeError('LAKE_E_USAGE', 'trainSigmoidMlp: no training rows');
  const order = Int32Array.from({ length: trainCount }, (_, i) => i);
  const epoch = {
    loss: 'sigmoid-xent',
    batchSize,
    classWeight: [1, slowWeight],
    learningRate,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-7,
  } as const;
  const trainLoss: number[] = [];
  const validationLoss: number[] = [];
  for (let e = 1; e <= epochs; e++) {
    shuffle(order, random);
    trainLoss.push(trainBatches(network, x, y, order, epoch).lossSum / trainCount);
    const vLoss = validationCount > 0 ? heldOutLoss(network, x, y, trainCount) : Number.NaN;
    validationLoss.push(vLoss);
    options.onEpoch?.(e, trainLoss[trainLoss.length - 1]!, vLoss);
  }
  return {
    model: network.toRowMajor(),
    trainCount,
    validationCount,
    epochs,
    trainLoss,
    validationLoss,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Mean unweighted binary cross-entropy of rows [from, count) (Keras's val_loss carries no class weight). */
function heldOutLoss(network: Mlp, x: Float64Array, y: Uint8Array, from: number): number {
  const inputs = network.sizes[0]!;
  let s = 0;
  for (let r = from; r < y.length; r++) s += binaryCrossEntropy(network.forward(x, r * inputs)[0]!, y[r]!);
  return s / (y.length - from);
}
