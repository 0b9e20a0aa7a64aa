import type { LakeErrorCode } from '../errors.js';

/** One table from error code to process exit status. Unknown errors exit with GENERIC_FAILURE. */
export const GENERIC_FAILURE = 1;
export const exitCodes: Readonly<Record<LakeErrorCode, number>> = {
  LAKE_E_USAGE: 64,
  LAKE_E_TRACE_PARSE: 2,
  LAKE_E_TRACE_FORMAT: 2,
  LAKE_E_IO: 74,
  LAKE_E_MODEL_FORMAT: 65,
  LAKE_E_MODEL_CHECKSUM: 65,
  LAKE_E_WASM_UNAVAILABLE: 69,
  LAKE_E_WORKER_CRASH: 70,
  LAKE_E_SHM_EXHAUSTED: 70,
  LAKE_E_BUSY: 75,
  LAKE_E_INTERNAL: 70,
};
