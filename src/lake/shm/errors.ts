import { LakeError } from '../../errors.js';

/** The code an exhausted arena reports. */
export const SHM_EXHAUSTED_CODE = 'LAKE_E_SHM_EXHAUSTED';

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
