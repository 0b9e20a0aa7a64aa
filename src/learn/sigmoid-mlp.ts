/**
 * A float MLP with ReLU hidden layers and one sigmoid output, trained on binary cross-entropy with Adam —
 * Heimdall's model (128-16-1) as Keras trains it: glorot-uniform weights, zero biases, batch 32, Adam
 * (lr 1e-4, betas 0.9/0.999, epsilon 1e-7), the last `validationFraction` of the rows held out as Keras's
 * validation_split does (taken before shuffling, never trained on), the training rows reshuffled every
 * epoch. The loss gradient with respect to the logit is p - y (Keras computes binary cross-entropy of a
 * sigmoid output from its logit).
 *
 * Plain TypeScript on Float64Array: the network is small (11 x 128 + 128 x 16 + 16 weights) and so are the
 * data sets (tens of thousands of reads), so an epoch takes a fraction of a second.
 */
import { LakeError } from '../errors.js';
import { Random } from '../random.js';

export interface SigmoidMlpModel {
  /** Layer widths, inputs first, 1 last. */
  readonly sizes: readonly number[];
  /** Per layer, row-major [outputs][inputs]. */
  readonly weights: readonly Float64Array[];
  readonly biases: readonly Float64Array[];
}

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

function positiveInt(name: string, v: number): number {
  if (!(Number.isInteger(v) && v > 0))
    throw new LakeError('LAKE_E_USAGE', `options.${name} must be a positive integer`);
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

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
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

/** Binary cross-entropy of a logit z for label y, computed stably. */
function bce(z: number, y: number): number {
  // -[y log s(z) + (1-y) log(1-s(z))] = max(z,0) - z y + log(1 + e^-|z|)
  return Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
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
  const hidden = options.hidden ?? [128, 16];
  const sizes = [inputs, ...hidden, 1];
  for (const s of sizes) positiveInt('hidden', s);
  const epochs = positiveInt('epochs', options.epochs ?? 20);
  const batchSize = positiveInt('batchSize', options.batchSize ?? 32);
  const lr = options.learningRate ?? 1e-4;
  const validationFraction = options.validationFraction ?? 0.2;
  if (!(validationFraction >= 0 && validationFraction < 1)) {
    throw new LakeError('LAKE_E_USAGE', 'options.validationFraction must be in [0, 1)');
  }
  const slowWeight = options.slowWeight ?? 1;
  const random = new Random(options.seed ?? 1);
  const beta1 = 0.9;
  const beta2 = 0.999;
  const epsilon = 1e-7;

  const layers = sizes.length - 1;
  const weights: Float64Array[] = [];
  const biases: Float64Array[] = [];
  for (let l = 0; l < layers; l++) {
    const nIn = sizes[l]!;
    const nOut = sizes[l + 1]!;
    const limit = Math.sqrt(6 / (nIn + nOut));
    const w = new Float64Array(nIn * nOut);
    for (let k = 0; k < w.length; k++) w[k] = (2 * random.next() - 1) * limit;
    weights.push(w);
    biases.push(new Float64Array(nOut));
  }
  const params = [...weights, ...biases];
  const grads = params.map((p) => new Float64Array(p.length));
  const m1 = params.map((p) => new Float64Array(p.length));
  const m2 = params.map((p) => new Float64Array(p.length));
  const model: SigmoidMlpModel = { sizes, weights, biases };
  const act = sizes.map((n) => new Float64Array(n));
  const delta = sizes.map((n) => new Float64Array(n));

  const validationCount = Math.floor(count * validationFraction);
  const trainCount = count - validationCount;
  if (trainCount === 0) throw new LakeError('LAKE_E_USAGE', 'trainSigmoidMlp: no training rows');
  const order = Int32Array.from({ length: trainCount }, (_, i) => i);
  const trainLoss: number[] = [];
  const validationLoss: number[] = [];
  let step = 0;

  for (let epoch = 1; epoch <= epochs; epoch++) {
    for (let i = trainCount - 1; i > 0; i--) {
      const j = random.int(i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    let lossSum = 0;
    for (let b = 0; b < trainCount; b += batchSize) {
      const end = Math.min(trainCount, b + batchSize);
      const inv = 1 / (end - b);
      for (const g of grads) g.fill(0);
      for (let k = b; k < end; k++) {
        const row = order[k]!;
        // Forward, keeping activations.
        const a0 = act[0]!;
        for (let i = 0; i < inputs; i++) a0[i] = x[row * inputs + i]!;
        for (let l = 0; l < layers; l++) {
          const nIn = sizes[l]!;
          const nOut = sizes[l + 1]!;
          const w = weights[l]!;
          const bias = biases[l]!;
          const aIn = act[l]!;
          const aOut = act[l + 1]!;
          const last = l === layers - 1;
          for (let o = 0; o < nOut; o++) {
            let s = bias[o]!;
            const r = o * nIn;
            for (let i = 0; i < nIn; i++) s += w[r + i]! * aIn[i]!;
            aOut[o] = last || s > 0 ? s : 0;
          }
        }
        const z = act[layers]![0]!;
        const label = y[row]!;
        const weight = label === 1 ? slowWeight : 1;
        lossSum += weight * bce(z, label);
        delta[layers]![0] = weight * inv * (sigmoid(z) - label);
        // Backward.
        for (let l = layers - 1; l >= 0; l--) {
          const nIn = sizes[l]!;
          const nOut = sizes[l + 1]!;
          const w = weights[l]!;
          const gw = grads[l]!;
          const gb = grads[layers + l]!;
          const aIn = act[l]!;
          const dOut = delta[l + 1]!;
          const dIn = delta[l]!;
          if (l > 0) dIn.fill(0);
          for (let o = 0; o < nOut; o++) {
            const d = dOut[o]!;
            if (d === 0) continue;
            gb[o]! += d;
            const r = o * nIn;
            for (let i = 0; i < nIn; i++) gw[r + i]! += d * aIn[i]!;
            if (l > 0) for (let i = 0; i < nIn; i++) dIn[i]! += d * w[r + i]!;
          }
          if (l > 0) for (let i = 0; i < nIn; i++) if (aIn[i]! <= 0) dIn[i] = 0;
        }
      }
      // Adam.
      step++;
      const c1 = 1 - beta1 ** step;
      const c2 = 1 - beta2 ** step;
      const alpha = (lr * Math.sqrt(c2)) / c1;
      for (let p = 0; p < params.length; p++) {
        const w = params[p]!;
        const g = grads[p]!;
        const m = m1[p]!;
        const v = m2[p]!;
        for (let k = 0; k < w.length; k++) {
          const gk = g[k]!;
          const mk = beta1 * m[k]! + (1 - beta1) * gk;
          const vk = beta2 * v[k]! + (1 - beta2) * gk * gk;
          m[k] = mk;
          v[k] = vk;
          // Keras's Adam: the bias corrections folded into alpha, epsilon added to sqrt(v) as it is.
          w[k]! -= (alpha * mk) / (Math.sqrt(vk) + epsilon);
        }
      }
    }
    trainLoss.push(lossSum / trainCount);
    let vLoss = Number.NaN;
    if (validationCount > 0) {
      let s = 0;
      const scratch = mlpScratch(model);
      for (let r = trainCount; r < count; r++) s += bce(mlpLogit(model, x, r * inputs, scratch), y[r]!);
      vLoss = s / validationCount;
    }
    validationLoss.push(vLoss);
    options.onEpoch?.(epoch, trainLoss[trainLoss.length - 1]!, vLoss);
  }
  return {
    model,
    trainCount,
    validationCount,
    epochs,
    trainLoss,
    validationLoss,
    seconds: (performance.now() - started) / 1000,
  };
}
