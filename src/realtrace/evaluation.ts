/**
 * What every pipeline's evaluation reports, and the time-ordered split they share.
 *
 * The split: the first half of the trace's I/Os in submit order trains, the second half tests; only reads
 * are predicted. Training uses only the longest prefix of the first half whose I/Os had all completed when the
 * first test I/O was submitted (knownPrefix): a model trained at that moment could not have seen the others'
 * latencies, nor labels that depend on them. The extractor state simply runs on, so the first test reads see
 * the history an online predictor would have.
 */
import { LakeError } from '../errors.js';
import { type ClassifierReport, evaluateScores } from '../learn/metrics.js';
import type { IoTable } from './io-table.js';

export type PipelineName = 'linnos' | 'heimdall' | 'lake';
export const pipelineNames: readonly PipelineName[] = ['linnos', 'heimdall', 'lake'];

export interface LabelSummary {
  /** How reads were labelled slow. */
  method: string;
  /** The latency threshold behind the labels, us (for period labels: the latency knee). */
  thresholdUs: number;
  /** Its percentile in the training latencies (0-100). */
  percentile: number;
  /** Fractions of training / test reads labelled slow. */
  trainSlowFraction: number;
  testSlowFraction: number;
}

/** Quality of a joint (batched) predictor deciding P reads at once. */
export interface JointEvaluation {
  p: number;
  groups: number;
  metrics: ClassifierReport;
  /** ns per decision of P reads, and per read. */
  servingNsPerGroup: number;
  servingNsPerRead: number;
}

export interface PipelineEvaluation {
  pipeline: PipelineName;
  /** 'causal' (features from completed I/Os only) or 'as-published' (Heimdall's offline protocol). */
  variant: 'causal' | 'as-published';
  /** True when features use latencies not yet known at submit time. */
  leaksFuture: boolean;
  /** Why, when they do (printed in every output). */
  leakNote?: string;
  split: 'time' | 'random';
  features: readonly string[];
  model: string;
  trainCount: number;
  testCount: number;
  labels: LabelSummary;
  /** Score above which a read is predicted slow. */
  decisionThreshold: number;
  /** How the decision threshold was chosen. */
  thresholdRule: string;
  /** At the decision threshold, plus ROC-AUC and PR-AUC over all thresholds. */
  metrics: ClassifierReport;
  /** Serving cost of one prediction at P = 1 (model only), ns. */
  servingNs: number;
  /** What the serving number measures. */
  servingPath: string;
  /** ns per event (submit or completion) to keep the feature state up to date, where measured. */
  featureNsPerEvent?: number;
  /** ns to read a read's feature vector out at its submit, where measured. */
  featureNsPerRead?: number;
  trainSeconds: number;
  /** Lake with retraining while serving (refit.ts): how often, how many, and what each cost. */
  refit?: RefitSummary;
  joint: JointEvaluation[];
  /** The same test scores against the truths shared by every causal pipeline (time-ordered split only). */
  crossTruth?: CrossTruth;
  /** Test reads (I/O indices), their scores and labels, for further analysis. */
  test: { rows: Int32Array; scores: Float64Array; labels: Uint8Array };
}

export interface RefitSummary {
  /** Retrain after this many newly known test labels. */
  every: number;
  /** Trace time from a retrain's start until its model serves, us. */
  delayUs: number;
  /** Retrains that went live during the test half. */
  refits: number;
  /** Mean training time of one retrain, s. */
  secondsPerRefit: number;
}

/** ROC-AUC and PR-AUC of a pipeline's test scores against one shared truth. */
export interface TruthScore {
  rocAuc: number;
  prAuc: number;
  /** Fraction of the scored reads slow under this truth. */
  slowFraction: number;
}

/**
 * Two truths every causal pipeline is scored against, so pipelines with different labels compare on the
 * same ground: `period` (Heimdall's period labels of the test half with the training thresholds, not
 * filtered) and `latency` (read latency above the inflection point of the training reads' latencies).
 */
export interface CrossTruth {
  period: TruthScore;
  latency: TruthScore;
}

/** The steps of an evaluation, reported as they start (the CLI draws its progress line from them). */
export type EvalStageName = 'features' | 'labels' | 'training' | 'scoring' | 'timing';

export interface EvalStage {
  stage: EvalStageName;
  /** How many I/Os or reads the step works on. */
  count: number;
  unit: 'I/Os' | 'reads';
  /** A detail worth showing ('joint P=3', 'shared truths'). */
  detail?: string;
}

/** Called as each step of an evaluation starts. */
export type OnEvalStage = (stage: EvalStage) => void;

/** The index of the first test I/O: the first half (in submit order) trains. */
export function splitIndex(table: IoTable): number {
  return Math.floor(table.count / 2);
}

/**
 * The training labeller's range: the longest prefix [0, k) of the I/Os all completed when the split I/O was
 * submitted (k <= split). Knees, medians and period labels computed over it use only latencies known at the
 * split, and a period label near its end looks ahead no further than k, as a labeller run at the split would.
 */
export function knownPrefix(table: IoTable, split: number): number {
  let k = 0;
  while (k < split && completedBefore(table, k, split)) k++;
  if (k === 0) {
    throw new LakeError('LAKE_E_USAGE', 'no I/O of the first half completed before the second half began');
  }
  return k;
}

/** Whether I/O `io` had completed when the I/O `at` was submitted (at equal times it had, if earlier). */
export function completedBefore(table: IoTable, io: number, at: number): boolean {
  if (at >= table.count) return true;
  const c = table.completeUs[io]!;
  const t = table.submitUs[at]!;
  return c < t || (c === t && io < at);
}

/** Share of reads revoked at the decision threshold above which a result is flagged. */
const REVOKE_ALL_FRACTION = 0.9;

/**
 * What makes a result hard to read, said in words: no ROC-AUC because the test reads all carry one label,
 * or a decision threshold (chosen on training data) that revokes nearly every test read or none.
 */
export function resultWarnings(r: PipelineEvaluation): string[] {
  const warnings: string[] = [];
  const m = r.metrics;
  const c = m.confusion;
  const count = c.truePositive + c.falsePositive + c.trueNegative + c.falseNegative;
  if (count === 0) return warnings;
  const slow = c.truePositive + c.falseNegative;
  if (slow === 0 || slow === count) {
    warnings.push(
      `ROC-AUC is undefined: every test read is labelled ${slow === 0 ? 'fast' : 'slow'} (label threshold ${r.labels.thresholdUs} us)`,
    );
    return warnings;
  }
  const revoked = (c.truePositive + c.falsePositive) / count;
  if (revoked >= REVOKE_ALL_FRACTION || revoked <= 1 - REVOKE_ALL_FRACTION) {
    warnings.push(
      `its decision threshold revokes ${(revoked * 100).toFixed(1)}% of the test reads: the threshold chosen on ` +
        'the training half does not carry over to the test half (the ranking, ROC-AUC, may still be sound)',
    );
  }
  return warnings;
}

export function fraction(labels: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s += labels[i]!;
  return labels.length === 0 ? Number.NaN : s / labels.length;
}

export { evaluateScores };
