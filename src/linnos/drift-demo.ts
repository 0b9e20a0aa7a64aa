/**
 * `lake demo --drift`: LinnOS meets a workload that changes mid-run. Each simulated SSD's workload is one
 * profile for the traced stretch and the first part of the replayed one, then another (`after`: heavier,
 * with write bursts) from `changeS` on. The models are trained per device on the traced stretch as the demo
 * trains them; the replayed stretch runs under `linnos` twice with the same audits (online.ts): once with
 * the first models throughout, once retraining online. Accuracy (each model judged at its own label
 * threshold, every prediction whose truth was seen, audit-weighted) and the false-submit and false-revoke
 * rates are pooled over the devices per phase: before the change, right after it, and settled (the last half
 * of the stretch after it); the time to recover is from the change to the end of the first window after it
 * whose accuracy is back within `tolerance` of the pre-change level. Read latency comes from the replays.
 * Both linnos runs decide on the submit path and charge each predicted read its inference time on the
 * virtual clock, as `lake demo` does: a decision measured on the first device's model before the replays
 * (rounded up to 0.1 us), or the fixed `inferenceCostUs`.
 * Every figure is computed from these runs; the same seed (and a fixed inference cost) gives the same output.
 */
import { mergeStreams } from '../array/engine.js';
import { parsePolicyList } from '../array/policies.js';
import { runPolicies } from '../array/run.js';
import { createFlashDevice } from '../flash/index.js';
import type { LinnosShape } from '../models/dense.js';
import type { LatencySummary } from '../report/types.js';
import { type ProfileName, synthesize, type WriteBurstOptions } from '../trace/synth.js';
import type { TraceRecord } from '../trace/types.js';
import { END_TO_END_FLASH, END_TO_END_PROFILES, traceAndTrain } from './end-to-end.js';
import type { OnlineRetrainOptions, RetrainRecord } from './online.js';
import type { DeviceModel } from './pipeline.js';
import { linnosPolicyFactory } from './policies.js';
import { chargedInferenceUs, measureDecisionNs } from './submit-path.js';

/** The workload after the change, per device: a profile, a rate multiplier, write bursts. */
export interface DriftPhase {
  profiles: readonly ProfileName[];
  rateScale: number;
  writeBursts: boolean | Partial<WriteBurstOptions>;
}

export const DRIFT_BEFORE: DriftPhase = { profiles: END_TO_END_PROFILES, rateScale: 1, writeBursts: false };
/** After the change: each device takes the next device's profile at twice the rate, with write bursts. */
export const DRIFT_AFTER: DriftPhase = {
  profiles: ['bing-i', 'cosmos', 'azure'],
  rateScale: 2,
  writeBursts: true,
};

export interface LinnosDriftOptions {
  seed: number;
  /** Seconds traced for the first models; seconds replayed before the change, and after it. */
  trainS: number;
  changeS: number;
  afterS: number;
  epochs: number;
  shape: LinnosShape;
  revokeCostUs: number;
  /** Inference time charged to each read LinnOS predicts, us; absent: measured (see the module comment). */
  inferenceCostUs?: number;
  before?: DriftPhase;
  after?: DriftPhase;
  /** Online retraining settings (both runs share the watch and audit settings). */
  retrain?: Omit<OnlineRetrainOptions, 'retrain' | 'trainer' | 'onResolved' | 'seed' | 'shape'>;
  /** Width of the time windows the recovery is read from (default 500 ms). */
  windowMs?: number;
  /** Within this much of the pre-change accuracy counts as recovered (default 0.05). */
  tolerance?: number;
  onStage?: (text: string) => void;
}

/** Pooled, audit-weighted quality of the predictions resolved in a phase. */
export interface PhaseQuality {
  /** Resolved predictions (not weighted). */
  predictions: number;
  accuracy: number;
  falseSubmitRate: number;
  falseRevokeRate: number;
}

export interface DriftWindow {
  startUs: number;
  accuracy: number;
  predictions: number;
}

export interface DriftRunResult {
  retraining: boolean;
  phases: { before: PhaseQuality; rightAfter: PhaseQuality; settled: PhaseQuality };
  windows: DriftWindow[];
  /** Seconds from the change to the end of the first window back within tolerance; null: never. */
  recoveryS: number | null;
  retrains: RetrainRecord[];
  failedRetrains: number;
  /** Retrained models kept out of service (over the tolerance below the majority rate on their held-back reads). */
  rejectedRetrains: number;
  audits: number;
  read: LatencySummary;
}

