/**
 * LinnOS training: a dense network (31-256-2, or NN+1 / NN+2) on digit vectors with fast/slow labels, as the
 * LinnOS artifact trains it in Keras: Adam (lr 1e-3, betas 0.9/0.999, epsilon 1e-7), batch 128, categorical
 * hinge loss with class weight 5 on the slow class, an 80/20 split. Differences and choices:
 * - the split is time-ordered by default: the validation part is the LATER 20% of the vectors (what a model
 *   trained on the past meets in the future); `split: 'random'` draws it at random instead (seeded);
 * - the training part is reshuffled each epoch (seeded);
 * - the slow-class weight applies to every sample whose true class is slow, as Keras's class_weight does:
 *   it makes false submits (slow predicted fast, which cost milliseconds) the expensive error;
 * - inputs are the raw digits (see mlp.ts: the integer LinnOS path feeds raw digits to weights x1000);
 * - early stopping on the validation loss is optional; when on, the best epoch's weights are kept.
 * The quality report scores each validation vector by o1 - o0 (slow iff > 0, a tie is fast, as the integer
 * path decides).
 */
import { LakeError } from '../errors.js';
import { type EpochOptions, positiveOption, shuffle, trainBatches } from '../learn/fit.js';
import { type ClassifierReport, evaluateScores } from '../learn/metrics.js';
import {
  type LossKind,
  lossGradient,
  Mlp,
  type NetworkSnapshot,
  type TrainableNetwork,
} from '../learn/mlp.js';
import { WasmDigitMlp, wasmTrainingAvailable, wasmTrainingSupports } from '../learn/wasm-mlp.js';
import { type DenseModel, type LinnosShape, linnosLayerSizes } from '../models/dense.js';
import { Random } from '../random.js';

export type TrainingBackend = 'js' | 'wasm';
export type SplitKind = 'time' | 'random';
export type { EpochOptions } from '../learn/fit.js';
export { shuffle } from '../learn/fit.js';

export interface TrainingData {
  /** count x inputs digits (0-9), row-major. */
  vectors: Uint8Array;
  /** 1 = slow, 0 = fast, per vector. */
  labels: Uint8Array;
}

export interface EpochStats {
  /** 1-based. */
  epoch: number;
  epochs: number;
  /** Mean weighted loss over the training part this epoch. */
  trainLoss: number;
  /** Mean weighted loss on the validation part after this epoch (NaN without one). */
  validationLoss: number;
  /** Validation accuracy after this epoch (NaN without a validation part). */
  validationAccuracy: number;
  /** Seconds spent in forward + backward + Adam this epoch (validation excluded). */
  seconds: number;
}

export interface TrainOptions {
  /** LinnOS shape (default 'nn' = 31-256-2); `layerSizes` overrides it. */
  shape?: LinnosShape;
  layerSizes?: readonly number[];
  loss?: LossKind;
  /** Weight of samples whose true class is slow (default 5). */
  slowWeight?: number;
  /** Default 15. */
  epochs?: number;
  /** Default 128. */
  batchSize?: number;
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Fraction held back for validation (default 0.2; 0 = none). */
  validationFraction?: number;
  /** Default 'time': the validation part is the last fraction of the vectors. */
  split?: SplitKind;
  /** Default 1: initialisation, split and shuffles. */
  seed?: number;
  /** Inputs are digit x inputScale while training (default 1); exported models always take raw digits. */
  inputScale?: number;
  /** Stop after this many epochs without a better validation loss and keep the best weights. */
  earlyStopPatience?: number;
  /** Default 'auto': wasm when it runs here and fits the shape, else js. */
  backend?: TrainingBackend | 'auto';
  /** Called after every epoch (the CLI draws its progress bar from it). */
  onEpoch?: (epoch: number, stats: EpochStats) => void;
}

export interface TrainingReport {
  layerSizes: number[];
  parameters: number;
  loss: LossKind;
  slowWeight: number;
  backend: TrainingBackend;
  split: SplitKind;
  seed: number;
  trainCount: number;
  validationCount: number;
  /** Epochs run, and the epoch whose weights were kept. */
  epochs: number;
  bestEpoch: number;
  /** Seconds in forward + backward + Adam over all epochs. */
  trainSeconds: number;
  /** trainSeconds per epoch per million training samples. */
  secondsPerMillion: number;
  history: EpochStats[];
  /** Quality on the validation part (on the training part when there is none). */
  quality: ClassifierReport;
  /** Which part `quality` describes. */
  qualityOn: 'validation' | 'train';
}

export interface TrainResult {
  model: DenseModel;
  report: TrainingReport;
}

