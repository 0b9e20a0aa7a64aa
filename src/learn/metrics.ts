/**
 * Quality of a fast/slow classifier. Slow (label 1) is the positive class throughout:
 * - false submit: a slow read predicted fast (a false negative). LinnOS submits it and the application
 *   waits milliseconds. falseSubmitRate = FN / (TP + FN) = 1 - recall (the false-negative rate).
 * - false revoke: a fast read predicted slow (a false positive). It costs a revoke and a re-issue, a few us.
 *   falseRevokeRate = FP / (FP + TN) (the false-positive rate).
 * A score is "how slow": the read is predicted slow iff score > threshold (a tie is fast, as in the integer
 * LinnOS path, where o1 > o0 is required). Rates with an empty denominator are NaN.
 */

export interface Confusion {
  /** Slow predicted slow. */
  truePositive: number;
  /** Fast predicted slow (false revokes). */
  falsePositive: number;
  /** Fast predicted fast. */
  trueNegative: number;
  /** Slow predicted fast (false submits). */
  falseNegative: number;
}

export interface Quality {
  count: number;
  /** Reads labelled slow. */
  slow: number;
  accuracy: number;
  /** Accuracy of always predicting the more frequent class: the bar a model must clear. */
  majorityRate: number;
  /** FN / (TP + FN). */
  falseSubmitRate: number;
  /** FP / (FP + TN). */
  falseRevokeRate: number;
  /** TP / (TP + FP). */
  precision: number;
  /** TP / (TP + FN). */
  recall: number;
  /** Harmonic mean of precision and recall. */
  f1: number;
}

export interface ClassifierReport extends Quality {
  threshold: number;
  confusion: Confusion;
  /** Area under the ROC curve (ties in score count half). */
  rocAuc: number;
  /** Area under the precision-recall curve as average precision (scikit-learn's definition). */
  prAuc: number;
}

function checkLengths(scores: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (scores.length !== labels.length) {
    throw new RangeError(`scores (${scores.length}) and labels (${labels.length}) differ in length`);
  }
}

/** Confusion matrix with predicted slow iff scores[i] > threshold; labels are 1 (slow) or 0 (fast). */
export function confusionAt(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold = 0): Confusion {
  checkLengths(scores, labels);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const slow = labels[i] === 1;
    if (scores[i]! > threshold) {
      if (slow) tp++;
      else fp++;
    } else if (slow) fn++;
    else tn++;
  }
  return { truePositive: tp, falsePositive: fp, trueNegative: tn, falseNegative: fn };
}

export function qualityOf(c: Confusion): Quality {
  const slow = c.truePositive + c.falseNegative;
  const fast = c.falsePositive + c.trueNegative;
  const count = slow + fast;
  const precision = c.truePositive / (c.truePositive + c.falsePositive);
  const recall = c.truePositive / slow;
  return {
    count,
    slow,
    accuracy: (c.truePositive + c.trueNegative) / count,
    majorityRate: Math.max(slow, fast) / count,
    falseSubmitRate: c.falseNegative / slow,
    falseRevokeRate: c.falsePositive / fast,
    precision,
    recall,
    f1: (2 * c.truePositive) / (2 * c.truePositive + c.falsePositive + c.falseNegative),
  };
}

/** Indices sorted by score ascending. */
function orderByScore(scores: ArrayLike<number>): Int32Array {
  const order = new Int32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => scores[a]! - scores[b]!);
}

/**
 * Exact ROC-AUC by the Mann-Whitney rank sum, tied scores sharing their average rank:
 * AUC = (sum of positive ranks - P(P+1)/2) / (P N). NaN when one class is absent.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkLengths(scores, labels);
  const order = orderByScore(scores);
  const n = order.length;
  let positives = 0;
  let rankSum = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    const s = scores[order[i]!]!;
    let tiedPositives = 0;
    while (j < n && scores[order[j]!]! === s) {
      if (labels[order[j]!] === 1) tiedPositives++;
      j++;
    }
    // Ranks i+1..j share the average (i + 1 + j) / 2.
    rankSum += (tiedPositives * (i + 1 + j)) / 2;
    positives += tiedPositives;
    i = j;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Average precision: sum over distinct score thresholds (descending) of (R_k - R_{k-1}) * P_k, tied scores
 * entering together (scikit-learn's average_precision_score). NaN when there is no positive.
 */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkLengths(scores, labels);
  const order = orderByScore(scores);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) positives++;
  if (positives === 0) return Number.NaN;
  let tp = 0;
  let seen = 0;
  let ap = 0;
  let lastRecall = 0;
  let j = order.length - 1;
  while (j >= 0) {
    const s = scores[order[j]!]!;
    while (j >= 0 && scores[order[j]!]! === s) {
      if (labels[order[j]!] === 1) tp++;
      seen++;
      j--;
    }
    const recall = tp / positives;
    ap += (recall - lastRecall) * (tp / seen);
    lastRecall = recall;
  }
  return ap;
}

/** Everything at once: confusion and rates at `threshold`, plus ROC-AUC and PR-AUC over all thresholds. */
export function evaluateScores(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold = 0,
): ClassifierReport {
  const confusion = confusionAt(scores, labels, threshold);
  return {
    ...qualityOf(confusion),
    threshold,
    confusion,
    rocAuc: rocAuc(scores, labels),
    prAuc: averagePrecision(scores, labels),
  };
}

/**
 * Whether a classifier is no better than always predicting the more frequent class: accuracy at or below
 * the majority rate (on the same reads). Its decisions are worth no more than a constant guess; lake train
 * and lake demo warn about it. False when either figure is undefined (no reads).
 */
export function noBetterThanMajority(quality: Pick<Quality, 'accuracy' | 'majorityRate'>): boolean {
  return (
    Number.isFinite(quality.accuracy) &&
    Number.isFinite(quality.majorityRate) &&
    quality.accuracy <= quality.majorityRate
  );
}

/**
 * ROC-AUC from which a model's scores are said to rank reads usefully even when its decisions are no better
 * than the majority rate: then the threshold, not the model, is what fails.
 */
export const RANKING_SIGNAL_AUC = 0.6;

/**
 * The warning for a model no better than the majority rate (`subject` names it), or undefined. With
 * ROC-AUC given, it says whether the scores still rank reads (a threshold problem) or not (nothing learnt).
 */
export function majorityWarning(
  subject: string,
  quality: Pick<Quality, 'accuracy' | 'majorityRate'> & { readonly rocAuc?: number },
): string | undefined {
  if (!noBetterThanMajority(quality)) return undefined;
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const head = `${subject}: accuracy ${pct(quality.accuracy)} is no better than the majority rate ${pct(quality.majorityRate)} (always predicting the more frequent class)`;
  const auc = quality.rocAuc;
  if (auc === undefined || !Number.isFinite(auc)) return `${head}; the model has learnt nothing usable`;
  if (auc >= RANKING_SIGNAL_AUC)
    return `${head}; its scores still rank reads (ROC-AUC ${auc.toFixed(3)}), so its decision threshold, not what it learnt, is what fails`;
  return `${head} and its scores barely rank reads (ROC-AUC ${auc.toFixed(3)}); the model has learnt nothing usable`;
}
