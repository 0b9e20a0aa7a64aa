/**
 * One entry point for `lake eval`: run a pipeline on a trace and score its test reads against the shared
 * truths (CrossTruth in evaluation.ts), so LinnOS (latency labels), Heimdall and lake (period labels) can be
 * compared on the same ground.
 */
import { LakeError } from '../errors.js';
import { averagePrecision, rocAuc } from '../learn/metrics.js';
import { inflectionPoint } from '../linnos/labels.js';
import { runLinnos } from '../linnos/trace-pipeline.js';
import {
  type CrossTruth,
  completedBefore,
  knownPrefix,
  type OnEvalStage,
  type PipelineEvaluation,
  type PipelineName,
  pipelineNames,
  splitIndex,
  type TruthScore,
} from './evaluation.js';
import { heimdallPeriodLabels, heimdallThresholds } from './heimdall-labels.js';
import { runHeimdall } from './heimdall-pipeline.js';
import type { IoTable } from './io-table.js';
import { type LakeModelKind, runLake } from './lake-pipeline.js';

export interface EvalOptions {
  pipeline: PipelineName;
  /** Heimdall only: the published (leaky) protocol. */
  asPublished?: boolean;
  /** Training epochs of the neural pipelines (default: as published, 15 LinnOS / 20 Heimdall). */
  epochs?: number;
  seed?: number;
  /** Heimdall joint inference sizes besides P = 1 (default [3]). */
  joint?: readonly number[];
  lakeModel?: LakeModelKind;
  falseSubmitBudget?: number;
  /** Lake: retrain each time this many test labels have become known (default 4000; 0 = never). */
  lakeRefitEvery?: number;
  /** Time the serving paths (default true). */
  timeServing?: boolean;
  /** Told as each step of the pipeline starts (the CLI's progress line). */
  onStage?: OnEvalStage;
}

/** Per I/O of the table, 1 where the read is slow under each shared truth (test half only is meaningful). */
export interface SharedTruths {
  period: Uint8Array;
  latency: Uint8Array;
  latencyThresholdUs: number;
}

export function sharedTruths(table: IoTable): SharedTruths {
  const split = splitIndex(table);
  const thresholds = heimdallThresholds(table, 0, knownPrefix(table, split));
  const period = heimdallPeriodLabels(table, split, table.count, thresholds).tail;
  const trainReads: number[] = [];
  for (let i = 0; i < split; i++) {
    if (table.read[i] === 1 && completedBefore(table, i, split)) trainReads.push(table.latencyUs[i]!);
  }
  if (trainReads.length === 0) throw new LakeError('LAKE_E_USAGE', 'no training reads for the latency truth');
  const latencyThresholdUs = inflectionPoint(trainReads).thresholdUs;
  const latency = Uint8Array.from(table.latencyUs, (l, i) =>
    table.read[i] === 1 && l > latencyThresholdUs ? 1 : 0,
  );
  return { period, latency, latencyThresholdUs };
}

function truthScore(scores: Float64Array, rows: Int32Array, truth: Uint8Array): TruthScore {
  const labels = Uint8Array.from(rows, (io) => truth[io]!);
  let slow = 0;
  for (const l of labels) slow += l;
  return {
    rocAuc: rocAuc(scores, labels),
    prAuc: averagePrecision(scores, labels),
    slowFraction: labels.length === 0 ? Number.NaN : slow / labels.length,
  };
}

export function crossTruthOf(result: PipelineEvaluation, truths: SharedTruths): CrossTruth {
  const { rows, scores } = result.test;
  return {
    period: truthScore(scores, rows, truths.period),
    latency: truthScore(scores, rows, truths.latency),
  };
}

/** Run one pipeline (time-ordered and causal unless Heimdall's published protocol is asked for). */
export function evaluatePipeline(table: IoTable, options: EvalOptions): PipelineEvaluation {
  if (!pipelineNames.includes(options.pipeline)) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `--pipeline must be one of ${pipelineNames.join(', ')}, got ${JSON.stringify(options.pipeline)}`,
    );
  }
  if (options.asPublished === true && options.pipeline !== 'heimdall') {
    throw new LakeError('LAKE_E_USAGE', '--as-published applies to the heimdall pipeline only');
  }
  const common = {
    ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.timeServing !== undefined ? { timeServing: options.timeServing } : {}),
    ...(options.onStage !== undefined ? { onStage: options.onStage } : {}),
  };
  let result: PipelineEvaluation;
  switch (options.pipeline) {
    case 'linnos':
      result = runLinnos(table, common);
      break;
    case 'heimdall':
      result = runHeimdall(table, {
        ...common,
        asPublished: options.asPublished === true,
        ...(options.joint !== undefined ? { joint: options.joint } : {}),
      });
      break;
    case 'lake':
      result = runLake(table, {
        ...(options.timeServing !== undefined ? { timeServing: options.timeServing } : {}),
        ...(options.lakeModel !== undefined ? { model: options.lakeModel } : {}),
        ...(options.falseSubmitBudget !== undefined ? { falseSubmitBudget: options.falseSubmitBudget } : {}),
        ...(options.lakeRefitEvery !== undefined ? { refitEvery: options.lakeRefitEvery } : {}),
        ...(options.onStage !== undefined ? { onStage: options.onStage } : {}),
      });
      break;
  }
  if (result.split === 'time') {
    options.onStage?.({
      stage: 'scoring',
      count: result.testCount,
      unit: 'reads',
      detail: 'against the shared truths',
    });
    result.crossTruth = crossTruthOf(result, sharedTruths(table));
  }
  return result;
}