export interface LinnosDriftResult {
  trainS: number;
  changeS: number;
  afterS: number;
  windowMs: number;
  tolerance: number;
  before: DriftPhase;
  after: DriftPhase;
  models: DeviceModel[];
  baselineRead: LatencySummary;
  /**
   * What each predicted read was charged (us), and the decision measured for it (ns; null when the cost
   * was fixed by the caller and nothing was measured).
   */
  inference: { chargedUs: number; measuredNs: number | null };
  static: DriftRunResult;
  online: DriftRunResult;
}

function phaseStream(
  phase: DriftPhase,
  device: number,
  durationMs: number,
  seed: number,
  startMs: number,
): Iterable<TraceRecord> {
  const records = synthesize(phase.profiles[device % phase.profiles.length]!, {
    durationMs,
    seed,
    rateScale: phase.rateScale,
    writeBursts: phase.writeBursts,
  });
  return startMs === 0 ? records : shifted(records, startMs);
}

function* shifted(records: Iterable<TraceRecord>, byMs: number): Generator<TraceRecord> {
  for (const r of records) yield { ...r, arrivalMs: r.arrivalMs + byMs };
}

function* concat(parts: readonly Iterable<TraceRecord>[]): Generator<TraceRecord> {
  for (const part of parts) yield* part;
}

/** Confusion weights per pair code (predicted * 2 + actual). */
class Tally {
  readonly sums = new Float64Array(4);
  count = 0;
  add(code: number, weight: number): void {
    this.sums[code]! += weight;
    this.count++;
  }
  quality(): PhaseQuality {
    const s = this.sums;
    const total = s[0]! + s[1]! + s[2]! + s[3]!;
    return {
      predictions: this.count,
      accuracy: (s[0]! + s[3]!) / total,
      falseSubmitRate: s[1]! / (s[1]! + s[3]!),
      falseRevokeRate: s[2]! / (s[0]! + s[2]!),
    };
  }
}

/** The first window after the change back within tolerance of `level`: seconds from the change to its end. */
export function recoverySeconds(
  windows: readonly DriftWindow[],
  changeUs: number,
  windowUs: number,
  level: number,
  tolerance: number,
): number | null {
  for (const w of windows) {
    if (w.startUs < changeUs || w.predictions === 0) continue;
    if (w.accuracy >= level - tolerance) return (w.startUs + windowUs - changeUs) / 1e6;
  }
  return null;
}

/** Trace and train on the first workload, then replay the changing stretch; see the module comment. */
export async function runLinnosDrift(options: LinnosDriftOptions): Promise<LinnosDriftResult> {
  const before = options.before ?? DRIFT_BEFORE;
  const after = options.after ?? DRIFT_AFTER;
  const deviceCount = before.profiles.length;
  const { seed, trainS, changeS, afterS } = options;
  const windowMs = options.windowMs ?? 500;
  const tolerance = options.tolerance ?? 0.05;
  const firstMs = (trainS + changeS) * 1000;
  const streams = (): Iterable<TraceRecord>[] =>
    Array.from({ length: deviceCount }, (_, i) =>
      concat([
        phaseStream(before, i, firstMs, seed * 1000 + i, 0),
        phaseStream(after, i, afterS * 1000, seed * 1000 + 500 + i, firstMs),
      ]),
    );
  const makeDevices = () =>
    Array.from({ length: deviceCount }, (_, i) =>
      createFlashDevice({ ...END_TO_END_FLASH, name: `ssd${i}`, seed: seed * 10 + i + 1, reuseResult: true }),
    );
  const trainMs = trainS * 1000;
  const trainArrivals = function* (): Generator<TraceRecord> {
    for (const r of mergeStreams(streams())) {
      if (r.arrivalMs >= trainMs) return;
      yield r;
    }
  };
  const testArrivals = function* (): Generator<TraceRecord> {
    for (const r of mergeStreams(streams()))
      if (r.arrivalMs >= trainMs) yield { ...r, arrivalMs: r.arrivalMs - trainMs };
  };
  options.onStage?.(`tracing ${trainS} s of the first workload and training a model per device`);
  const trained = traceAndTrain(
    {
      seed,
      trainS,
      testS: changeS + afterS,
      epochs: options.epochs,
      shape: options.shape,
      revokeCostUs: options.revokeCostUs,
    },
    deviceCount,
    { makeDevices, trainArrivals },
  );
  const models = trained.models;
  const probe = models[0];
  // Measured before the replays, as lake demo measures it; a fixed cost measures nothing (and repeats).
  const measuredNs =
    options.inferenceCostUs === undefined && probe !== undefined
      ? measureDecisionNs(probe.predictor, probe.model, probe.heldBack)
      : null;
  const inference = {
    chargedUs: options.inferenceCostUs ?? (measuredNs !== null ? chargedInferenceUs(measuredNs) : 0),
    measuredNs,
  };
  try {
    options.onStage?.('replaying the changing stretch under baseline');
    const [baseline] = await runPolicies({
      workload: { kind: 'memory', arrivals: testArrivals },
      makeDevices,
      specs: parsePolicyList('baseline'),
      seed,
      revokeCostUs: options.revokeCostUs,
    });
    const run = async (retraining: boolean): Promise<DriftRunResult> => {
      options.onStage?.(
        `replaying it under linnos ${retraining ? 'retraining online' : 'with its first models'}`,
      );
      return driftRun({
        ...options,
        models,
        deviceCount,
        testArrivals,
        makeDevices,
        retraining,
        windowMs,
        tolerance,
        chargedUs: inference.chargedUs,
      });
    };
    const staticRun = await run(false);
    const onlineRun = await run(true);
    return {
      trainS,
      changeS,
      afterS,
      windowMs,
      tolerance,
      before,
      after,
      models,
      baselineRead: baseline!.read.summary(),
      inference,
      static: staticRun,
      online: onlineRun,
    };
  } finally {
    for (const m of models) m.predictor.dispose();
  }
}

