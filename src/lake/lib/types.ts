import type { BackendName } from '../backends/types.js';
import type { ShmArena } from '../shm/arena.js';

/** Handles lakeLib hands out. Device and host pointers are byte offsets into lakeShm. */
export type DevicePtr = number;
export type HostPtr = number;
export type ContextHandle = number;
export type ModuleHandle = number;
export type FunctionHandle = number;
export type StreamHandle = number;

/** The default stream: its async failures surface at any context synchronise and at streamSynchronize(0). */
export const DEFAULT_STREAM: StreamHandle = 0;

/** Blocks of a launch; a CPU backend gives each block a contiguous share of the batch. */
export type Grid = number | { readonly x: number; readonly y?: number; readonly z?: number };

/** One entry of a launch's argument descriptor: a device pointer (a lakeShm handle) or a scalar. */
export type KernelArg =
  | { readonly kind: 'ptr'; readonly ptr: DevicePtr }
  | { readonly kind: 'scalar'; readonly value: number };

export function ptrArg(ptr: DevicePtr): KernelArg {
  return { kind: 'ptr', ptr };
}

export function scalarArg(value: number): KernelArg {
  return { kind: 'scalar', value };
}

export interface LakeLibOptions {
  /** The lakeShm arena to share with lakeD; default a new one of `arenaBytes`. */
  arena?: ShmArena;
  /** Default 64 MiB. */
  arenaBytes?: number;
  /**
   * Spin before sleeping, on both sides (default on; LAKE_DISABLE_SPIN=1 in the environment turns it off,
   * so that the sleep-only path is testable and measurable).
   */
  spin?: boolean;
  /** How long a sync call polls its slot before sleeping (default 30 us). */
  clientSpinMicros?: number;
  /** How long lakeD polls the ring after a command before sleeping (default 50 us). */
  daemonSpinMicros?: number;
  /**
   * lakeD is declared hung when its heartbeat has not moved for this long while work is outstanding
   * (default 1000 ms: on a busy 2-core VM a thread can go unscheduled for 100-250 ms, and a false alarm
   * costs a restart). A waiting call notices within hangTimeoutMs + 5 ms; the watchdog timer, for work
   * nobody waits on, within 1.5 x hangTimeoutMs plus event-loop delay. A crash that lakeD survives long
   * enough to report (an exception in its loop) is noticed at once, without waiting for silence.
   */
  hangTimeoutMs?: number;
  /**
   * The silence allowed while lakeD loads a module (default 10,000 ms): building a predictor (quantising,
   * instantiating WASM) is one step that cannot beat, and takes 100+ ms for NN+2 on a busy core.
   */
  loadTimeoutMs?: number;
  /**
   * When MAX_IN_FLIGHT (1024) commands are in flight, the next async call (launch, async copy) waits this
   * long for the oldest to complete, then throws RingFullError (default 10,000 ms; 0 throws at once). A sync
   * call (synchronise included) always waits for a slot, as it waits for its reply.
   */
  ringFullWaitMs?: number;
  /** lakeD restarts after deaths before lakeLib stays inline for good (default 5). */
  maxRestarts?: number;
  /** How long open() waits for lakeD to start (default 30,000 ms: a cold worker under tsx on a busy core). */
  startTimeoutMs?: number;
  /**
   * A module (URL or specifier) whose `backends` export lakeD opens instead of lake's catalog (e.g. a CUDA
   * backend over a driver of one's own); lakeLib's detection and inline path use it too.
   */
  backendCatalog?: string;
}

/**
 * A device that lakeD reported faulted: its accelerator gave up (a launch error, a lost device, a driver
 * gone) and it serves on its CPU path. lakeLib keeps it for its whole life (see LakeLib.deviceFaults).
 */
export interface DeviceFault {
  readonly device: number;
  readonly backend: BackendName;
  /** The device's own account: the call that failed and how. */
  readonly reason: string;
}

export type LakeLibMode = 'daemon' | 'inline';

/** Why lakeD was replaced. */
export interface DaemonFailure {
  kind: 'hang' | 'exit' | 'crash' | 'start';
  detail: string;
  /** How long lakeD's heartbeat had been silent when the failure was declared. */
  silentMs: number;
  /** Commands outstanding at that moment, all finished inline. */
  inFlight: number;
}

export interface LakeLibStats {
  mode: LakeLibMode;
  /** lakeD incarnations started after the first. */
  restarts: number;
  failures: DaemonFailure[];
  /** Commands sent to lakeD. */
  daemonCommands: number;
  /** Commands run on the calling thread (lakeD dead, restarting, or given up on). */
  inlineCommands: number;
  inFlight: number;
}

export interface UtilisationSample {
  /** Fraction of the window lakeD spent executing commands (0 inline). */
  busy: number;
  /** The window: time since the previous sample (or since open). */
  windowMs: number;
  /** Whether lakeD is executing a command right now. */
  busyNow: boolean;
  inFlight: number;
  mode: LakeLibMode;
}
