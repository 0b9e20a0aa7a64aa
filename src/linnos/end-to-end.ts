/**
 * LinnOS end to end on simulated SSDs, as `lake demo` runs it: each device replays its own generated
 * workload; a first stretch is traced on the plain path, labelled at each device's inflection point, and a
 * model is trained per device and quantised; then a later, unseen stretch of the same workloads is replayed
 * on fresh, identically aged devices under each policy (baseline, hedging95, linnos, linnos+hl,
 * greedy-oracle by default). Returns data; printing and reports are the command's.
 */
import { mergeStreams, replay } from '../array/engine.js';
import { type PolicySpec, parsePolicyList } from '../array/policies.js';
import { type PolicyRun, runPolicies } from '../array/run.js';
import type { IoRecord } from '../array/types.js';
import { createFlashDevice, type FlashOptions } from '../flash/index.js';
import type { Device } from '../flash/types.js';
import type { Backend } from '../kernels/types.js';
import { majorityWarning } from '../learn/metrics.js';
import type { LinnosShape } from '../models/dense.js';
import { type ProfileName, synthesize } from '../trace/synth.js';
import type { TraceRecord } from '../trace/types.js';
import type { OnlineRetrainOptions } from './online.js';
import {
  type DeviceModel,
  measureInferenceNs,
  type ShapeModels,
  trainLinnosArray,
  trainShapeModels,
} from './pipeline.js';
import { falseSubmitCount, linnosPolicyFactory, pooledFalseSubmitPct } from './policies.js';
import type { LinnosPolicy } from './policy.js';
import { chargedInferenceUs, measureDecisionNs } from './submit-path.js';

/** The demo's devices: one workload each (LAKE's Azure, Bing-I and Cosmos parameters). */
export const END_TO_END_PROFILES: readonly ProfileName[] = ['azure', 'bing-i', 'cosmos'];
export const END_TO_END_POLICIES = 'baseline,hedging95,linnos,linnos+hl,greedy-oracle';
/** Each simulated SSD's timing profile. */
export const END_TO_END_FLASH: FlashOptions = { profile: 'femu' };

export interface LinnosEndToEndOptions {
  seed: number;
  /** Seconds traced for training, then seconds replayed unseen under each policy. */
  trainS: number;
  testS: number;
  epochs: number;
  shape: LinnosShape;
  revokeCostUs: number;
  /** One device per profile (default END_TO_END_PROFILES). */
  profiles?: readonly ProfileName[];
  /** Policies replayed on the unseen stretch (default END_TO_END_POLICIES). */
  policies?: readonly PolicySpec[];
  /** Shapes to train as well, for LinnOS on the LAKE runtime (the main shape's models are reused). */
  lakeShapes?: readonly LinnosShape[];
  onTraced?: (traced: { ios: number; reads: number }) => void;
  onEpoch?: () => void;
  /** The main shape's models, once trained (before the replays). */
  onTrained?: (models: readonly DeviceModel[]) => void;
  onRunStart?: (spec: PolicySpec) => void;
  /** Each of `qualityWarnings` as it is found (after training, before the replays). */
  onWarning?: (message: string) => void;
  /** LinnOS retrains online during the replays (src/linnos/online.ts); absent: the models never change. */
  retrain?: Omit<OnlineRetrainOptions, 'trainer' | 'onResolved'>;
  /**
   * Inference time charged to each read LinnOS predicts, us (--inference-cost-us): fixes it, so that a run
   * is reproduced exactly. Absent: measured at the start of the run (measureDecisionNs on the first model's
   * held-back vectors, rounded up to 0.1 us).
   */
  inferenceCostUs?: number;
}

