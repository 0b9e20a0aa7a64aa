/**
 * Drift: a deployed predictor's accuracy wanders as the workload changes (Heimdall measured 63-82% over 8
 * hours and retrained when it fell below 80%). OnlineLake runs the lake pipeline online over the event
 * stream:
 * - every read is predicted at its submit with the ACTIVE model; when the read completes its truth is
 *   known (latency above the active model's label threshold — a label that needs nothing later than the
 *   read's own completion) and a rolling window of hits and misses gives the online accuracy;
 * - the active model's reference accuracy is its rolling accuracy over its first full window of reads in
 *   service; every `checkEvery` completed reads after that, if the rolling accuracy has fallen `tolerance`
 *   below the reference (or below `retrainBelow`, when given), a retrain starts in the background on the
 *   most recent `trainOn` completed reads (their features were kept at submit, their labels at
 *   completion). Measuring the reference in service rather than on training data makes the trigger about
 *   change, not about how optimistic the training-time figure was;
 * - the retrain takes `retrainDelayUs` of trace time (a deterministic stand-in for the wall-clock time a
 *   background worker needs); at the first event after that, the new model replaces the old one in a single
 *   assignment, so every prediction uses one whole model, old or new, never a mix.
 * With `retrain: false` the same stream runs with the first model throughout, for comparison.
 * The window, reference, trigger and swap are the drift watch's (src/learn/drift-watch.ts), shared with
 * online LinnOS; this file feeds it the lake pipeline's predictions and trains its models.
 */
import { LakeError } from '../errors.js';
import { DriftWatch } from '../learn/drift-watch.js';
import { inflectionPoint } from '../linnos/labels.js';
import { forEachEvent } from './event-stream.js';
import type { IoTable } from './io-table.js';
import { LakeExtractor } from './lake-features.js';
import {
  DEFAULT_FALSE_SUBMIT_BUDGET,
  type LakeModel,
  type LakeModelKind,
  lakeScore,
  trainLakeModel,
} from './lake-pipeline.js';

export interface DriftOptions {
  /** I/O index before which the first model trains (default: half the trace). */
  initialTrainEnd?: number;
  /** Reads in the rolling accuracy window (default 2000). */
  window?: number;
  /** Completed reads between checks (default 500). */
  checkEvery?: number;
  /**
   * Retrain when the rolling accuracy is this far below the model's reference accuracy (default 0.1: half
   * the 63-82% range Heimdall saw accuracy wander over, so ordinary wandering does not retrain).
   */
  tolerance?: number;
  /** An absolute retrain threshold instead (Heimdall used 0.8). */
  retrainBelow?: number;
  /** Recent completed reads a retrain learns from (default 10000). */
  trainOn?: number;
  /** Trace time a background retrain takes before its model is swapped in (default 50 ms). */
  retrainDelayUs?: number;
  /** Default true; false keeps the first model (the static baseline). */
  retrain?: boolean;
  model?: LakeModelKind;
  falseSubmitBudget?: number;
}

export interface Retrain {
  /** Read count (completed) and trace time when the retrain started. */
  startedAtRead: number;
  startedAtUs: number;
  /** Rolling accuracy that triggered it, and the bar it fell below. */
  rollingAccuracy: number;
  bar: number;
  /** Trace time the new model went live. */
  swappedAtUs: number;
  /** Wall-clock seconds the training took. */
  trainSeconds: number;
}

export interface DriftPoint {
  /** Completed reads so far. */
  reads: number;
  timeUs: number;
  rollingAccuracy: number;
  /** Generation of the active model (0 = the first). */
  generation: number;
}

export interface DriftReport {
  /** Reads predicted and resolved after the first model went live. */
  reads: number;
  /** Accuracy over all of them. */
  accuracy: number;
  retrains: Retrain[];
  timeline: DriftPoint[];
  minRollingAccuracy: number;
  maxRollingAccuracy: number;
}

interface Trained {
  model: LakeModel;
  /** Reads are slow iff latency > this. */
  thresholdUs: number;
}

function train(
  features: Float64Array,
  latency: Float64Array,
  width: number,
  options: { model?: LakeModelKind; falseSubmitBudget?: number },
): Trained {
  const thresholdUs = inflectionPoint(latency).thresholdUs;
  const labels = Uint8Array.from(latency, (l) => (l > thresholdUs ? 1 : 0));
  return { model: trainLakeModel(features, labels, width, options), thresholdUs };
}

