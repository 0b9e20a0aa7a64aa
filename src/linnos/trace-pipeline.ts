/**
 * The LinnOS pipeline on a recorded trace, causal and time-ordered: the 31-digit features from the event
 * stream (the device state src/array/device-state.ts keeps online: pending 4 KiB pages now, and the last 4
 * COMPLETED reads' pending-at-issue and latency), labels by the inflection point of the training reads'
 * latency CDF (tangent method; slow iff latency > threshold), the 31-256-2 network trained as LinnOS trains
 * it (src/linnos/train.ts), served by the project's kernels (src/kernels: WASM int16 where it runs).
 * A read's score is the logit margin o1 - o0; the decision is o1 > o0, as LinnOS decides.
 */
import { DeviceState } from '../array/device-state.js';
import { LakeError } from '../errors.js';
import { createPredictor } from '../kernels/create.js';
import { evaluateScores } from '../learn/metrics.js';
import {
  completedBefore,
  fraction,
  type OnEvalStage,
  type PipelineEvaluation,
  splitIndex,
} from '../realtrace/evaluation.js';
import { type CausalFeatureExtractor, extractCausal, selectFeatureRows } from '../realtrace/event-stream.js';
import type { IoTable } from '../realtrace/io-table.js';
import { timeServing } from '../realtrace/serving-time.js';
import { LINNOS_FEATURES, LINNOS_HISTORY, linnosFeatures } from './features.js';
import { inflectionPoint } from './labels.js';
import { trainLinnos } from './train.js';

const NAMES: readonly string[] = [
  ...Array.from({ length: 12 }, (_, k) => `pend_hist_digit_${k}`),
  'pend_now_digit_0',
  'pend_now_digit_1',
  'pend_now_digit_2',
  ...Array.from({ length: 16 }, (_, k) => `lat_hist_digit_${k}`),
];

/** LinnOS's 31 digits from the event stream (one device). */
export class LinnosExtractor implements CausalFeatureExtractor {
  readonly names = NAMES;
  readonly #state = new DeviceState(0);
  readonly #digits = new Uint8Array(LINNOS_FEATURES);
  #pendingAtIssue = new Float64Array(1024);

  featuresAt(_timeUs: number, size: number, _read: boolean, out: Float64Array, offset: number): boolean {
    if (this.#state.completedReads < LINNOS_HISTORY) return false;
    linnosFeatures(this.#state, size, this.#digits, 0);
    for (let k = 0; k < LINNOS_FEATURES; k++) out[offset + k] = this.#digits[k]!;
    return true;
  }

  onSubmit(io: number, _timeUs: number, size: number, _read: boolean): void {
    if (io >= this.#pendingAtIssue.length) {
      const grown = new Float64Array(Math.max(io + 1, this.#pendingAtIssue.length * 2));
      grown.set(this.#pendingAtIssue);
      this.#pendingAtIssue = grown;
    }
    this.#pendingAtIssue[io] = this.#state.submit(size);
  }

  onComplete(io: number, timeUs: number, latencyUs: number, size: number, read: boolean): void {
    this.#state.complete(read, size, this.#pendingAtIssue[io]!, latencyUs, timeUs);
  }
}

export interface LinnosPipelineOptions {
  /** Default 15 (LinnOS's). */
  epochs?: number;
  /** Default 1. */
  seed?: number;
  /** Time the serving path (default true). */
  timeServing?: boolean;
  /** Told as each step starts (progress). */
  onStage?: OnEvalStage;
}

export function runLinnos(table: IoTable, options: LinnosPipelineOptions = {}): PipelineEvaluation {
  const split = splitIndex(table);
  const onStage = options.onStage ?? (() => undefined);
  onStage({ stage: 'features', count: table.count, unit: 'I/Os' });
  const all = extractCausal(table, new LinnosExtractor());
  const train = selectFeatureRows(all, (io) => io < split && completedBefore(table, io, split));
  const test = selectFeatureRows(all, (io) => io >= split);
  if (train.count === 0 || test.count === 0) {
    throw new LakeError('LAKE_E_USAGE', 'linnos: the trace has too few reads for a train/test split');
  }
  onStage({ stage: 'labels', count: train.count, unit: 'reads' });
  const trainLatency = Float64Array.from(train.rows, (io) => table.latencyUs[io]!);
  const threshold = inflectionPoint(trainLatency);
  const label = (io: number): number => (table.latencyUs[io]! > threshold.thresholdUs ? 1 : 0);
  const trainLabels = Uint8Array.from(train.rows, label);
  const testLabels = Uint8Array.from(test.rows, label);
  onStage({ stage: 'training', count: train.count, unit: 'reads' });
  const started = performance.now();
  const { model } = trainLinnos(
    { vectors: Uint8Array.from(train.values), labels: trainLabels },
    { epochs: options.epochs ?? 15, seed: options.seed ?? 1 },
  );
  const trainSeconds = (performance.now() - started) / 1000;
  const predictor = createPredictor(model);
  try {
    const testDigits = Uint8Array.from(test.values);
    const views = Array.from({ length: test.count }, (_, r) =>
      testDigits.subarray(r * LINNOS_FEATURES, (r + 1) * LINNOS_FEATURES),
    );
    onStage({ stage: 'scoring', count: test.count, unit: 'reads' });
    const logits = new Float64Array(2);
    const scores = new Float64Array(test.count);
    for (let r = 0; r < test.count; r++) {
      predictor.scores(views[r]!, logits);
      scores[r] = logits[1]! - logits[0]!;
    }
    if (options.timeServing !== false)
      onStage({ stage: 'timing', count: Math.min(test.count, 4096), unit: 'reads' });
    const servingNs =
      options.timeServing === false
        ? Number.NaN
        : timeServing((r) => predictor.predict(views[r]!), Math.min(test.count, 4096)).nsPerPrediction;
    return {
      pipeline: 'linnos',
      variant: 'causal',
      leaksFuture: false,
      split: 'time',
      features: all.names,
      model: '31-256-2 ReLU MLP on digits, hinge loss (slow x5), Adam',
      trainCount: train.count,
      testCount: test.count,
      labels: {
        method: 'latency > inflection point of the training reads (tangent method)',
        thresholdUs: threshold.thresholdUs,
        percentile: threshold.percentile,
        trainSlowFraction: fraction(trainLabels),
        testSlowFraction: fraction(testLabels),
      },
      decisionThreshold: 0,
      thresholdRule: 'o1 > o0 (LinnOS)',
      metrics: evaluateScores(scores, testLabels, 0),
      servingNs,
      servingPath: `31-256-2 on the ${predictor.backend} kernel, one read`,
      trainSeconds,
      joint: [],
      test: { rows: test.rows, scores, labels: testLabels },
    };
  } finally {
    predictor.dispose();
  }
}