export interface LinnosEndToEndResult {
  profiles: readonly ProfileName[];
  /** Fresh, identically aged devices, as every replay of the unseen stretch starts from. */
  makeDevices: () => Device[];
  /** The unseen stretch, from time 0; each call gives a fresh, identical stream. */
  testArrivals: () => Iterable<TraceRecord>;
  traced: { ios: number; reads: number };
  /** The main shape's model per device (their serving predictors are disposed of once the replays end). */
  models: DeviceModel[];
  /** Every shape's models trained for LinnOS on LAKE (empty without `lakeShapes`). */
  lakeShapeModels: ShapeModels[];
  /** A model no better than always predicting the majority class, per shape and device. */
  qualityWarnings: string[];
  /** Pooled over the held-back slow reads of every device (pooledFalseSubmitPct); undefined: none slow. */
  falseSubmitPct: number | undefined;
  hedgePercentile: number;
  specs: readonly PolicySpec[];
  runs: PolicyRun[];
  linnosPolicies: readonly LinnosPolicy[];
  /**
   * Serving cost at batch 1 on held-back vectors of the first model (clock reading); what a LinnOS decision
   * cost on its submit path (clock reading, measured before the replays), and the time charged to each
   * predicted read (us; `chargedMeasured`: from that measurement, else fixed by the caller).
   */
  inference: {
    nsPerPrediction: number;
    backend: Backend | null;
    decisionNs: number;
    chargedUs: number;
    chargedMeasured: boolean;
  };
}

/** Fresh devices, and the traced and unseen stretches of their workloads. */
export interface Workloads {
  makeDevices: () => Device[];
  trainArrivals: () => Iterable<TraceRecord>;
  testArrivals: () => Iterable<TraceRecord>;
}

/** One continuous workload per device; the first stretch trains, the later one is replayed unseen. */
function workloads(profiles: readonly ProfileName[], seed: number, trainS: number, testS: number): Workloads {
  const trainMs = trainS * 1000;
  const testMs = testS * 1000;
  const streams = () =>
    profiles.map((profile, i) =>
      synthesize(profile, { durationMs: trainMs + testMs, seed: seed * 1000 + i }),
    );
  return {
    makeDevices: () =>
      profiles.map((_, i) =>
        createFlashDevice({
          ...END_TO_END_FLASH,
          name: `ssd${i}`,
          seed: seed * 10 + i + 1,
          reuseResult: true,
        }),
      ),
    trainArrivals: () => takeWhileBefore(mergeStreams(streams()), trainMs),
    testArrivals: () => shiftFrom(mergeStreams(streams()), trainMs),
  };
}

export interface Trained {
  traced: { ios: number; reads: number };
  models: DeviceModel[];
  lakeShapeModels: ShapeModels[];
  qualityWarnings: string[];
}

/** Traces the first stretch on the plain path, then labels, trains and quantises a model per device. */
export function traceAndTrain(
  options: LinnosEndToEndOptions,
  deviceCount: number,
  w: Pick<Workloads, 'makeDevices' | 'trainArrivals'>,
): Trained {
  const { seed, epochs, shape, revokeCostUs } = options;
  const records: IoRecord[] = [];
  const result = replay(w.trainArrivals(), {
    devices: w.makeDevices(),
    policy: { name: 'baseline' },
    revokeCostUs,
    onRecord: (r) => records.push(r),
  });
  const traced = { ios: result.ios, reads: result.reads };
  options.onTraced?.(traced);
  const onEpoch = options.onEpoch;
  const models = trainLinnosArray({
    records,
    deviceCount,
    shape,
    epochs,
    seed,
    revokeCostUs,
    ...(onEpoch !== undefined ? { onEpoch: () => onEpoch() } : {}),
  });
  const lakeShapes = options.lakeShapes ?? [];
  const shapes =
    lakeShapes.length > 0
      ? trainShapeModels({
          records,
          deviceCount,
          shapes: lakeShapes,
          epochs,
          seed,
          revokeCostUs,
          trained: { [shape]: models },
        })
      : undefined;
  options.onTrained?.(models);
  // A model no better than always predicting the majority class is worth nothing: say so, per model.
  const byShape: [string, readonly DeviceModel[]][] = [[shape, models]];
  for (const [s, trained] of Object.entries(shapes?.trained ?? {}))
    if (s !== shape) byShape.push([s, trained]);
  const qualityWarnings: string[] = [];
  for (const [s, trained] of byShape)
    for (const m of trained) {
      const subject = `ssd${m.device} ${s} model (held-back reads of the traced stretch)`;
      const message = majorityWarning(subject, m.report.quality);
      if (message === undefined) continue;
      qualityWarnings.push(message);
      options.onWarning?.(message);
    }
  return { traced, models, lakeShapeModels: shapes?.models ?? [], qualityWarnings };
}

