/**
 * What `lake train` decides before and after training, as library functions: which vectors to train on (one
 * device, or every device pooled in time order), the latency threshold that labels them (given, a
 * percentile, or the inflection point refined by simulated revocation), whether the training and
 * validation parts hold both classes, and the warnings a trained model's figures carry. Each refusal is a
 * usage error whose message names the flag (`how`/`flag` arguments) that led to it.
 */
import { usageError } from '../errors.js';
import { majorityWarning } from '../learn/metrics.js';
import { concatDatasets, type DeviceDataset, type LinnosDataset, orderByIndex } from './dataset.js';
import {
  fixedPercentileThreshold,
  inflectionPoint,
  type LatencyThreshold,
  refineThreshold,
} from './labels.js';
import {
  type ClassCounts,
  fewReadsWarnings,
  thresholdReadsProblem,
  trainingPartsProblem,
} from './minimums.js';
import type { TrainingReport } from './train.js';

export interface TrainingSelection {
  data: LinnosDataset;
  /** Position of the selected device in the datasets, or -1 when pooled. */
  position: number;
  device?: number;
}

/** The vectors of `device`, or every device's pooled in record (time) order when it is undefined. */
export function selectTrainingData(datasets: DeviceDataset[], device: number | undefined): TrainingSelection {
  if (device !== undefined) {
    const position = datasets.findIndex((d) => d.device === device);
    if (position < 0) {
      throw usageError(
        `--device ${device}: no vectors for it (have ${datasets.map((d) => d.device).join(', ') || 'none'})`,
      );
    }
    return { data: datasets[position]!, position, device };
  }
  if (datasets.length === 1) return { data: datasets[0]!, position: 0, device: datasets[0]!.device };
  return { data: orderByIndex(concatDatasets(datasets)), position: -1 };
}

/** How the label threshold is set; `text` is the value as the user typed it (quoted in errors). */
export type ThresholdChoice =
  | { kind: 'fixed'; thresholdUs: number; text: string }
  | { kind: 'percentile'; percentile: number; text: string }
  | { kind: 'inflection'; refine: boolean; revokeCostUs: number };

/**
 * The threshold labelling the selection's reads slow above it. The inflection point is refined on every
 * device's latencies (the selected device's position among them) or, pooled, on the pooled latencies.
 */
export function chooseLabelThreshold(
  choice: ThresholdChoice,
  datasets: readonly DeviceDataset[],
  selection: TrainingSelection,
  seed: number,
): LatencyThreshold {
  const latencies = selection.data.latencyUs;
  if (choice.kind === 'fixed') {
    const { thresholdUs } = choice;
    checkBothClasses(latencies, thresholdUs, `--threshold ${choice.text}`);
    let atMost = 0;
    for (const l of latencies) if (l <= thresholdUs) atMost++;
    return { thresholdUs, percentile: (100 * atMost) / Math.max(1, latencies.length), method: 'fixed' };
  }
  const problem = thresholdReadsProblem('the training data', latencies.length);
  if (problem !== undefined) throw usageError(`${problem}; give --threshold US to label them anyway`);
  if (choice.kind === 'percentile') {
    const threshold = fixedPercentileThreshold(latencies, choice.percentile);
    checkBothClasses(latencies, threshold.thresholdUs, `--percentile ${choice.text}`);
    return threshold;
  }
  const tangent = inflectionPoint(latencies);
  if (!choice.refine) return tangent;
  const pooled = selection.position < 0;
  return refineThreshold({
    latenciesByDevice: pooled ? [latencies] : datasets.map((d) => d.latencyUs),
    device: pooled ? 0 : selection.position,
    start: tangent,
    revokeCostUs: choice.revokeCostUs,
    seed,
  });
}

/** A threshold that puts every read in one class leaves nothing to learn: refused, naming how it was set. */
export function checkBothClasses(latencies: ArrayLike<number>, thresholdUs: number, how: string): void {
  let slow = 0;
  for (let i = 0; i < latencies.length; i++) if (latencies[i]! > thresholdUs) slow++;
  if (slow === 0 || slow === latencies.length) {
    throw usageError(
      `${how}: all ${latencies.length} reads are ${slow === 0 ? 'fast' : 'slow'} (slow above ${thresholdUs} us): ` +
        'a model needs slow and fast reads to learn from',
    );
  }
}

/** Reads and slow reads among labels[from..to). */
export function classCounts(labels: Uint8Array, from: number, to: number): ClassCounts {
  let slow = 0;
  for (let i = from; i < to; i++) slow += labels[i]!;
  return { count: to - from, slow };
}

/**
 * With a time split the validation part is the last vectors, known before training: why its parts cannot
 * be trained and judged on (see trainingPartsProblem), or undefined. A random split is checked after.
 */
export function timeSplitProblem(labels: Uint8Array, validationFraction: number): string | undefined {
  const count = labels.length;
  const trainCount = count - Math.round(count * validationFraction);
  return trainingPartsProblem({
    train: classCounts(labels, 0, trainCount),
    ...(trainCount < count ? { validation: classCounts(labels, trainCount, count) } : {}),
  });
}

/** Why the parts a finished training used cannot be judged on, or undefined (labels: all the labels). */
export function trainedPartsProblem(report: TrainingReport, labels: Uint8Array): string | undefined {
  const scored: ClassCounts = { count: report.quality.count, slow: report.quality.slow };
  if (report.qualityOn !== 'validation') return trainingPartsProblem({ train: scored });
  const totalSlow = classCounts(labels, 0, labels.length).slow;
  return trainingPartsProblem({
    train: { count: report.trainCount, slow: totalSlow - scored.slow },
    validation: scored,
  });
}

/** The warnings a trained model's quality figures carry: scored on its own training vectors, few reads of a
 * class, no better than the majority rate. */
export function trainingWarnings(report: TrainingReport): string[] {
  const warnings: string[] = [];
  if (report.qualityOn === 'train') {
    warnings.push(
      'quality is measured on the training vectors themselves (--validation 0): it says nothing about reads the model has not seen',
    );
  }
  const scored: ClassCounts = { count: report.quality.count, slow: report.quality.slow };
  warnings.push(...fewReadsWarnings(`the ${report.qualityOn} part`, scored));
  const majority = majorityWarning('the model', report.quality);
  if (majority !== undefined) warnings.push(majority);
  return warnings;
}
