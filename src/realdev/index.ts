/** The real-device concern's public API: devices, backends, the real-clock engine, policies on devices. */

export type { ArrivalColumns, CaptureFormat, LoadArrivalsOptions } from './arrivals.js';
export { arrivalsOf, captureWorkload, loadArrivals, traceWorkload } from './arrivals.js';
export type { BackendChoice, BackendKind, BackendOptions, IoBackend } from './backend.js';
export { backendChoices, createBackend, uringAvailability } from './backend.js';
export type { BackingDevice, RealDeviceInit, RealDeviceKind } from './device.js';
export { RealDevice } from './device.js';
export type { DiskCounters, DiskDelta } from './diskstats.js';
export { diskDelta, readDiskstats } from './diskstats.js';
export type {
  DeviceTime,
  EngineCost,
  LagSummary,
  RealReplayOptions,
  RealReplayResult,
  ReplayDevice,
  SubmitEvent,
} from './engine.js';
export {
  DEFAULT_LATE_AFTER_US,
  DEFAULT_QUEUE_DEPTH,
  DEFAULT_REVOKE_COST_US,
  DEFAULT_SPIN_US,
  replayReal,
  SLACK_GAP_US,
} from './engine.js';
export type { CreatedImage, CreateImageOptions } from './image.js';
export { checkFreeSpace, createImage, removeImage } from './image.js';
export type { DirectMode, OpenDevicesOptions } from './open.js';
export { closeDevices, MIN_DEVICE_BYTES, openDevices, parseByteSize } from './open.js';
export { placedOffset, placedSize } from './place.js';
export type { RealPolicyRun, RunRealPoliciesOptions } from './run.js';
export { runRealPolicies } from './run.js';
export { VirtualBackend, virtualDevices } from './virtual.js';