/** Trace, train, replay the unseen stretch under each policy; see the module's comment. */
export async function runLinnosEndToEnd(options: LinnosEndToEndOptions): Promise<LinnosEndToEndResult> {
  const profiles = options.profiles ?? END_TO_END_PROFILES;
  const deviceCount = profiles.length;
  const w = workloads(profiles, options.seed, options.trainS, options.testS);
  const trained = traceAndTrain(options, deviceCount, w);
  const { models } = trained;
  const predictors = Array.from(
    { length: deviceCount },
    (_, d) => models.find((m) => m.device === d)?.predictor,
  );
  const falseSubmitPct = pooledFalseSubmitPct(
    models.map((m) => falseSubmitCount(m.report.quality.confusion)),
  );
  const retrain = options.retrain;
  const probe = models[0];
  // What a decision costs the read it delays, measured here before the replays (or fixed by the caller).
  const decisionNs = probe ? measureDecisionNs(probe.predictor, probe.model, probe.heldBack) : Number.NaN;
  const chargedMeasured = options.inferenceCostUs === undefined;
  const chargedUs = options.inferenceCostUs ?? chargedInferenceUs(decisionNs);
  const factory = linnosPolicyFactory(
    predictors,
    falseSubmitPct,
    retrain !== undefined
      ? {
          thresholdsUs: Array.from(
            { length: deviceCount },
            (_, d) => models.find((m) => m.device === d)?.threshold.thresholdUs,
          ),
          options: { seed: options.seed, shape: options.shape, epochs: options.epochs, ...retrain },
        }
      : undefined,
    {
      models: Array.from({ length: deviceCount }, (_, d) => models.find((m) => m.device === d)),
      inferenceCostUs: chargedUs,
    },
  );
  const specs = options.policies ?? parsePolicyList(END_TO_END_POLICIES);
  let runs: PolicyRun[];
  let inference: LinnosEndToEndResult['inference'];
  try {
    const onRunStart = options.onRunStart;
    runs = await runPolicies({
      workload: { kind: 'memory', arrivals: w.testArrivals },
      makeDevices: w.makeDevices,
      specs,
      seed: options.seed,
      revokeCostUs: options.revokeCostUs,
      makePolicy: factory.makePolicy,
      ...(onRunStart !== undefined ? { onRunStart: (spec: PolicySpec) => onRunStart(spec) } : {}),
    });
    // Serving cost on real vectors of the traced stretch.
    inference = {
      nsPerPrediction: probe ? measureInferenceNs(probe.predictor, probe.heldBack) : Number.NaN,
      backend: probe?.predictor.backend ?? null,
      decisionNs,
      chargedUs,
      chargedMeasured,
    };
  } finally {
    await factory.close();
    for (const m of models) m.predictor.dispose();
  }
  return {
    profiles,
    makeDevices: w.makeDevices,
    testArrivals: w.testArrivals,
    traced: trained.traced,
    models,
    lakeShapeModels: trained.lakeShapeModels,
    qualityWarnings: trained.qualityWarnings,
    falseSubmitPct,
    hedgePercentile: factory.hedgePercentile,
    specs,
    runs,
    linnosPolicies: factory.policies,
    inference,
  };
}

/**
 * The share of the greedy oracle's average-latency gain over the baseline that a policy reaches:
 * (baseline - policy) / (baseline - oracle); undefined when the oracle gains nothing.
 */
export function shareOfOracleGain(
  baselineUs: number,
  policyUs: number,
  oracleUs: number,
): number | undefined {
  const gain = baselineUs - oracleUs;
  return gain > 0 ? (baselineUs - policyUs) / gain : undefined;
}

function* takeWhileBefore(arrivals: Iterable<TraceRecord>, endMs: number): Generator<TraceRecord> {
  for (const r of arrivals) {
    if (r.arrivalMs >= endMs) return;
    yield r;
  }
}

function* shiftFrom(arrivals: Iterable<TraceRecord>, startMs: number): Generator<TraceRecord> {
  for (const r of arrivals) if (r.arrivalMs >= startMs) yield { ...r, arrivalMs: r.arrivalMs - startMs };
}
