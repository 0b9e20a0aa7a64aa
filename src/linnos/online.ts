/**
 * LinnOS retraining online ("retrain and retrace periodically", as its paper asks): per device, the online
 * policy keeps tracing the reads it predicts (the 31-digit vector at admit, the latency at completion),
 * watches that device's accuracy and false-submit rate with the drift watch (src/learn/drift-watch.ts), and
 * when the watch triggers, retrains that device's model on its recent trace (inflection-point labels,
 * trainLinnos, quantised as the offline path does) and swaps it in atomically.
 *
 * What a serving array can know: a read predicted slow is revoked and never completes on that device, so its
 * truth is never seen, and a trace of only the submitted reads would teach the next model that reads are
 * fast. So a share `auditRate` of the reads predicted slow are submitted anyway (audits, chosen by a seeded
 * generator); each stands for 1/auditRate such reads in the watch's window and in the training set, and the
 * watch's figures and the retrain's labels describe the whole stream the device was offered. Audits cost
 * latency (those reads wait on a device predicted slow): runs with and without retraining pay the same.
 *
 * Where the retrain runs:
 * - the simulator (virtual clock; no `trainer`): synchronously, on the trace known at the trigger; the new
 *   model goes live only `retrainDelayUs` of virtual time later (the time a background trainer would take),
 *   so the same seed gives the same output;
 * - real devices (a `trainer`, e.g. a worker thread): the trace is handed over and admission carries on with
 *   the old model; the new one goes live at the first read after it comes back. Quantising (createPredictor)
 *   happens on the serving thread, in the completion callback, not on a read's admit.
 * Never throws into the array: a retrain that fails is counted and the old model stays.
 */
import type { ReadTry } from '../array/policy.js';
import { createPredictor } from '../kernels/create.js';
import type { IncrementalPredictor } from '../kernels/incremental-types.js';
import type { Backend, Predictor } from '../kernels/types.js';
import { type DriftCheck, type DriftTrigger, DriftWatch } from '../learn/drift-watch.js';
import type { LinnosShape } from '../models/dense.js';
import { Random } from '../random.js';
import { LINNOS_FEATURES } from './features.js';
import type { LinnosSubmitPath } from './incremental.js';
import { type RetrainData, type RetrainOutcome, type RetrainSettings, retrainDevice } from './retrain.js';
import { submitPathFor } from './submit-path.js';

/** Trains off the serving thread: `done` is called later, with the outcome or the error. */
export interface BackgroundTrainer {
  /** Gets ready (starts its thread) so that the first retrain does not wait for it. */
  start?(): void;
  train(data: RetrainData, settings: RetrainSettings, done: (result: RetrainOutcome | Error) => void): void;
  /** Stops whatever it started (a worker); later `train` calls fail. */
  close(): Promise<void>;
}

export interface OnlineRetrainOptions {
  /** Read predictions in each device's rolling window (default 1000). */
  window?: number;
  /** Resolved predictions between checks (default 250). */
  checkEvery?: number;
  /** Retrain when the rolling accuracy falls this far below its in-service reference (default 0.1). */
  tolerance?: number;
  /** ... or the false-submit rate rises this far above its reference (default 0.2). */
  falseSubmitTolerance?: number;
  /**
   * How far below its majority rate a retrained model's held-back accuracy may sit and still go live
   * (default 0.1, the watch's default tolerance: what counts as a drop).
   */
  majoritySlack?: number;
  /** Share of the reads predicted slow submitted anyway so their truth is seen (default 0.125). */
  auditRate?: number;
  /** Recent traced reads a retrain learns from, per device (default 6000). */
  trainOn?: number;
  /** Virtual time between a retrain's trigger and its model going live, simulator only (default 100 ms). */
  retrainDelayUs?: number;
  /** false: watch only, never retrain (the static baseline with the same audits). Default true. */
  retrain?: boolean;
  shape?: LinnosShape;
  /** Training epochs per retrain (default 6). */
  epochs?: number;
  seed?: number;
  /**
   * Refine each retrain's label threshold against the other replicas' recent latencies, as the offline
   * path does (default true); false: the tangent method's threshold.
   */
  refineThreshold?: boolean;
  /** Revoke cost the refinement charges per failover (default 5 us). */
  revokeCostUs?: number;
  /** Serving backend of retrained models (default 'auto'). */
  backend?: Backend | 'auto';
  /** Trains in the background (real devices); absent: inline with a virtual delay (the simulator). */
  trainer?: BackgroundTrainer;
  /** Told of each prediction resolved (1 = slow; weight: reads it stands for), for reports over time. */
  onResolved?: (device: number, timeUs: number, predicted: number, actual: number, weight: number) => void;
}