interface DriftRunInput extends LinnosDriftOptions {
  models: DeviceModel[];
  deviceCount: number;
  testArrivals: () => Iterable<TraceRecord>;
  makeDevices: () => ReturnType<typeof createFlashDevice>[];
  retraining: boolean;
  windowMs: number;
  tolerance: number;
  /** Inference time charged to each predicted read, us. */
  chargedUs: number;
}

async function driftRun(input: DriftRunInput): Promise<DriftRunResult> {
  const { models, deviceCount, windowMs } = input;
  const changeUs = input.changeS * 1e6;
  const endUs = (input.changeS + input.afterS) * 1e6;
  const rightAfterEndUs = changeUs + Math.min(1e6, (endUs - changeUs) / 4);
  const settledFromUs = changeUs + (endUs - changeUs) / 2;
  const windowUs = windowMs * 1000;
  const phases = { before: new Tally(), rightAfter: new Tally(), settled: new Tally() };
  const windows: Tally[] = [];
  const onResolved = (_device: number, timeUs: number, predicted: number, actual: number, weight: number) => {
    const code = predicted * 2 + actual;
    if (timeUs < changeUs) phases.before.add(code, weight);
    else if (timeUs < rightAfterEndUs) phases.rightAfter.add(code, weight);
    if (timeUs >= settledFromUs) phases.settled.add(code, weight);
    const w = Math.floor(timeUs / windowUs);
    while (windows.length <= w) windows.push(new Tally());
    windows[w]!.add(code, weight);
  };
  const predictors = Array.from(
    { length: deviceCount },
    (_, d) => models.find((m) => m.device === d)?.predictor,
  );
  const factory = linnosPolicyFactory(
    predictors,
    undefined,
    {
      thresholdsUs: Array.from(
        { length: deviceCount },
        (_, d) => models.find((m) => m.device === d)?.threshold.thresholdUs,
      ),
      options: {
        ...input.retrain,
        retrain: input.retraining,
        seed: input.seed,
        shape: input.shape,
        revokeCostUs: input.revokeCostUs,
        onResolved,
      },
    },
    {
      // The submit path per device, as lake demo's policies decide; a retrained model brings its own.
      models: Array.from({ length: deviceCount }, (_, d) => models.find((m) => m.device === d)),
      inferenceCostUs: input.chargedUs,
    },
  );
  try {
    const [run] = await runPolicies({
      workload: { kind: 'memory', arrivals: input.testArrivals },
      makeDevices: input.makeDevices,
      specs: parsePolicyList('linnos'),
      seed: input.seed,
      revokeCostUs: input.revokeCostUs,
      makePolicy: factory.makePolicy,
    });
    const reports = factory.policies[0]?.online?.report() ?? [];
    const before = phases.before.quality();
    // Whole windows inside the replayed stretch only (the reads still completing after its last arrival
    // would make a window of a few predictions).
    const windowList = windows
      .map((t, i) => {
        const q = t.quality();
        return { startUs: i * windowUs, accuracy: q.accuracy, predictions: q.predictions };
      })
      .filter((w) => w.startUs + windowUs <= endUs);
    return {
      retraining: input.retraining,
      phases: { before, rightAfter: phases.rightAfter.quality(), settled: phases.settled.quality() },
      windows: windowList,
      recoveryS: recoverySeconds(windowList, changeUs, windowUs, before.accuracy, input.tolerance),
      retrains: reports.flatMap((r) => r.retrains),
      failedRetrains: reports.reduce((n, r) => n + r.failedRetrains, 0),
      rejectedRetrains: reports.reduce((n, r) => n + r.rejectedRetrains, 0),
      audits: reports.reduce((n, r) => n + r.audits, 0),
      read: run!.read.summary(),
    };
  } finally {
    await factory.close();
  }
}
