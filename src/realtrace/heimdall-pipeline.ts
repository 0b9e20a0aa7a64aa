/**
 * The Heimdall pipeline (REFERENCE.md, Heimdall): period labels with the three-stage noise filter,
 * 11 features, min-max scaling, a 128-16-1 sigmoid MLP (Adam lr 1e-4, 20 epochs), weights quantised x1024
 * for integer serving, joint inference of P reads.
 *
 * - causal (default): time-ordered split; training labels are the period labels of the training half with
 *   its own knees and medians, noise-filtered; features come from the event stream (the last 3 COMPLETED
 *   I/Os); the test reads are every read of the second half, labelled by the period rule with the
 *   training thresholds and not filtered (a deployed predictor meets every read).
 * - as published: labels and filter over the whole trace, features from the last 3 SUBMITTED I/Os
 *   (heimdallPublishedFeatures), a random 80/20 split of the kept reads, test labels filtered like the
 *   training ones. It leaks future latencies; every result says so.
 * Scores are the logits of the integer path (what serving computes); the decision is logit > 0 (p > 0.5).
 */
import { LakeError } from '../errors.js';
import { evaluateScores } from '../learn/metrics.js';
import { applyMinMax, fitMinMax } from '../learn/min-max.js';
import { trainSigmoidMlp } from '../learn/sigmoid-mlp.js';
import { Random } from '../random.js';
import {
  fraction,
  type JointEvaluation,
  knownPrefix,
  type OnEvalStage,
  type PipelineEvaluation,
  splitIndex,
} from './evaluation.js';
import { extractCausal, type FeatureSet } from './event-stream.js';
import {
  HeimdallCausalExtractor,
  heimdallPublishedFeatures,
  type JointSet,
  jointRows,
} from './heimdall-features.js';
import {
  heimdallPeriodLabels,
  heimdallThresholds,
  OUTLIER_NONE,
  type PeriodLabels,
} from './heimdall-labels.js';
import type { IoTable } from './io-table.js';
import { QuantizedMlp } from './quantized-mlp.js';
import { timeServing } from './serving-time.js';

export const HEIMDALL_LEAK_NOTE =
  'LEAKS FUTURE INFORMATION: features take the latencies of the last 3 SUBMITTED I/Os, mostly still in ' +
  'flight at the read\u2019s submit, and the random split puts neighbouring I/Os in both train and test';

export interface HeimdallOptions {
  /** Heimdall's published protocol (leaky features, random 80/20 split). */
  asPublished?: boolean;
  /** Default 20 (as published). */
  epochs?: number;
  /** Default 1. */
  seed?: number;
  /** Joint inference sizes besides P = 1 (default [3]). */
  joint?: readonly number[];
  /** Time the serving path (default true; tests turn it off). */
  timeServing?: boolean;
  /** Told as each step starts (progress). */
  onStage?: OnEvalStage;
}

interface Parts {
  train: FeatureSet;
  trainLabels: Uint8Array;
  test: FeatureSet;
  testLabels: Uint8Array;
  labels: PeriodLabels;
  /** The joint data sets of P reads, split the same way. */
  joint(p: number): { train: JointSet; test: JointSet };
}

function take(set: FeatureSet, picked: ArrayLike<number>): FeatureSet {
  const rows = new Int32Array(picked.length);
  const values = new Float64Array(picked.length * set.width);
  for (let k = 0; k < picked.length; k++) {
    const r = picked[k]!;
    rows[k] = set.rows[r]!;
    values.set(set.values.subarray(r * set.width, (r + 1) * set.width), k * set.width);
  }
  return { names: set.names, width: set.width, count: picked.length, rows, values };
}

function takeJoint(set: JointSet, picked: ArrayLike<number>): JointSet {
  const base = take(set, picked);
  return { ...base, p: set.p, labels: Uint8Array.from(picked, (r) => set.labels[r]!) };
}

function causalParts(table: IoTable): Parts {
  const split = splitIndex(table);
  const known = knownPrefix(table, split);
  const thresholds = heimdallThresholds(table, 0, known);
  const trainMarks = heimdallPeriodLabels(table, 0, known, thresholds);
  const testMarks = heimdallPeriodLabels(table, split, table.count, thresholds);
  const all = extractCausal(table, new HeimdallCausalExtractor());
  const trainPick: number[] = [];
  const testPick: number[] = [];
  for (let r = 0; r < all.count; r++) {
    const io = all.rows[r]!;
    if (io < known) {
      if (trainMarks.outlier[io] === OUTLIER_NONE) trainPick.push(r);
    } else if (io >= split) {
      testPick.push(r);
    }
  }
  const train = take(all, trainPick);
  const test = take(all, testPick);
  const trainLabels = Uint8Array.from(train.rows, (io) => trainMarks.tail[io]!);
  const testLabels = Uint8Array.from(test.rows, (io) => testMarks.tail[io]!);
  return {
    train,
    trainLabels,
    test,
    testLabels,
    labels: trainMarks,
    // Groups of consecutive reads within each part (time order is kept inside a part).
    joint: (p) => ({ train: jointRows(train, trainLabels, p), test: jointRows(test, testLabels, p) }),
  };
}