/** A device's model as the policy serves it. */
export interface ServingModel {
  predictor: Predictor;
  /** Reads are slow iff their latency exceeds this (the threshold the model was labelled at). */
  thresholdUs: number;
  /**
   * The submit path of this model (policy.ts submitPathFor), its own: a retrained model brings a fresh one,
   * so a context computed for the old weights never meets the new ones. Absent: the full forward.
   */
  submitPath?: LinnosSubmitPath | undefined;
}

/** A retrain that went live, for the report. */
export interface RetrainRecord {
  device: number;
  reason: DriftTrigger['reason'];
  /** Time of the trigger, of the swap, and the rolling figures that triggered it. */
  triggeredAtUs: number;
  swappedAtUs: number;
  rollingAccuracy: number;
  rollingFalseSubmitRate: number;
  bar: number;
  thresholdUs: number;
  /** Traced reads (rows after audit repetition) it learned from, and its held-back accuracy. */
  rows: number;
  validationAccuracy: number;
  trainSeconds: number;
}

export interface DeviceOnlineReport {
  device: number;
  /** Resolved predictions and their (audit-weighted) accuracy over the run. */
  resolved: number;
  accuracy: number;
  checks: DriftCheck[];
  retrains: RetrainRecord[];
  audits: number;
  failedRetrains: number;
  /** Retrained models kept out of service: over `majoritySlack` below the majority rate on their held-back reads. */
  rejectedRetrains: number;
  firstRetrainError?: string;
}

interface RetrainInfo {
  outcome: RetrainOutcome;
  trainSeconds: number;
}

const NO_SLOT = -1;

/** Each traced read's latency as often as it stands for. */
function expanded(data: RetrainData): Float64Array {
  let n = 0;
  for (let i = 0; i < data.copies.length; i++) n += data.copies[i]!;
  const out = new Float64Array(n);
  let at = 0;
  for (let i = 0; i < data.copies.length; i++)
    for (let c = 0; c < data.copies[i]!; c++) out[at++] = data.latencyUs[i]!;
  return out;
}

/** One device's watch, trace ring and reads in flight. */
class DeviceTracer {
  readonly watch: DriftWatch<ServingModel, RetrainInfo>;
  // The trace: a ring of the most recent `trainOn` resolved reads.
  readonly vectors: Uint8Array;
  readonly latencyUs: Float64Array;
  readonly copies: Uint8Array;
  kept = 0;
  // Reads admitted and submitted, until they complete: key (home, index) -> slot.
  readonly inFlight = new Map<number, number>();
  readonly free: number[] = [];
  slotVectors = new Uint8Array(64 * LINNOS_FEATURES);
  slotPredicted = new Uint8Array(64);
  slotCopies = new Uint8Array(64);
  slotGeneration = new Int32Array(64);
  slots = 0;
  audits = 0;
  failedRetrains = 0;
  rejectedRetrains = 0;
  firstRetrainError: string | undefined;
  readonly records: RetrainRecord[] = [];

  constructor(
    readonly device: number,
    trainOn: number,
    watch: DriftWatch<ServingModel, RetrainInfo>,
  ) {
    this.watch = watch;
    this.vectors = new Uint8Array(trainOn * LINNOS_FEATURES);
    this.latencyUs = new Float64Array(trainOn);
    this.copies = new Uint8Array(trainOn);
  }

