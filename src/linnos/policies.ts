/**
 * The LinnOS admission policies a replay builds from per-device models, and the figures they are built
 * from: `linnos` (revoke a read try its device's model predicts slow) and `linnos+hl` (the same, and hedge
 * a read not complete after the baseline's p(100 - f), f the models' false-submit rate). One factory serves
 * `lake demo` (models trained in-process), `lake replay` (model files) and the LAKE runtime's comparisons.
 */
import type { PolicySpec } from '../array/policies.js';
import type { AdmissionPolicy } from '../array/policy.js';
import { baselineHedgeDelayUs, type PriorRuns } from '../array/run.js';
import type { Predictor } from '../kernels/types.js';
import type { Confusion } from '../learn/metrics.js';
import type { DenseModel } from '../models/dense.js';
import type { LinnosIntegerModel } from '../models/linnos-integer.js';
import type { JsonValue } from '../models/model-file.js';
import type { LinnosSubmitPath } from './incremental.js';
import { type BackgroundTrainer, OnlineLinnos, type OnlineRetrainOptions } from './online.js';
import { LinnosPolicy } from './policy.js';
import { submitPathFor } from './submit-path.js';

/** The slow reads a model was scored on, and how many of them it predicted fast (submitted: false submits). */
export interface FalseSubmitCount {
  slow: number;
  falseSubmits: number;
}

/** A confusion matrix's slow reads and false submits (slow reads predicted fast). */
export function falseSubmitCount(confusion: Confusion): FalseSubmitCount {
  return {
    slow: confusion.truePositive + confusion.falseNegative,
    falseSubmits: confusion.falseNegative,
  };
}

/**
 * What a lake model file records of its held-back quality (`trainingStats`: `slow`, the slow reads scored,
 * and `falseSubmitRate`), as counts; undefined when it records neither (an older or hand-made file).
 */
export function falseSubmitCountOfStats(
  stats: { readonly [key: string]: JsonValue } | undefined,
): FalseSubmitCount | undefined {
  const slow = stats?.['slow'];
  const rate = stats?.['falseSubmitRate'];
  if (typeof slow !== 'number' || !(slow >= 0)) return undefined;
  // A file with no slow read stores the rate as null (0/0): it adds no slow read to the pool.
  if (slow === 0) return { slow: 0, falseSubmits: 0 };
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) return undefined;
  return { slow, falseSubmits: Math.round(rate * slow) };
}

/**
 * The false-submit rate in percent pooled over reads: all false submits over all slow reads, whatever
 * device or model they came from. One hedge delay serves every device, so every slow read weighs the same:
 * a model scored on 30 slow reads must not count as much as one scored on 3,000 (an unweighted mean of
 * per-model rates would). Undefined when there is no slow read.
 */
export function pooledFalseSubmitPct(counts: readonly FalseSubmitCount[]): number | undefined {
  let slow = 0;
  let missed = 0;
  for (const c of counts) {
    slow += c.slow;
    missed += c.falseSubmits;
  }
  return slow > 0 ? (100 * missed) / slow : undefined;
}

/**
 * LinnOS+HL's hedge percentile (the LinnOS paper's rule): p(100 - f) of the baseline's read latency, f the
 * false-submit rate in percent, so a model that misses f% of the slow reads hedges the slowest f%; p95 when
 * f <= 5 (hedging earlier than that gains little and duplicates many reads) or when f is not known.
 */
export function linnosHedgePercentile(falseSubmitPct: number | undefined): number {
  if (falseSubmitPct === undefined || !(falseSubmitPct > 5)) return 95;
  return 100 - falseSubmitPct;
}

export interface LinnosPolicyFactory {
  /**
   * For runPolicies' and runRealPolicies' `makePolicy`: a LinnOS policy for a `linnos` or `linnos+hl`
   * spec, undefined for any other (the array builds it) and for `linnos+hl` before the baseline has run.
   */
  makePolicy(spec: PolicySpec, prior: PriorRuns): AdmissionPolicy | undefined;
  /** The LinnOS policies built so far, in order (their online stats go into the report). */
  readonly policies: readonly LinnosPolicy[];
  /** linnos+hl's hedge percentile. */
  readonly hedgePercentile: number;
  /** Stops what the policies' online retraining started (background trainers) and frees its models. */
  close(): Promise<void>;
}

