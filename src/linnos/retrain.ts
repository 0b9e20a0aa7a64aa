/**
 * One device's online retrain: the reads it traced recently (31-digit vector at submit, latency at
 * completion, and how many reads each stands for) are labelled at their inflection point (the tangent
 * method, refined as the offline path refines it when the other replicas' recent latencies come along) and a
 * new model is trained on them with trainLinnos. Pure data in, plain data out, so the same call
 * runs inline (the simulator: deterministic) or in a worker thread (real devices: retrain-worker.ts).
 * Quantising for serving is the caller's (createPredictor needs the thread that serves).
 */
import { DEFAULT_REVOKE_COST_US } from '../array/engine.js';
import { LakeError } from '../errors.js';
import type { DenseModel, LinnosShape } from '../models/dense.js';
import { LINNOS_FEATURES } from './features.js';
import { inflectionPoint, refineThreshold } from './labels.js';
import { trainLinnos } from './train.js';

/** The reads a retrain learns from, oldest first. */
export interface RetrainData {
  /** count x 31 digits. */
  vectors: Uint8Array;
  latencyUs: Float64Array;
  /**
   * Reads each row stands for (1, or 1/q for a read predicted slow and submitted anyway as an audit with
   * probability q): the row is repeated that many times, so the training set has the served stream's mix
   * of slow and fast reads, not the mix the old model let through.
   */
  copies: Uint8Array;
  /**
   * The other replicas' recent read latencies (each read as often as it stands for): with them the label
   * threshold is refined as the offline path refines it (refineThreshold: the paper's +/-10% search by
   * simulated revocation). Absent: the tangent method's threshold.
   */
  otherLatencyUs?: Float64Array[];
}

export interface RetrainSettings {
  shape: LinnosShape;
  epochs: number;
  seed: number;
  /** Revoke cost the threshold refinement charges per failover (default 5 us, the array's). */
  revokeCostUs?: number;
}

export interface RetrainOutcome {
  model: DenseModel;
  thresholdUs: number;
  /** Rows after repetition, and the share labelled slow. */
  rows: number;
  slowFraction: number;
  /** Accuracy on the held-back later 20% (trainLinnos's time split), and always predicting its majority class. */
  validationAccuracy: number;
  majorityRate: number;
}

/** Fewest traced reads a retrain learns from. */
export const MIN_RETRAIN_READS = 200;

/** Label, train; throws a LakeError when the data cannot make a model (too few reads, one class only). */
export function retrainDevice(data: RetrainData, settings: RetrainSettings): RetrainOutcome {
  const count = data.latencyUs.length;
  if (count < MIN_RETRAIN_READS)
    throw new LakeError('LAKE_E_USAGE', `retrain: ${count} traced reads, need ${MIN_RETRAIN_READS}`);
  let rows = 0;
  for (let i = 0; i < count; i++) rows += data.copies[i]!;
  const latencies = new Float64Array(rows);
  const vectors = new Uint8Array(rows * LINNOS_FEATURES);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const row = data.vectors.subarray(i * LINNOS_FEATURES, (i + 1) * LINNOS_FEATURES);
    for (let c = 0; c < data.copies[i]!; c++, at++) {
      latencies[at] = data.latencyUs[i]!;
      vectors.set(row, at * LINNOS_FEATURES);
    }
  }
  const tangent = inflectionPoint(latencies);
  const others = data.otherLatencyUs?.filter((l) => l.length > 0) ?? [];
  const thresholdUs =
    others.length > 0
      ? refineThreshold({
          latenciesByDevice: [latencies, ...others],
          device: 0,
          start: tangent,
          revokeCostUs: settings.revokeCostUs ?? DEFAULT_REVOKE_COST_US,
          seed: settings.seed,
        }).thresholdUs
      : tangent.thresholdUs;
  const labels = Uint8Array.from(latencies, (l) => (l > thresholdUs ? 1 : 0));
  let slow = 0;
  for (let i = 0; i < rows; i++) slow += labels[i]!;
  if (slow === 0 || slow === rows)
    throw new LakeError('LAKE_E_USAGE', `retrain: all ${rows} reads on one side of ${thresholdUs} us`);
  const { model, report } = trainLinnos(
    { vectors, labels },
    { shape: settings.shape, loss: 'hinge', epochs: settings.epochs, seed: settings.seed, split: 'time' },
  );
  return {
    model,
    thresholdUs,
    rows,
    slowFraction: slow / rows,
    validationAccuracy: report.quality.accuracy,
    majorityRate: report.quality.majorityRate,
  };
}
