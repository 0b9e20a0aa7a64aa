import { LakeError } from '../../errors.js';

/** A full command ring: LAKE_E_BUSY. */
export class RingFullError extends LakeError {
  readonly reason = 'ring-full';
  constructor(inFlight: number, waitedMs: number) {
    super(
      'LAKE_E_BUSY',
      `lakeLib: ${inFlight} commands in flight, the ring's limit; none completed within ${waitedMs} ms ` +
        '(synchronise more often, or raise options.ringFullWaitMs)',
    );
    this.name = 'RingFullError';
  }
}