/** Build the network for a shape on the chosen backend. */
export function createNetwork(
  sizes: readonly number[],
  seed: number,
  options: { backend?: TrainingBackend | 'auto'; inputScale?: number } = {},
): TrainableNetwork {
  const choice = options.backend ?? 'auto';
  const random = new Random(seed);
  const useWasm =
    choice === 'wasm' || (choice === 'auto' && wasmTrainingSupports(sizes) && wasmTrainingAvailable());
  if (useWasm) {
    if (!wasmTrainingSupports(sizes)) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `the wasm trainer needs >= 1 hidden layer with widths divisible by 16, got [${sizes.join(', ')}]`,
      );
    }
    return new WasmDigitMlp(sizes, random, options.inputScale ?? 1);
  }
  return new Mlp(sizes, random, options.inputScale ?? 1);
}

/** Logit margins o1 - o0 of `count` vectors (the slow score), for metrics. */
export function networkScores(
  network: TrainableNetwork,
  vectors: Uint8Array,
  rows: Int32Array,
): Float64Array {
  const inputs = network.sizes[0]!;
  const scores = new Float64Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const o = network.forward(vectors, rows[r]! * inputs);
    scores[r] = o[1]! - o[0]!;
  }
  return scores;
}

/** The training options checked and with their defaults filled in. */
interface TrainSettings {
  sizes: number[];
  loss: LossKind;
  slowWeight: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  validationFraction: number;
  split: SplitKind;
  seed: number;
  patience: number | undefined;
}

/** Refuse vectors that are not `count` rows of `inputs` digits with 0/1 labels. */
function checkTrainingData(data: TrainingData, inputs: number): void {
  const count = data.labels.length;
  if (count === 0) throw new LakeError('LAKE_E_USAGE', 'no training vectors');
  if (data.vectors.length < count * inputs) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `vectors hold ${data.vectors.length} digits, ${count} labels need ${count * inputs}`,
    );
  }
  for (let i = 0; i < count * inputs; i++) {
    if (data.vectors[i]! > 9) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `vector ${Math.floor(i / inputs)} holds ${data.vectors[i]}, not a digit`,
      );
    }
  }
  for (let i = 0; i < count; i++) {
    if (data.labels[i]! > 1)
      throw new LakeError('LAKE_E_USAGE', `label ${i} is ${data.labels[i]}, not 0 or 1`);
  }
}

function trainSettings(options: TrainOptions): TrainSettings {
  const sizes = [...(options.layerSizes ?? linnosLayerSizes(options.shape ?? 'nn'))];
  if (sizes[sizes.length - 1] !== 2) {
    throw new LakeError('LAKE_E_USAGE', 'options.layerSizes must end in 2 outputs (fast, slow)');
  }
  const loss = options.loss ?? 'hinge';
  if (loss !== 'hinge' && loss !== 'xent') {
    throw new LakeError('LAKE_E_USAGE', `options.loss must be 'hinge' or 'xent', got ${String(loss)}`);
  }
  const slowWeight = positiveOption('slowWeight', options.slowWeight ?? 5, false);
  const epochs = positiveOption('epochs', options.epochs ?? 15, true);
  const batchSize = positiveOption('batchSize', options.batchSize ?? 128, true);
  const learningRate = positiveOption('learningRate', options.learningRate ?? 1e-3, false);
  const validationFraction = options.validationFraction ?? 0.2;
  if (!(validationFraction >= 0 && validationFraction < 1)) {
    throw new LakeError('LAKE_E_USAGE', 'options.validationFraction must be in [0, 1)');
  }
  const split = options.split ?? 'time';
  if (split !== 'time' && split !== 'random') {
    throw new LakeError('LAKE_E_USAGE', `options.split must be 'time' or 'random', got ${String(split)}`);
  }
  const patience = options.earlyStopPatience;
  if (patience !== undefined) positiveOption('earlyStopPatience', patience, true);
  return {
    sizes,
    loss,
    slowWeight,
    epochs,
    batchSize,
    learningRate,
    beta1: options.beta1 ?? 0.9,
    beta2: options.beta2 ?? 0.999,
    epsilon: options.epsilon ?? 1e-7,
    validationFraction,
    split,
    seed: options.seed ?? 1,
    patience,
  };
}

/** Rows of the training and validation parts: the last fraction (time), or a seeded random draw. */
function splitRows(
  count: number,
  settings: TrainSettings,
  random: Random,
): { train: Int32Array; validation: Int32Array } {
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  if (settings.split === 'random') shuffle(order, random.fork());
  const validationCount = Math.round(count * settings.validationFraction);
  const trainCount = count - validationCount;
  if (trainCount === 0) throw new LakeError('LAKE_E_USAGE', 'nothing left to train on after the split');
  if (settings.patience !== undefined && validationCount === 0) {
    throw new LakeError('LAKE_E_USAGE', 'early stopping needs a validation part (validationFraction > 0)');
  }
  return { train: order.slice(0, trainCount), validation: order.slice(trainCount) };
}

