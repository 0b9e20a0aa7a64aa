import { LakeError } from '../../errors.js';

/**
 * The code an exhausted arena reports. src/errors.ts has no dedicated code yet (LAKE_E_SHM_EXHAUSTED is
 * proposed); until it has, exhaustion is LAKE_E_INTERNAL told apart by this class and `isShmExhausted`.
 */
export const SHM_EXHAUSTED_CODE = 'LAKE_E_INTERNAL';

/** No free block can hold the request: callers turn this into the inline fallback. */
export class ShmExhaustedError extends LakeError {
  readonly reason = 'shm-exhausted';
  readonly requested: number;
  readonly largestFree: number;
  constructor(requested: number, largestFree: number, totalBytes: number) {
    super(
      SHM_EXHAUSTED_CODE,
      `lakeShm exhausted: ${requested} bytes requested, largest free block holds ${largestFree} (arena ${totalBytes} bytes)`,
    );
    this.name = 'ShmExhaustedError';
    this.requested = requested;
    this.largestFree = largestFree;
  }
}

export function isShmExhausted(error: unknown): error is ShmExhaustedError {
  return error instanceof ShmExhaustedError;
}
