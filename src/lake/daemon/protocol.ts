import type { LakeErrorCode } from '../../errors.js';

/**
 * The lakeLib <-> lakeD wire: every word of the command channel (one SharedArrayBuffer per daemon
 * incarnation) and every command, by name (after piscina's symbols.ts). LAKE sends a 32-bit API id and
 * arguments per call and matches replies by sequence id, with at most 1024 in flight; so does lake.
 *
 * Layout (bytes):
 *   [0, CONTROL_BYTES)            control words (Int32, below)
 *   [SLOTS_OFFSET, +RING_SLOTS*SLOT_BYTES)  the ring: slot s holds the command with seq % RING_SLOTS === s
 *   [TEXT_OFFSET, +RING_SLOTS*TEXT_BYTES)   per-slot text (UTF-8): a name in, a JSON reply or an error out
 *
 * A slot (SLOT_BYTES = 192):
 *   Int32 words 0..7   S_STATE, S_API, S_SEQ, S_STREAM, S_STATUS, S_TEXT_LENGTH (two spare)
 *   f64 [32, 160)      ARG_COUNT arguments (handles are byte offsets into lakeShm: exact in a double)
 *   f64 [160, 192)     RESULT_COUNT results
 *
 * Hand-off (seq_cst Atomics on both sides, so the sleeping flags work as in Dekker's algorithm):
 *   client: fill slot, store S_STATE = SUBMITTED, add 1 to C_DOORBELL, notify it iff C_DAEMON_SLEEPING.
 *   daemon: serve in seq order; store S_STATE = DONE, notify the slot's state word iff C_CLIENT_WAITING.
 *   Both sides spin on the word for a while before sleeping on it (LAKE_DISABLE_SPIN=1 turns spinning off).
 */

// --- control words (Int32 indices) ---
/**
 * Bumped by lakeD at least every IDLE_WAIT_MS and before every kernel block: its sign of life. A module
 * load is one step that cannot beat (building a predictor), so clients allow it a longer silence.
 */
export const C_HEARTBEAT = 0;
/** DaemonState below. */
export const C_DAEMON_STATE = 1;
/** Bumped by the client after publishing a command; lakeD sleeps on it. */
export const C_DOORBELL = 2;
/** 1 while lakeD sleeps (or is about to) on C_DOORBELL. */
export const C_DAEMON_SLEEPING = 3;
/** 1 while the client sleeps (or is about to) on a slot's state word. */
export const C_CLIENT_WAITING = 4;
/** The API id of the command lakeD is executing; 0 when none. */
export const C_BUSY = 5;
/** Microseconds lakeD spent executing commands, wrapping at 2^32 (read as unsigned, compare deltas). */
export const C_BUSY_MICROS = 6;
/** Commands lakeD completed (wrapping). */
export const C_COMMANDS_DONE = 7;
export const CONTROL_WORDS = 16;
export const CONTROL_BYTES = CONTROL_WORDS * 4;

/** crashed: lakeD's loop threw (an injected crash or a bug); the client need not wait for silence. */
export const DaemonState = { starting: 0, ready: 1, stopped: 2, crashed: 3 } as const;

// --- the ring ---
export const RING_SLOTS = 1024;
/** LAKE's limit: at most this many commands in flight (submitted, not yet reaped by the client). */
export const MAX_IN_FLIGHT = RING_SLOTS;
export const SLOT_BYTES = 192;
export const SLOT_WORDS = SLOT_BYTES / 4;
export const S_STATE = 0;
export const S_API = 1;
export const S_SEQ = 2;
export const S_STREAM = 3;
export const S_STATUS = 4;
export const S_TEXT_LENGTH = 5;
export const ARG_OFFSET = 32;
export const ARG_COUNT = 16;
export const RESULT_OFFSET = 160;
export const RESULT_COUNT = 4;
export const TEXT_BYTES = 512;

export const SLOTS_OFFSET = CONTROL_BYTES;
export const TEXT_OFFSET = SLOTS_OFFSET + RING_SLOTS * SLOT_BYTES;
export const CHANNEL_BYTES = TEXT_OFFSET + RING_SLOTS * TEXT_BYTES;

export const SlotState = { free: 0, submitted: 1, running: 2, done: 3 } as const;