/** Online retraining for the policies a factory builds (each policy gets its own, from the first models). */
export interface OnlineRetraining {
  /** Each device's label threshold of its first model (undefined where there is no model). */
  thresholdsUs: readonly (number | undefined)[];
  options: Omit<OnlineRetrainOptions, 'trainer'>;
  /** A background trainer per policy (real devices); absent: inline with a virtual delay. */
  makeTrainer?: () => BackgroundTrainer;
}

/** A device's model as its serving predictor was built from it, for the predictor's submit path. */
export interface SubmitModel {
  model: DenseModel | LinnosIntegerModel;
  /** The calibration vectors the predictor was built with (needed for NN+1/NN+2 on wasm). */
  calibration?: Uint8Array;
}

/** How a factory's policies decide and what their decisions cost. */
export interface LinnosServingOptions {
  /**
   * Per device, the model behind `predictors[d]`: each policy gets a submit path of its own per device
   * (submitPathFor). Absent: every decision runs the full forward.
   */
  models?: readonly (SubmitModel | undefined)[];
  /** Inference time charged to each predicted read try, us (LinnosPolicyOptions.inferenceCostUs). */
  inferenceCostUs?: number;
}

/**
 * Builds `linnos` / `linnos+hl` policies over one predictor per device (undefined: reads there are always
 * submitted); `falseSubmitPct` (pooledFalseSubmitPct) sets linnos+hl's hedge percentile.
 */
export function linnosPolicyFactory(
  predictors: readonly (Predictor | undefined)[],
  falseSubmitPct: number | undefined,
  retraining?: OnlineRetraining,
  serving: LinnosServingOptions = {},
): LinnosPolicyFactory {
  const hedgePercentile = linnosHedgePercentile(falseSubmitPct);
  const policies: LinnosPolicy[] = [];
  const incrementals: { dispose(): void }[] = [];
  // Contexts hold a device's recent history: each policy (each replay) gets paths of its own.
  const makeSubmitPaths = (): (LinnosSubmitPath | undefined)[] =>
    predictors.map((predictor, d) => {
      const source = serving.models?.[d];
      if (predictor === undefined || source === undefined) return undefined;
      const built = submitPathFor(predictor, source.model, source.calibration);
      if (built === undefined) return undefined;
      incrementals.push(built.incremental);
      return built.path;
    });
  const makeOnline = (submitPaths: readonly (LinnosSubmitPath | undefined)[]): OnlineLinnos | undefined => {
    if (retraining === undefined) return undefined;
    const initial = predictors.map((predictor, d) => {
      const thresholdUs = retraining.thresholdsUs[d];
      return predictor !== undefined && thresholdUs !== undefined
        ? { predictor, thresholdUs, submitPath: submitPaths[d] }
        : undefined;
    });
    const trainer = retraining.makeTrainer?.();
    return new OnlineLinnos(initial, {
      ...retraining.options,
      ...(trainer !== undefined ? { trainer } : {}),
    });
  };
  return {
    policies,
    hedgePercentile,
    async close() {
      for (const policy of policies) await policy.online?.close();
      for (const incremental of incrementals.splice(0)) incremental.dispose();
    },
    makePolicy(spec, prior) {
      if (spec.kind !== 'linnos') return undefined;
      let hedgeAfterUs: number | undefined;
      if (spec.hedged) {
        hedgeAfterUs = baselineHedgeDelayUs(prior, hedgePercentile);
        if (hedgeAfterUs === undefined) return undefined;
      }
      const submitPaths = makeSubmitPaths();
      const online = makeOnline(submitPaths);
      const policy = new LinnosPolicy({
        name: spec.name,
        predictors,
        submitPaths,
        ...(serving.inferenceCostUs !== undefined ? { inferenceCostUs: serving.inferenceCostUs } : {}),
        ...(hedgeAfterUs !== undefined ? { hedgeAfterUs } : {}),
        ...(online !== undefined ? { online } : {}),
      });
      policies.push(policy);
      return policy;
    },
  };
}
