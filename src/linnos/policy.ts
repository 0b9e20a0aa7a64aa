import type { DeviceView } from '../array/device-state.js';
import type { AdmissionPolicy, ArrayContext, ReadTry } from '../array/policy.js';
import type { Predictor } from '../kernels/types.js';
import { LINNOS_FEATURES, linnosFeatures } from './features.js';
import { type LinnosSubmitPath, NO_HISTORY } from './incremental.js';
import type { OnlineLinnos } from './online.js';

/** What the online LinnOS policy did, for the report. */
export interface LinnosOnlineStats {
  /** LC read tries offered to the policy. */
  offered: number;
  /** Tries predicted (the device had 4 completed reads and a model). */
  predicted: number;
  /** Tries revoked (predicted slow). */
  revoked: number;
  /** Tries submitted without a prediction (no history yet, or no model for the device). */
  unpredicted: number;
  /** Predictor faults: the try was submitted (the plain path). */
  faults: number;
}

/** A device's serving predictor with the submit path that decides as it does (absent: the full forward). */
export interface LinnosServing {
  predictor: Predictor;
  submitPath?: LinnosSubmitPath | undefined;
}

export interface LinnosPolicyOptions {
  name: string;
  /** One predictor per device (the model of the device the try goes to); undefined = always submit there. */
  predictors: readonly (Predictor | undefined)[];
  /**
   * Per device, the submit path of `predictors[d]`'s model (submitPathFor): the read's decision then costs
   * only pend_now's rows, the ReLU and the output layer, the history's share being kept up to date as reads
   * complete. Absent for a device: the full forward there. Ignored with `online` (its models bring theirs).
   */
  submitPaths?: readonly (LinnosSubmitPath | undefined)[];
  /**
   * Inference time charged to each predicted read try, us (measured by the caller on this policy's own
   * predictors: measureDecisionUs): the try waits this long before it is submitted or revoked, on engines
   * whose clock does not run the inference itself (ArrayContext.charge). 0 or absent: nothing is charged.
   */
  inferenceCostUs?: number;
  /** LinnOS+HL: hedge reads not complete after this many us. */
  hedgeAfterUs?: number;
  /**
   * Online retraining (src/linnos/online.ts): the models come from it instead of `predictors`, it traces
   * what the policy predicts and is told of completions. Absent: the models never change.
   */
  online?: OnlineLinnos;
}

/**
 * Online LinnOS: for each latency-critical read try, decide from the target device's live view (pending
 * pages + the last 4 completed reads) with that device's model; slow = revoke, and the array re-issues the
 * read on the next replica (the last replica is never asked). Where the model has a submit path, the
 * history's share of the first layer is computed when a read completes (onReadComplete) and a submit adds
 * only pend_now's digits; decisions are those of the full forward. Never throws into the array: a
 * predictor fault submits.
 */
export class LinnosPolicy implements AdmissionPolicy {
  readonly name: string;
  readonly hedgeAfterUs?: number;
  readonly inferenceCostUs: number;
  readonly stats: LinnosOnlineStats = { offered: 0, predicted: 0, revoked: 0, unpredicted: 0, faults: 0 };
  /** Per device, its fixed model (without `online`): built once, not per decision. */
  readonly #serving: readonly (LinnosServing | undefined)[];
  /** Per device, the submit path its last decision used (the one a completion there brings up to date). */
  readonly #livePaths: (LinnosSubmitPath | undefined)[] = [];
  readonly #features = new Uint8Array(LINNOS_FEATURES);
  #devices: readonly DeviceView[] = [];
  readonly online: OnlineLinnos | undefined;

  constructor(options: LinnosPolicyOptions) {
    this.name = options.name;
    const submitPaths = options.submitPaths ?? [];
    this.#serving = options.predictors.map((predictor, d) =>
      predictor === undefined ? undefined : { predictor, submitPath: submitPaths[d] },
    );
    if (options.hedgeAfterUs !== undefined) this.hedgeAfterUs = options.hedgeAfterUs;
    const cost = options.inferenceCostUs ?? 0;
    this.inferenceCostUs = Number.isFinite(cost) && cost > 0 ? cost : 0;
    this.online = options.online;
  }

  start(context: ArrayContext): void {
    this.#devices = context.devices;
  }

  admit(read: ReadTry, context: ArrayContext): boolean {
    const stats = this.stats;
    stats.offered++;
    const online = this.online;
    const device = read.device;
    let serving: LinnosServing | undefined;
    if (online !== undefined) serving = online.model(device, read.nowUs);
    else serving = this.#serving[device];
    const view = context.devices[device];
    if (serving === undefined || view === undefined) {
      stats.unpredicted++;
      return false;
    }
    const path = serving.submitPath;
    this.#livePaths[device] = path;
    let slow: number;
    try {
      if (path !== undefined) {
        const decision = path.predict(view, read.size);
        if (decision === NO_HISTORY) {
          stats.unpredicted++;
          return false;
        }
        stats.predicted++;
        slow = decision;
        // Online tracing keeps the vector of every try it may see the truth of.
        if (online !== undefined) linnosFeatures(view, read.size, this.#features);
      } else {
        if (!linnosFeatures(view, read.size, this.#features)) {
          stats.unpredicted++;
          return false;
        }
        stats.predicted++;
        slow = serving.predictor.predict(this.#features);
      }
      if (this.inferenceCostUs > 0) context.charge?.(this.inferenceCostUs);
      // Online: a try predicted slow may be submitted anyway (an audit), so its truth is seen.
      if (online?.admitted(read, this.#features, slow)) return false;
    } catch {
      stats.faults++;
      return false;
    }
    if (slow === 1) {
      stats.revoked++;
      return true;
    }
    return false;
  }

  onReadComplete(device: number, latencyUs: number, completeUs: number, home?: number, index?: number): void {
    try {
      // The next decision there finds the history's share of the first layer ready.
      const path = this.#livePaths[device];
      const view = this.#devices[device];
      if (path !== undefined && view !== undefined) path.observe(view);
    } catch {
      // A submit path that failed here recomputes its context at the next decision (or faults there).
      this.stats.faults++;
    }
    try {
      this.online?.completed(device, latencyUs, completeUs, home, index);
    } catch {
      // Never into the array: a tracing fault loses one trace row, not the replay.
      this.stats.faults++;
    }
  }
}