// --- commands (32-bit API ids); the argument words each takes are listed beside it ---
export const Api = {
  /** (): the round trip LAKE's remoting benchmark times. */
  noop: 1,
  /** () -> result[0] = device count. */
  deviceCount: 2,
  /** (index) -> text = DeviceInfo JSON. */
  deviceGet: 3,
  /** (context, device). */
  contextCreate: 4,
  /** (context): releases its memory registrations and modules. */
  contextDestroy: 5,
  /**
   * (context): returns once everything before it ran (lakeD serves in order) -> result[0] = 1 and text =
   * DeviceFaultReply JSON when the context's device has faulted (its accelerator gave up; it serves on its
   * CPU path), else 0.
   */
  contextSynchronize: 6,
  /** (context, module, kernelSetId, imagePtr, imageBytes). */
  moduleLoad: 7,
  /** (module). */
  moduleUnload: 8,
  /** (module, function) + text = function name -> result[0] = index in its kernel set. */
  moduleGetFunction: 9,
  /** (function, gridX, gridY, gridZ, argCount, args...) on S_STREAM; async. */
  launch: 10,
  /** (context, ptr, bytes): the lakeShm region becomes device memory of the context's device. */
  memAlloc: 11,
  /** (ptr). */
  memFree: 12,
  /** (devicePtr, hostPtr, bytes). */
  memcpyHtoD: 13,
  /** (hostPtr, devicePtr, bytes). */
  memcpyDtoH: 14,
  /** as memcpyHtoD on S_STREAM; async. */
  memcpyHtoDAsync: 15,
  /** as memcpyDtoH on S_STREAM; async. */
  memcpyDtoHAsync: 16,
  /** (context, stream). */
  streamCreate: 17,
  /** (stream): as contextSynchronize, for the stream's device (the default stream names none: 0). */
  streamSynchronize: 18,
  /** (stream). */
  streamDestroy: 19,
  /** (milliseconds): lakeD sleeps, still beating (a long command that is not a hang). Async. */
  debugSleep: 0x100,
  /** (): lakeD stops beating and never returns (an injected hang). Async. */
  debugHang: 0x101,
  /** (): lakeD's thread throws out of its loop and dies (an injected crash). Async. */
  debugCrash: 0x102,
  /** (): lakeD leaves its loop and its thread ends. */
  shutdown: 0x1ff,
} as const;
export type ApiId = (typeof Api)[keyof typeof Api];

/** Commands that return at once; their failure surfaces at the next synchronise of their stream. */
export const ASYNC_APIS: ReadonlySet<number> = new Set([
  Api.launch,
  Api.memcpyHtoDAsync,
  Api.memcpyDtoHAsync,
  Api.debugSleep,
  Api.debugHang,
  Api.debugCrash,
]);

/** Launch arguments: argument words before the kernel's own. */
export const LAUNCH_FIXED_ARGS = 5;
export const MAX_KERNEL_ARGS = ARG_COUNT - LAUNCH_FIXED_ARGS;

/** S_STATUS: 0 = ok, else 1 + the index of the error's code here (codes travel by number). */
export const STATUS_OK = 0;
export const ERROR_CODES = [
  'LAKE_E_USAGE',
  'LAKE_E_TRACE_PARSE',
  'LAKE_E_TRACE_FORMAT',
  'LAKE_E_IO',
  'LAKE_E_MODEL_FORMAT',
  'LAKE_E_MODEL_CHECKSUM',
  'LAKE_E_WASM_UNAVAILABLE',
  'LAKE_E_WORKER_CRASH',
  'LAKE_E_INTERNAL',
  'LAKE_E_SHM_EXHAUSTED',
  'LAKE_E_BUSY',
] as const satisfies readonly LakeErrorCode[];

export function statusOf(code: string): number {
  const index = (ERROR_CODES as readonly string[]).indexOf(code);
  return 1 + (index < 0 ? ERROR_CODES.indexOf('LAKE_E_INTERNAL') : index);
}

export function codeOf(status: number): LakeErrorCode {
  return ERROR_CODES[status - 1] ?? 'LAKE_E_INTERNAL';
}

export function apiName(api: number): string {
  for (const [name, id] of Object.entries(Api)) if (id === api) return name;
  return `api ${api}`;
}

/** lakeD's idle sleep between heartbeats. */
export const IDLE_WAIT_MS = 10;
/** How long lakeD and the client spin on a word before sleeping (the hot path of LAKE's remoting). */
export const DEFAULT_DAEMON_SPIN_MICROS = 50;
export const DEFAULT_CLIENT_SPIN_MICROS = 30;

/**
 * The text of a synchronise reply whose device faulted: which device, and why it left its accelerator. A
 * fault reaches lakeLib with the synchronise that ends the batch it happened in, at no extra round trip.
 */
export interface DeviceFaultReply {
  device: number;
  backend: string;
  fault: string;
}

/** The longest fault text a synchronise reply carries (the reply's JSON must fit in TEXT_BYTES). */
export const MAX_FAULT_TEXT = 320;

/** What the daemon worker receives as workerData. */
export interface DaemonWorkerData {
  channel: SharedArrayBuffer;
  arena: SharedArrayBuffer;
  /** 0 turns lakeD's spinning off. */
  spinMicros: number;
  /** A backend catalog module to open lakeD's devices from (LakeLibOptions.backendCatalog). */
  backendCatalog?: string;
}