  takeSlot(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.slots === this.slotPredicted.length) {
      const capacity = this.slots * 2;
      const grow = <T extends Uint8Array | Int32Array>(a: T, make: (n: number) => T, per = 1): T => {
        const next = make(capacity * per);
        next.set(a);
        return next;
      };
      this.slotVectors = grow(this.slotVectors, (n) => new Uint8Array(n), LINNOS_FEATURES);
      this.slotPredicted = grow(this.slotPredicted, (n) => new Uint8Array(n));
      this.slotCopies = grow(this.slotCopies, (n) => new Uint8Array(n));
      this.slotGeneration = grow(this.slotGeneration, (n) => new Int32Array(n));
    }
    return this.slots++;
  }

  /** The most recent traced reads, oldest first. */
  recent(): RetrainData {
    const ring = this.latencyUs.length;
    const n = Math.min(this.kept, ring);
    const data: RetrainData = {
      vectors: new Uint8Array(n * LINNOS_FEATURES),
      latencyUs: new Float64Array(n),
      copies: new Uint8Array(n),
    };
    for (let k = 0; k < n; k++) {
      const slot = (this.kept - n + k) % ring;
      data.vectors.set(
        this.vectors.subarray(slot * LINNOS_FEATURES, (slot + 1) * LINNOS_FEATURES),
        k * LINNOS_FEATURES,
      );
      data.latencyUs[k] = this.latencyUs[slot]!;
      data.copies[k] = this.copies[slot]!;
    }
    return data;
  }
}

/**
 * The online half of a LinnOS policy: which model serves each device now, and the tracing, watching and
 * retraining behind it. See the module comment.
 */
export class OnlineLinnos {
  readonly #devices: (DeviceTracer | undefined)[];
  readonly #replicas: number;
  readonly #auditRate: number;
  readonly #auditCopies: number;
  readonly #random: Random;
  readonly #delayUs: number;
  readonly #settings: RetrainSettings;
  readonly #backend: Backend | 'auto';
  readonly #trainer: BackgroundTrainer | undefined;
  readonly #onResolved: OnlineRetrainOptions['onResolved'];
  readonly #refine: boolean;
  readonly #window: number;
  readonly #majoritySlack: number;
  /** Predictors this object made (retrained ones): disposed of when replaced or at close. */
  readonly #owned = new Set<Predictor>();
  /** The incremental predictors behind the submit paths of the predictors in #owned. */
  readonly #ownedIncremental = new Map<Predictor, IncrementalPredictor>();
  #retrainCount = 0;
  #closed = false;