/** A seeded permutation of 0..n-1 split 80/20 (Heimdall's train_test_split(test_size=0.2)). */
function randomSplit(n: number, seed: number): { train: Int32Array; test: Int32Array } {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const random = new Random(seed ^ 0x2a);
  for (let i = n - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const testCount = Math.ceil(n * 0.2);
  return { test: order.slice(0, testCount), train: order.slice(testCount) };
}

function publishedParts(table: IoTable, seed: number): Parts {
  const marks = heimdallPeriodLabels(table);
  const all = heimdallPublishedFeatures(table, marks);
  const allLabels = Uint8Array.from(all.rows, (io) => marks.tail[io]!);
  const split = randomSplit(all.count, seed);
  const train = take(all, split.train);
  const test = take(all, split.test);
  return {
    train,
    trainLabels: Uint8Array.from(train.rows, (io) => marks.tail[io]!),
    test,
    testLabels: Uint8Array.from(test.rows, (io) => marks.tail[io]!),
    labels: marks,
    // As the joint scripts do: groups over the whole data set in order, then a random split of groups.
    joint: (p) => {
      const groups = jointRows(all, allLabels, p);
      const s = randomSplit(groups.count, seed);
      return { train: takeJoint(groups, s.train), test: takeJoint(groups, s.test) };
    },
  };
}

interface Trained {
  model: QuantizedMlp;
  seconds: number;
}

function trainOn(set: FeatureSet | JointSet, labels: Uint8Array, epochs: number, seed: number): Trained {
  if (set.count === 0) throw new LakeError('LAKE_E_USAGE', 'heimdall: no training reads');
  const scaler = fitMinMax(set.values, set.width);
  const fit = trainSigmoidMlp(applyMinMax(scaler, set.values), labels, set.width, { epochs, seed });
  return { model: new QuantizedMlp(fit.model, scaler), seconds: fit.seconds };
}

function scoresOf(model: QuantizedMlp, set: FeatureSet): Float64Array {
  const out = new Float64Array(set.count);
  for (let r = 0; r < set.count; r++) out[r] = model.logit(set.values, r * set.width);
  return out;
}

function servingNs(model: QuantizedMlp, set: FeatureSet, enabled: boolean): number {
  if (!enabled || set.count === 0) return Number.NaN;
  const rows = Math.min(set.count, 4096);
  return timeServing((r) => model.predict(set.values, r * set.width), rows).nsPerPrediction;
}

/** Train and test the Heimdall pipeline on a trace; see the module comment. */
export function runHeimdall(table: IoTable, options: HeimdallOptions = {}): PipelineEvaluation {
  const asPublished = options.asPublished === true;
  const epochs = options.epochs ?? 20;
  const seed = options.seed ?? 1;
  const timing = options.timeServing !== false;
  const jointSizes = options.joint ?? [3];
  for (const p of jointSizes) {
    if (!(Number.isInteger(p) && p >= 2))
      throw new LakeError('LAKE_E_USAGE', `joint P must be an integer >= 2, got ${p}`);
  }
  const onStage = options.onStage ?? (() => undefined);
  onStage({ stage: 'features', count: table.count, unit: 'I/Os', detail: 'with labels' });
  const parts = asPublished ? publishedParts(table, seed) : causalParts(table);
  const { train, trainLabels, test, testLabels, labels } = parts;
  if (test.count === 0) throw new LakeError('LAKE_E_USAGE', 'heimdall: no test reads');

  onStage({ stage: 'training', count: train.count, unit: 'reads' });
  const trained = trainOn(train, trainLabels, epochs, seed);
  onStage({ stage: 'scoring', count: test.count, unit: 'reads' });
  const scores = scoresOf(trained.model, test);
  const metrics = evaluateScores(scores, testLabels, 0);
  let trainSeconds = trained.seconds;

  const joint: JointEvaluation[] = [];
  for (const p of jointSizes) {
    const { train: jointTrain, test: jointTest } = parts.joint(p);
    if (jointTrain.count === 0 || jointTest.count === 0) continue;
    onStage({ stage: 'training', count: jointTrain.count, unit: 'reads', detail: `joint P=${p}` });
    const t = trainOn(jointTrain, jointTrain.labels, epochs, seed);
    trainSeconds += t.seconds;
    const perGroup = servingNs(t.model, jointTest, timing);
    joint.push({
      p,
      groups: jointTest.count,
      metrics: evaluateScores(scoresOf(t.model, jointTest), jointTest.labels, 0),
      servingNsPerGroup: perGroup,
      servingNsPerRead: perGroup / p,
    });
  }

  const t = labels.thresholds;
  if (timing) onStage({ stage: 'timing', count: Math.min(test.count, 4096), unit: 'reads' });
  return {
    pipeline: 'heimdall',
    variant: asPublished ? 'as-published' : 'causal',
    leaksFuture: asPublished,
    ...(asPublished ? { leakNote: HEIMDALL_LEAK_NOTE } : {}),
    split: asPublished ? 'random' : 'time',
    features: train.names,
    model: `${train.width}-128-16-1 sigmoid MLP, min-max scaled, weights x1024 integer`,
    trainCount: train.count,
    testCount: test.count,
    labels: {
      method: asPublished
        ? 'Heimdall period labels + noise filter (whole trace, train and test)'
        : 'Heimdall period labels (training thresholds; noise filter on training only)',
      thresholdUs: t.latencyKneeUs,
      percentile: t.latencyKneePercentile,
      trainSlowFraction: fraction(trainLabels),
      testSlowFraction: fraction(testLabels),
    },
    decisionThreshold: 0,
    thresholdRule: 'sigmoid output > 0.5 (integer logit > 0), as published',
    metrics,
    servingNs: servingNs(trained.model, test, timing),
    servingPath: 'integer MLP (x1024), plain TypeScript, one read',
    trainSeconds,
    joint,
    test: { rows: test.rows, scores, labels: testLabels },
  };
}
