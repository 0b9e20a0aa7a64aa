import type { AdmissionPolicy, ArrayContext, ReadTry } from '../array/policy.js';
import type { Predictor } from '../kernels/types.js';
import { LINNOS_FEATURES, linnosFeatures } from './features.js';

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

  constructor(options: LinnosPolicyOptions) {
    this.name = options.name;
    this.#predictors = options.predictors;
    if (options.hedgeAfterUs !== undefined) this.hedgeAfterUs = options.hedgeAfterUs;
  }

  admit(read: ReadTry, context: ArrayContext): boolean {
    const stats = this.stats;
    stats.offered++;
    const predictor = this.#predictors[read.device];
    const view = context.devices[read.device];
    if (predictor === undefined || view === undefined || !linnosFeatures(view, read.size, this.#features)) {
      stats.unpredicted++;
      return false;
    }
    try {
      stats.predicted++;
      if (predictor.predict(this.#features) === 1) {
        stats.revoked++;
        return true;
      }
      return false;
    } catch {
      stats.faults++;
      return false;
    }
  }
}