/** Mean class-weighted loss and accuracy (slow iff o1 > o0) of the network on `rows`; NaN when empty. */
function validationFigures(
  network: TrainableNetwork,
  data: TrainingData,
  rows: Int32Array,
  loss: LossKind,
  classWeight: readonly number[],
): { validationLoss: number; validationAccuracy: number } {
  if (rows.length === 0) return { validationLoss: Number.NaN, validationAccuracy: Number.NaN };
  const inputs = network.sizes[0]!;
  const gradient = new Float64Array(2);
  let sum = 0;
  let correct = 0;
  for (let k = 0; k < rows.length; k++) {
    const row = rows[k]!;
    const label = data.labels[row]!;
    const o = network.forward(data.vectors, row * inputs);
    sum += classWeight[label]! * lossGradient(o, label, 0, loss, gradient);
    if ((o[1]! > o[0]! ? 1 : 0) === label) correct++;
  }
  return { validationLoss: sum / rows.length, validationAccuracy: correct / rows.length };
}

/**
 * The epochs: reshuffle, train, validate, and with early stopping keep the best epoch's weights (restored
 * into the network at the end). Returns the history and the epoch whose weights the network holds.
 */
function runEpochs(
  network: TrainableNetwork,
  data: TrainingData,
  parts: { train: Int32Array; validation: Int32Array },
  settings: TrainSettings,
  shuffler: Random,
  onEpoch: TrainOptions['onEpoch'],
): { history: EpochStats[]; bestEpoch: number } {
  const { loss, epochs, patience } = settings;
  const classWeight = [1, settings.slowWeight];
  const history: EpochStats[] = [];
  let bestLoss = Number.POSITIVE_INFINITY;
  let bestEpoch = 0;
  let best: NetworkSnapshot | undefined;
  let sinceBest = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    shuffle(parts.train, shuffler);
    const { lossSum, seconds } = trainEpoch(network, data, parts.train, { ...settings, classWeight });
    const validation = validationFigures(network, data, parts.validation, loss, classWeight);
    const stats: EpochStats = {
      epoch,
      epochs,
      trainLoss: lossSum / parts.train.length,
      ...validation,
      seconds,
    };
    history.push(stats);
    onEpoch?.(epoch, stats);
    if (patience === undefined) {
      bestEpoch = epoch;
    } else if (validation.validationLoss < bestLoss) {
      bestLoss = validation.validationLoss;
      bestEpoch = epoch;
      best = network.snapshot();
      sinceBest = 0;
    } else if (++sinceBest >= patience) {
      break;
    }
  }
  if (best !== undefined) network.restore(best);
  return { history, bestEpoch };
}

/** Train a LinnOS-style classifier; see the module comment for the recipe. */
export function trainLinnos(data: TrainingData, options: TrainOptions = {}): TrainResult {
  const settings = trainSettings(options);
  const { sizes } = settings;
  checkTrainingData(data, sizes[0]!);
  const random = new Random(settings.seed);
  const initSeed = random.nextUint32();
  const network = createNetwork(sizes, initSeed, {
    backend: options.backend ?? 'auto',
    inputScale: options.inputScale ?? 1,
  });
  const backend: TrainingBackend = network instanceof WasmDigitMlp ? 'wasm' : 'js';
  const parts = splitRows(data.labels.length, settings, random);
  const { train, validation } = parts;
  const { history, bestEpoch } = runEpochs(network, data, parts, settings, random.fork(), options.onEpoch);

  const qualityOn = validation.length > 0 ? 'validation' : 'train';
  const rows = validation.length > 0 ? validation : train;
  const scores = networkScores(network, data.vectors, rows);
  const truth = new Uint8Array(rows.length);
  for (let r = 0; r < rows.length; r++) truth[r] = data.labels[rows[r]!]!;
  const epochsRun = history.length;
  const trainSeconds = history.reduce((sum, e) => sum + e.seconds, 0);
  return {
    model: network.toDenseModel(),
    report: {
      layerSizes: sizes,
      parameters: network.parameterCount,
      loss: settings.loss,
      slowWeight: settings.slowWeight,
      backend,
      split: settings.split,
      seed: settings.seed,
      trainCount: train.length,
      validationCount: validation.length,
      epochs: epochsRun,
      bestEpoch,
      trainSeconds,
      secondsPerMillion: (trainSeconds / (epochsRun * train.length)) * 1e6,
      history,
      quality: evaluateScores(scores, truth, 0),
      qualityOn,
    },
  };
}

/**
 * One pass over `rows` of the LinnOS vectors in mini-batches (trainBatches, src/learn/fit.ts): the
 * class-weighted loss's gradient and one Adam step per batch. Returns the weighted loss sum and the seconds.
 */
export function trainEpoch(
  network: TrainableNetwork,
  data: TrainingData,
  rows: Int32Array,
  options: EpochOptions,
): { lossSum: number; seconds: number } {
  return trainBatches(network, data.vectors, data.labels, rows, options);
}
