import type { AdmissionPolicy, ArrayContext, ReadTry } from '../array/policy.js';
import type { Predictor } from '../kernels/types.js';
import { LINNOS_FEATURES, linnosFeatures } from './features.js';
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

export interface LinnosPolicyOptions {
  name: string;
  /** One predictor per device (the model of the device the try goes to); undefined = always submit there. */
  predictors: readonly (Predictor | undefined)[];
  /** LinnOS+HL: hedge reads not complete after this many us. */
  hedgeAfterUs?: number;
  /**
   * Online retraining (src/linnos/online.ts): the models come from it instead of `predictors`, it traces
   * what the policy predicts and is told of completions. Absent: the models never change.
   */
  online?: OnlineLinnos;
}

/**
 * Online LinnOS: for each latency-critical read try, build the 31-digit vector from the target device's
 * live view (pending pages + the last 4 completed reads) and ask that device's model; slow = revoke, and the
 * array re-issues the read on the next replica (the last replica is never asked). Never throws into the
 * array: a predictor fault submits.
 */
export class LinnosPolicy implements AdmissionPolicy {
  readonly name: string;
  readonly hedgeAfterUs?: number;
  readonly stats: LinnosOnlineStats = { offered: 0, predicted: 0, revoked: 0, unpredicted: 0, faults: 0 };
  readonly #predictors: readonly (Predictor | undefined)[];
  readonly #features = new Uint8Array(LINNOS_FEATURES);
  readonly online: OnlineLinnos | undefined;

  constructor(options: LinnosPolicyOptions) {
    this.name = options.name;
    this.#predictors = options.predictors;
    if (options.hedgeAfterUs !== undefined) this.hedgeAfterUs = options.hedgeAfterUs;
    this.online = options.online;
  }

  admit(read: ReadTry, context: ArrayContext): boolean {
    const stats = this.stats;
    stats.offered++;
    const online = this.online;
    const predictor =
      online !== undefined ? online.model(read.device, read.nowUs)?.predictor : this.#predictors[read.device];
    const view = context.devices[read.device];
    if (predictor === undefined || view === undefined || !linnosFeatures(view, read.size, this.#features)) {
      stats.unpredicted++;
      return false;
    }
    try {
      stats.predicted++;
      const slow = predictor.predict(this.#features);
      // Online: a try predicted slow may be submitted anyway (an audit), so its truth is seen.
      if (online?.admitted(read, this.#features, slow)) return false;
      if (slow === 1) {
        stats.revoked++;
        return true;
      }
      return false;
    } catch {
      stats.faults++;
      return false;
    }
  }

  onReadComplete(device: number, latencyUs: number, completeUs: number, home?: number, index?: number): void {
    try {
      this.online?.completed(device, latencyUs, completeUs, home, index);
    } catch {
      // Never into the array: a tracing fault loses one trace row, not the replay.
      this.stats.faults++;
    }
  }
}
