export { createFlashDevice } from './create.js';
export { describeConfig, describeFlash } from './describe.js';
export { checkFlashInvariants } from './invariants.js';
export { flashDefaults, resolveFlashConfig } from './options.js';
export { flashProfileNames, flashProfiles } from './profiles.js';
export { flashInternals, SimulatedSsd } from './simulated-ssd.js';
export { slowCauses } from './types.js';

export type { FlashCounters } from './counters.js';
export type { FlashConfig, FlashOptions, GcUnit, PreconditionOptions } from './options.js';
export type { FlashProfile, FlashProfileName } from './profiles.js';
export type { FlashInternals } from './simulated-ssd.js';
export type { Device, SlowCause, SubmitResult } from './types.js';