/** Run the lake pipeline online over a trace; see the module comment. */
export function runOnline(table: IoTable, options: DriftOptions = {}): DriftReport {
  const trainEnd = options.initialTrainEnd ?? Math.floor(table.count / 2);
  const trainOn = options.trainOn ?? 10000;
  const delay = options.retrainDelayUs ?? 50_000;
  const fit = {
    ...(options.model !== undefined ? { model: options.model } : {}),
    falseSubmitBudget: options.falseSubmitBudget ?? DEFAULT_FALSE_SUBMIT_BUDGET,
  };
  if (!(trainEnd > 0 && trainEnd < table.count)) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `drift: initialTrainEnd must be inside the trace (1..${table.count - 1})`,
    );
  }
  const watch = new DriftWatch<Trained, { trainSeconds: number }>({
    window: options.window ?? 2000,
    checkEvery: options.checkEvery ?? 500,
    tolerance: options.tolerance ?? 0.1,
    ...(options.retrainBelow !== undefined ? { retrainBelow: options.retrainBelow } : {}),
    retrain: options.retrain !== false,
  });

  const extractor = new LakeExtractor();
  const width = extractor.names.length;
  // Completed reads with their features (kept at submit): a ring of the most recent `trainOn`.
  const keptFeatures = new Float64Array(trainOn * width);
  const keptLatency = new Float64Array(trainOn);
  let kept = 0;
  const pending = new Float64Array(table.count * width); // features at submit, by I/O
  const ready = new Uint8Array(table.count);
  const predicted = new Int8Array(table.count).fill(-1);

  const recentTrainingSet = (): { features: Float64Array; latency: Float64Array } => {
    const n = Math.min(kept, trainOn);
    const features = new Float64Array(n * width);
    const latency = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const slot = (kept - n + k) % trainOn;
      features.set(keptFeatures.subarray(slot * width, (slot + 1) * width), k * width);
      latency[k] = keptLatency[slot]!;
    }
    return { features, latency };
  };

  forEachEvent(table, {
    onSubmit(io) {
      const t = table.submitUs[io]!;
      const size = table.size[io]!;
      const read = table.read[io] === 1;
      watch.swapIfReady(t);
      if (io === trainEnd && watch.active === undefined && kept > 0) {
        // The first model learns from the reads completed before the online part starts.
        const set = recentTrainingSet();
        watch.start(train(set.features, set.latency, width, fit));
      }
      const active = watch.active;
      if (read && extractor.featuresAt(t, size, true, pending, io * width)) {
        ready[io] = 1;
        if (active !== undefined) {
          predicted[io] = lakeScore(active.model, pending, io * width) > active.model.threshold ? 1 : 0;
        }
      }
      extractor.onSubmit(io, t, size, read);
    },
    onComplete(io) {
      const t = table.completeUs[io]!;
      const latency = table.latencyUs[io]!;
      extractor.onComplete(io, t, latency, table.size[io]!, table.read[io] === 1);
      watch.swapIfReady(t);
      if (table.read[io] !== 1 || ready[io] !== 1) return;
      const slot = kept % trainOn;
      keptFeatures.set(pending.subarray(io * width, (io + 1) * width), slot * width);
      keptLatency[slot] = latency;
      kept++;
      const active = watch.active;
      if (active === undefined || predicted[io]! < 0) return; // before the first model went live
      const trigger = watch.record(predicted[io]!, latency > active.thresholdUs ? 1 : 0, t);
      if (trigger === undefined) return;
      const set = recentTrainingSet();
      const started = performance.now();
      const trained = train(set.features, set.latency, width, fit);
      watch.deliver(trained, t + delay, { trainSeconds: (performance.now() - started) / 1000 });
    },
  });
  const timeline = watch.checks.map(
    (c): DriftPoint => ({
      reads: c.resolved,
      timeUs: c.timeUs,
      rollingAccuracy: c.rollingAccuracy,
      generation: c.generation,
    }),
  );
  let minRolling = Number.POSITIVE_INFINITY;
  let maxRolling = Number.NEGATIVE_INFINITY;
  for (const p of timeline) {
    minRolling = Math.min(minRolling, p.rollingAccuracy);
    maxRolling = Math.max(maxRolling, p.rollingAccuracy);
  }
  return {
    reads: watch.resolved,
    accuracy: watch.accuracy,
    retrains: watch.swaps.map(
      (s): Retrain => ({
        startedAtRead: s.trigger.resolved,
        startedAtUs: s.trigger.timeUs,
        rollingAccuracy: s.trigger.rollingAccuracy,
        bar: s.trigger.bar,
        swappedAtUs: s.readyAtUs,
        trainSeconds: s.info.trainSeconds,
      }),
    ),
    timeline,
    minRollingAccuracy: minRolling,
    maxRollingAccuracy: maxRolling,
  };
}
