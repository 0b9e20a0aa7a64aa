/**
 * The training loop pieces every network of the MLP stack shares (mlp.ts): a seeded Fisher-Yates shuffle
 * and one epoch of class-weighted mini-batches, each ending in an Adam step. LinnOS's trainer
 * (src/linnos/train.ts) and Heimdall's (sigmoid-mlp.ts) both run their epochs through `trainBatches`.
 * Also the checks trainers make of their rows (`trainingRows`) and options (`positiveOption`).
 */
import { LakeError } from '../errors.js';
import type { Random } from '../random.js';
import type { HeadLoss, LossKind } from './mlp.js';

/** What an epoch needs of a network: per-sample gradients accumulated, then an Adam step. */
export interface BatchTrainable<X, L extends HeadLoss> {
  readonly sizes: readonly number[];
  /** Forward, loss and backward for one sample, adding scale x its gradient; returns the unscaled loss. */
  accumulate(x: X, offset: number, label: number, scale: number, loss: L): number;
  zeroGradients(): void;
  adamStep(learningRate: number, beta1: number, beta2: number, epsilon: number): void;
}

export interface EpochOptions<L extends HeadLoss = LossKind> {
  loss: L;
  batchSize: number;
  /** Sample weight by true class: [fast, slow]. */
  classWeight: readonly number[];
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/**
 * One pass over `rows` of `inputs` (in the given order) in mini-batches: per batch, the class-weighted
 * mean loss's gradient (sum of weight x gradient / batch length, Keras's sum-over-batch-size) and one Adam
 * step. Returns the sum of weighted sample losses and the seconds taken.
 */
export function trainBatches<X, L extends HeadLoss>(
  network: BatchTrainable<X, L>,
  inputs: X,
  labels: Uint8Array,
  rows: Int32Array,
  options: EpochOptions<L>,
): { lossSum: number; seconds: number } {
  const { loss, batchSize, classWeight, learningRate, beta1, beta2, epsilon } = options;
  const width = network.sizes[0]!;
  const count = rows.length;
  const started = performance.now();
  let lossSum = 0;
  for (let b = 0; b < count; b += batchSize) {
    const end = Math.min(count, b + batchSize);
    const inverse = 1 / (end - b);
    network.zeroGradients();
    for (let k = b; k < end; k++) {
      const row = rows[k]!;
      const label = labels[row]!;
      const weight = classWeight[label]!;
      lossSum += weight * network.accumulate(inputs, row * width, label, weight * inverse, loss);
    }
    network.adamStep(learningRate, beta1, beta2, epsilon);
  }
  return { lossSum, seconds: (performance.now() - started) / 1000 };
}

/** Fisher-Yates in place with a seeded generator. */
export function shuffle(a: Int32Array, random: Random): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

/**
 * The number of rows of a training set (row-major `values`, `width` per row, one label each); throws,
 * naming `trainer`, when there are none or the values do not fill them.
 */
export function trainingRows(
  trainer: string,
  values: Float64Array,
  labels: Uint8Array,
  width: number,
): number {
  const count = labels.length;
  if (count === 0 || values.length !== count * width) {
    throw new LakeError('LAKE_E_USAGE', `${trainer}: ${values.length} values for ${count} rows of ${width}`);
  }
  return count;
}

/** `value` of option `name`, which must be a positive number (an integer when `integer`). */
export function positiveOption(name: string, value: number, integer: boolean): number {
  if (!(value > 0) || (integer && !Number.isInteger(value))) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `options.${name} must be a positive ${integer ? 'integer' : 'number'}`,
    );
  }
  return value;
}