  /** `initial`: each device's first model (undefined: that device is never predicted). */
  constructor(initial: readonly (ServingModel | undefined)[], options: OnlineRetrainOptions = {}) {
    this.#replicas = initial.length;
    this.#auditRate = options.auditRate ?? 0.125;
    if (!(this.#auditRate > 0 && this.#auditRate <= 1))
      throw new RangeError(`options.auditRate must be in (0, 1], got ${this.#auditRate}`);
    this.#auditCopies = Math.round(1 / this.#auditRate);
    const seed = options.seed ?? 1;
    this.#random = new Random(seed * 7919 + 17);
    this.#delayUs = options.retrainDelayUs ?? 100_000;
    this.#settings = {
      shape: options.shape ?? 'nn',
      epochs: options.epochs ?? 6,
      seed,
      ...(options.revokeCostUs !== undefined ? { revokeCostUs: options.revokeCostUs } : {}),
    };
    this.#backend = options.backend ?? 'auto';
    this.#trainer = options.trainer;
    if (options.retrain !== false) this.#trainer?.start?.();
    this.#onResolved = options.onResolved;
    this.#refine = options.refineThreshold !== false;
    const trainOn = options.trainOn ?? 6000;
    this.#window = options.window ?? 1000;
    this.#majoritySlack = options.majoritySlack ?? 0.1;
    this.#devices = initial.map((model, device) => {
      if (model === undefined) return undefined;
      const watch = new DriftWatch<ServingModel, RetrainInfo>({
        window: this.#window,
        checkEvery: options.checkEvery ?? 250,
        tolerance: options.tolerance ?? 0.1,
        falseSubmitTolerance: options.falseSubmitTolerance ?? 0.2,
        retrain: options.retrain !== false,
      });
      watch.start(model);
      return new DeviceTracer(device, trainOn, watch);
    });
  }

  /** The model serving `device` at `nowUs` (a retrained one goes live here, between two predictions). */
  model(device: number, nowUs: number): ServingModel | undefined {
    const tracer = this.#devices[device];
    if (tracer === undefined) return undefined;
    this.#swapIfReady(tracer, nowUs);
    return tracer.watch.active;
  }

  /**
   * A read try was predicted `predicted` (1 = slow) from `vector`. Returns whether to submit it although it
   * was predicted slow (an audit). Traces every try that will be submitted.
   */
  admitted(read: ReadTry, vector: Uint8Array, predicted: number): boolean {
    const tracer = this.#devices[read.device];
    if (tracer === undefined) return false;
    let copies = 1;
    let audit = false;
    if (predicted === 1) {
      if (this.#random.next() >= this.#auditRate) return false; // revoked: its truth is never seen
      audit = true;
      tracer.audits++;
      copies = this.#auditCopies;
    }
    const slot = tracer.takeSlot();
    tracer.slotVectors.set(vector, slot * LINNOS_FEATURES);
    tracer.slotPredicted[slot] = predicted;
    tracer.slotCopies[slot] = copies;
    tracer.slotGeneration[slot] = tracer.watch.generation;
    const key = read.index * this.#replicas + read.home;
    const stale = tracer.inFlight.get(key);
    if (stale !== undefined) tracer.free.push(stale);
    tracer.inFlight.set(key, slot);
    return audit;
  }

  /** A device read completed; a traced one is resolved, kept for retraining, and may trigger a retrain. */
  completed(device: number, latencyUs: number, completeUs: number, home?: number, index?: number): void {
    const tracer = this.#devices[device];
    if (tracer === undefined || home === undefined || index === undefined) return;
    this.#swapIfReady(tracer, completeUs);
    const key = index * this.#replicas + home;
    const slot = tracer.inFlight.get(key) ?? NO_SLOT;
    if (slot === NO_SLOT) return;
    tracer.inFlight.delete(key);
    tracer.free.push(slot);
    const ring = tracer.latencyUs.length;
    const at = tracer.kept % ring;
    tracer.vectors.set(
      tracer.slotVectors.subarray(slot * LINNOS_FEATURES, (slot + 1) * LINNOS_FEATURES),
      at * LINNOS_FEATURES,
    );
    tracer.latencyUs[at] = latencyUs;
    tracer.copies[at] = tracer.slotCopies[slot]!;
    tracer.kept++;
    const active = tracer.watch.active;
    // A prediction made by a model since replaced says nothing about the one serving now.
    if (active === undefined || tracer.slotGeneration[slot] !== tracer.watch.generation) return;
    const actual = latencyUs > active.thresholdUs ? 1 : 0;
    this.#onResolved?.(device, completeUs, tracer.slotPredicted[slot]!, actual, tracer.slotCopies[slot]!);
    const trigger = tracer.watch.record(
      tracer.slotPredicted[slot]!,
      actual,
      completeUs,
      tracer.slotCopies[slot]!,
    );
    if (trigger !== undefined) this.#retrain(tracer, completeUs);
  }

  #retrain(tracer: DeviceTracer, nowUs: number): void {
    const data = tracer.recent();
    if (this.#refine) {
      data.otherLatencyUs = [];
      for (const other of this.#devices)
        if (other !== undefined && other !== tracer) data.otherLatencyUs.push(expanded(other.recent()));
    }
    const settings = {
      ...this.#settings,
      seed: this.#settings.seed * 31 + tracer.device + 1000 * ++this.#retrainCount,
    };
    const trainer = this.#trainer;
    if (trainer === undefined) {
      const started = performance.now();
      let outcome: RetrainOutcome;
      try {
        outcome = retrainDevice(data, settings);
      } catch (error) {
        this.#failed(tracer, error);
        return;
      }
      this.#deliver(tracer, outcome, nowUs + this.#delayUs, (performance.now() - started) / 1000);
      return;
    }
    const started = performance.now();
    trainer.train(data, settings, (result) => {
      if (this.#closed) return;
      if (result instanceof Error) {
        this.#failed(tracer, result);
        return;
      }
      // Live at the device's next read (the watch swaps at the first time at or after this).
      this.#deliver(tracer, result, nowUs, (performance.now() - started) / 1000);
    });
  }

  #deliver(tracer: DeviceTracer, outcome: RetrainOutcome, readyAtUs: number, trainSeconds: number): void {
    // A model far less accurate on its held-back reads than always predicting the majority class is
    // mis-calibrated: it would serve badly and set a reference so low that no later drift falls below it.
    // Keep the old one. LinnOS's slow-weighted loss trades some accuracy for fewer false submits by design,
    // so a model may sit a little below the majority rate.
    if (!(outcome.validationAccuracy >= outcome.majorityRate - this.#majoritySlack)) {
      tracer.rejectedRetrains++;
      tracer.watch.abandon(this.#window);
      return;
    }
    let predictor: Predictor;
    let submit: ReturnType<typeof submitPathFor>;
    try {
      // Calibrate the int16 ranges on this device's recent vectors, as the offline path does on its own.
      const recent = tracer.recent().vectors;
      const calibration = recent.subarray(0, Math.min(recent.length, 4096 * LINNOS_FEATURES));
      predictor = createPredictor(outcome.model, { backend: this.#backend, calibration });
      try {
        submit = submitPathFor(predictor, outcome.model, calibration);
      } catch (error) {
        predictor.dispose();
        throw error;
      }
    } catch (error) {
      this.#failed(tracer, error);
      return;
    }
    this.#owned.add(predictor);
    if (submit !== undefined) this.#ownedIncremental.set(predictor, submit.incremental);
    const serving: ServingModel = { predictor, thresholdUs: outcome.thresholdUs, submitPath: submit?.path };
    tracer.watch.deliver(serving, readyAtUs, {
      outcome,
      trainSeconds,
    });
  }

  #failed(tracer: DeviceTracer, error: unknown): void {
    tracer.failedRetrains++;
    tracer.firstRetrainError ??= error instanceof Error ? error.message : String(error);
    tracer.watch.abandon(this.#window);
  }

  /** Swaps a delivered model in if its time has come; records it and retires the model it replaced. */
  #swapIfReady(tracer: DeviceTracer, nowUs: number): void {
    const replaced = tracer.watch.active;
    if (tracer.watch.swapIfReady(nowUs)) this.#retire(replaced, tracer);
  }

  /** After a swap: record it, and dispose of the replaced predictor if this object made it. */
  #retire(replaced: ServingModel | undefined, tracer: DeviceTracer): void {
    const swap = tracer.watch.swaps[tracer.watch.swaps.length - 1]!;
    const { outcome, trainSeconds } = swap.info;
    tracer.records.push({
      device: tracer.device,
      reason: swap.trigger.reason,
      triggeredAtUs: swap.trigger.timeUs,
      swappedAtUs: swap.swappedAtUs,
      rollingAccuracy: swap.trigger.rollingAccuracy,
      rollingFalseSubmitRate: swap.trigger.rollingFalseSubmitRate,
      bar: swap.trigger.bar,
      thresholdUs: outcome.thresholdUs,
      rows: outcome.rows,
      validationAccuracy: outcome.validationAccuracy,
      trainSeconds,
    });
    if (replaced !== undefined && this.#owned.delete(replaced.predictor)) {
      replaced.predictor.dispose();
      this.#ownedIncremental.get(replaced.predictor)?.dispose();
      this.#ownedIncremental.delete(replaced.predictor);
    }
  }

  /** Per device: what the watch saw and the retrains that went live. */
  report(): DeviceOnlineReport[] {
    const out: DeviceOnlineReport[] = [];
    for (const tracer of this.#devices) {
      if (tracer === undefined) continue;
      out.push({
        device: tracer.device,
        resolved: tracer.watch.resolved,
        accuracy: tracer.watch.accuracy,
        checks: tracer.watch.checks,
        retrains: tracer.records,
        audits: tracer.audits,
        failedRetrains: tracer.failedRetrains,
        rejectedRetrains: tracer.rejectedRetrains,
        ...(tracer.firstRetrainError !== undefined ? { firstRetrainError: tracer.firstRetrainError } : {}),
      });
    }
    return out;
  }

  /** Stops the background trainer and disposes of the retrained predictors. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#trainer?.close();
    for (const predictor of this.#owned) predictor.dispose();
    this.#owned.clear();
    for (const incremental of this.#ownedIncremental.values()) incremental.dispose();
    this.#ownedIncremental.clear();
  }
}
