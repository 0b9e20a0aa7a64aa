/**
 * The lake pipeline: causal features from the event stream (lake-features.ts), Heimdall's period labels as
 * the target (computed with the training half's thresholds, NOT noise-filtered: the model meets every read
 * at test time, so it learns from every read), a compact model, and a decision threshold calibrated to a
 * false-submit budget on the most recent fifth of the training reads. docs/lake-pipeline.md explains why.
 *
 * Models: 'linear' (default; L2 logistic regression on the log-scaled features: one dot product to serve,
 * deterministic to train) or 'gbdt' (40 trees of depth 4). Calibration: fit on the first 80% of the
 * training reads, choose the threshold on the last 20% (out of sample, and closest in time to what comes
 * next), then refit on all of them and keep that threshold. While it serves the test half, the model is
 * retrained on every read labelled so far each time DEFAULT_REFIT_EVERY more labels have become known
 * (refit.ts: a label counts only once every I/O it depends on has completed).
 */
import { LakeError } from '../errors.js';
import { type GbdtModel, gbdtScore, trainGbdt } from '../learn/gbdt.js';
import { type LinearModel, linearScore, trainLogistic } from '../learn/logistic.js';
import { evaluateScores } from '../learn/metrics.js';
import { thresholdForFalseSubmitBudget } from './calibrate.js';
import {
  fraction,
  knownPrefix,
  type OnEvalStage,
  type PipelineEvaluation,
  splitIndex,
} from './evaluation.js';
import { extractCausal, type FeatureSet, selectFeatureRows } from './event-stream.js';
import { heimdallPeriodLabels, heimdallThresholds } from './heimdall-labels.js';
import type { IoTable } from './io-table.js';
import { LakeExtractor } from './lake-features.js';
import { DEFAULT_REFIT_DELAY_US, periodLabelKnownUs, scoreWithRefits } from './refit.js';
import { timeFeatures, timeServing } from './serving-time.js';

export type LakeModelKind = 'linear' | 'gbdt';
export const lakeModelKinds: readonly LakeModelKind[] = ['linear', 'gbdt'];

/** Default false-submit budget: at most a fifth of the slow reads may be submitted. */
export const DEFAULT_FALSE_SUBMIT_BUDGET = 0.2;
const CALIBRATION_FRACTION = 0.2;
const GBDT_SHAPE = { trees: 40, depth: 4, learningRate: 0.1 } as const;
/**
 * Retrain while serving after every 4,000 newly known test labels (refit.ts). 1,000, 2,000 and 4,000 gave
 * the same ROC-AUC on the real windows (docs/lake-pipeline.md); 4,000 retrains least.
 */
export const DEFAULT_REFIT_EVERY = 4000;

/** A trained lake model: a score (log-odds of slow) and the threshold above which a read is revoked. */
export interface LakeModel {
  readonly kind: LakeModelKind;
  readonly width: number;
  readonly threshold: number;
  readonly linear?: LinearModel;
  readonly gbdt?: GbdtModel;
}

/** The score of row x[offset..]; allocation-free. */
export function lakeScore(model: LakeModel, x: ArrayLike<number>, offset: number): number {
  return model.linear !== undefined
    ? linearScore(model.linear, x, offset)
    : gbdtScore(model.gbdt!, x, offset);
}

export interface LakeTrainOptions {
  model?: LakeModelKind;
  falseSubmitBudget?: number;
}

function fitOnce(kind: LakeModelKind, values: Float64Array, labels: Uint8Array, width: number) {
  return kind === 'linear'
    ? { kind, width, linear: trainLogistic(values, labels, width) }
    : { kind, width, gbdt: trainGbdt(values, labels, width, GBDT_SHAPE) };
}

/** Train on rows in time order (count x width) and calibrate the threshold; see the module comment. */
export function trainLakeModel(
  values: Float64Array,
  labels: Uint8Array,
  width: number,
  options: LakeTrainOptions = {},
): LakeModel {
  const kind = options.model ?? 'linear';
  if (!lakeModelKinds.includes(kind)) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `the lake model must be one of ${lakeModelKinds.join(', ')}, got ${kind}`,
    );
  }
  const budget = options.falseSubmitBudget ?? DEFAULT_FALSE_SUBMIT_BUDGET;
  const count = labels.length;
  const cut = Math.floor(count * (1 - CALIBRATION_FRACTION));
  if (cut === 0 || cut === count)
    throw new LakeError('LAKE_E_USAGE', `lake: too few training reads (${count})`);
  const first = fitOnce(kind, values.subarray(0, cut * width), labels.subarray(0, cut), width);
  const calibration = new Float64Array(count - cut);
  for (let r = cut; r < count; r++)
    calibration[r - cut] = lakeScore({ ...first, threshold: 0 }, values, r * width);
  const threshold = thresholdForFalseSubmitBudget(calibration, labels.subarray(cut), budget);
  return { ...fitOnce(kind, values, labels, width), threshold };
}

export interface LakePipelineOptions extends LakeTrainOptions {
  /** Time the serving path (default true). */
  timeServing?: boolean;
  /** Told as each step starts (progress). */
  onStage?: OnEvalStage;
  /**
   * Retrain on every read labelled so far each time this many test-read labels have become known
   * (refit.ts; default DEFAULT_REFIT_EVERY; 0 = never). Test scores are then margins over the live
   * model's threshold.
   */
  refitEvery?: number;
  /** Trace time a retrain takes to go live, us (default 1 s). */
  refitDelayUs?: number;
}

