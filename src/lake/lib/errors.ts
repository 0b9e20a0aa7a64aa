import { LakeError } from '../../errors.js';

/**
 * The code a full command ring reports. src/errors.ts has no dedicated code yet (LAKE_E_BUSY is proposed);
 * until it has, it is LAKE_E_INTERNAL told apart by this class.
 */
export class RingFullError extends LakeError {
  readonly reason = 'ring-full';
  constructor(inFlight: number, waitedMs: number) {
    super(
      'LAKE_E_INTERNAL',
      `lakeLib: ${inFlight} commands in flight, the ring's limit; none completed within ${waitedMs} ms ` +
        '(synchronise more often, or raise options.ringFullWaitMs)',
    );
    this.name = 'RingFullError';
  }
}