function scoresOf(model: LakeModel, set: FeatureSet): Float64Array {
  const out = new Float64Array(set.count);
  for (let r = 0; r < set.count; r++) out[r] = lakeScore(model, set.values, r * set.width);
  return out;
}

export function runLake(table: IoTable, options: LakePipelineOptions = {}): PipelineEvaluation {
  const split = splitIndex(table);
  const known = knownPrefix(table, split);
  const onStage = options.onStage ?? (() => undefined);
  onStage({ stage: 'labels', count: table.count, unit: 'I/Os' });
  const thresholds = heimdallThresholds(table, 0, known);
  const trainMarks = heimdallPeriodLabels(table, 0, known, thresholds);
  const testMarks = heimdallPeriodLabels(table, split, table.count, thresholds);
  onStage({ stage: 'features', count: table.count, unit: 'I/Os' });
  const all = extractCausal(table, new LakeExtractor());
  const train = selectFeatureRows(all, (io) => io < known);
  const test = selectFeatureRows(all, (io) => io >= split);
  if (test.count === 0) throw new LakeError('LAKE_E_USAGE', 'lake: no test reads');
  const trainLabels = Uint8Array.from(train.rows, (io) => trainMarks.tail[io]!);
  const testLabels = Uint8Array.from(test.rows, (io) => testMarks.tail[io]!);
  onStage({ stage: 'training', count: train.count, unit: 'reads' });
  const started = performance.now();
  const model = trainLakeModel(train.values, trainLabels, train.width, options);
  const trainSeconds = (performance.now() - started) / 1000;
  const refitEvery = options.refitEvery ?? DEFAULT_REFIT_EVERY;
  // One model: its scores against its threshold. Retraining: margins over the live model's threshold.
  let scores: Float64Array;
  let decisionThreshold: number;
  let refit: PipelineEvaluation['refit'];
  onStage({
    stage: 'scoring',
    count: test.count,
    unit: 'reads',
    ...(refitEvery > 0 ? { detail: `retraining every ${refitEvery} known labels` } : {}),
  });
  if (refitEvery <= 0) {
    scores = scoresOf(model, test);
    decisionThreshold = model.threshold;
  } else {
    const knownUs = periodLabelKnownUs(table, split);
    const delayUs = options.refitDelayUs ?? DEFAULT_REFIT_DELAY_US;
    const result = scoreWithRefits(
      { values: train.values, labels: trainLabels },
      {
        values: test.values,
        labels: testLabels,
        submitUs: Float64Array.from(test.rows, (io) => table.submitUs[io]!),
        labelKnownUs: Float64Array.from(test.rows, (io) => knownUs[io]!),
      },
      train.width,
      {
        initial: model,
        train: (values, labels, width) => trainLakeModel(values, labels, width, options),
        score: lakeScore,
      },
      { every: refitEvery, delayUs },
    );
    scores = result.margins;
    decisionThreshold = 0;
    refit = { every: refitEvery, delayUs, refits: result.refits, secondsPerRefit: result.secondsPerRefit };
  }
  const budget = options.falseSubmitBudget ?? DEFAULT_FALSE_SUBMIT_BUDGET;
  const timing = options.timeServing !== false;
  if (timing) onStage({ stage: 'timing', count: Math.min(test.count, 4096), unit: 'reads' });
  const servingNs = timing
    ? timeServing((r) => lakeScore(model, test.values, r * test.width), Math.min(test.count, 4096))
        .nsPerPrediction
    : Number.NaN;
  const featureTime = timing ? timeFeatures(table, () => new LakeExtractor()) : undefined;
  return {
    pipeline: 'lake',
    variant: 'causal',
    leaksFuture: false,
    split: 'time',
    features: all.names,
    model:
      (model.kind === 'linear'
        ? `L2 logistic regression on ${all.width} causal features (one dot product)`
        : `GBDT, ${GBDT_SHAPE.trees} trees of depth ${GBDT_SHAPE.depth}, on ${all.width} causal features`) +
      (refitEvery > 0 ? `, retrained every ${refitEvery} known test labels on all labelled reads` : ''),
    trainCount: train.count,
    testCount: test.count,
    labels: {
      method: 'Heimdall period labels (training thresholds), not noise-filtered',
      thresholdUs: thresholds.latencyKneeUs,
      percentile: thresholds.latencyKneePercentile,
      trainSlowFraction: fraction(trainLabels),
      testSlowFraction: fraction(testLabels),
    },
    decisionThreshold,
    thresholdRule:
      `false-submit budget ${budget} on the last ${CALIBRATION_FRACTION * 100}% of the training reads` +
      (refit !== undefined ? ' (of each retrain; scores are margins over the live threshold)' : ''),
    metrics: evaluateScores(scores, testLabels, decisionThreshold),
    servingNs,
    servingPath: `${model.kind} model on the feature vector, plain TypeScript, one read`,
    ...(featureTime !== undefined
      ? { featureNsPerEvent: featureTime.nsPerEvent, featureNsPerRead: featureTime.nsPerRead }
      : {}),
    trainSeconds,
    ...(refit !== undefined ? { refit } : {}),
    joint: [],
    test: { rows: test.rows, scores, labels: testLabels },
  };
}
