/**
 * How the real-clock engine reaches the devices: an asynchronous queue of device I/Os with completions
 * stamped on one monotonic clock. Two implementations behind one factory (after HdrHistogramJS's builder):
 * - 'uring': the native addon's io_uring ring (native/lake_io.cc): batches enter the kernel from the
 *   engine's thread, completions are read from shared memory; the engine spins briefly, then sleeps in the
 *   kernel until a completion or its next deadline. Overhead per I/O: a few microseconds.
 * - 'libuv': Node's fs.read/fs.write on the libuv thread pool, with aligned buffers found by probing
 *   (align.ts). No build step, but at most UV_THREADPOOL_SIZE (default 4) I/Os run at once and every
 *   completion crosses threads, so its latencies carry tens of microseconds of overhead.
 */
import { LakeError, usageError } from '../errors.js';
import type { RealDevice } from './device.js';
import { LibuvBackend } from './libuv.js';
import { loadNative } from './native.js';
import { UringBackend } from './uring.js';

/** 'rados': a Ceph cluster's pools through librados (src/ceph/backend.ts), built by its caller. */
export type BackendKind = 'uring' | 'libuv' | 'virtual' | 'rados';
export type BackendChoice = 'auto' | 'uring' | 'libuv';
export const backendChoices: readonly BackendChoice[] = ['auto', 'uring', 'libuv'];

export interface IoBackend {
  readonly kind: BackendKind;
  /** Device I/Os that can be in flight at once (libuv: its thread pool). */
  readonly concurrency: number;
  /** Completions of the last wait(): [slot, bytes or -errno, completeUs] per completion. */
  readonly completions: Float64Array;
  /** Monotonic clock, us (the clock completions are stamped on). */
  nowUs(): number;
  /** Queues one device I/O (placed and aligned already); it enters the kernel at the next flush(). */
  queue(slot: number, device: number, write: boolean, offset: number, size: number): void;
  /** Submits what is queued; returns the clock just before it entered the kernel (NaN if nothing was queued). */
  flush(): number;
  /** Completions already in, without waiting (into `completions`); returns how many. */
  poll(): number;
  /**
   * Waits for completions: returns at once with those already in, else waits (spinning up to spinUs
   * first) until one arrives or the clock reaches untilUs. Returns how many are in `completions`; a
   * Promise where waiting needs the event loop (libuv).
   */
  wait(untilUs: number, spinUs: number): number | Promise<number>;
  /** Device I/Os submitted and not yet returned by wait(). */
  readonly inFlight: number;
  /** Waits for what is in flight, then releases the backend. */
  close(): Promise<void>;
  /** Completion time (backend clock) a read would get if submitted at atUs; simulated devices only. */
  peekReadUs?(device: number, offset: number, size: number, atUs: number): number;
}

export interface BackendOptions {
  backend?: BackendChoice;
  /** Device I/Os in flight at most, over all devices. */
  maxInFlight: number;
  /** The largest transfer that will be queued, bytes. */
  maxIoBytes: number;
  onWarning?: (message: string) => void;
  /**
   * io_uring only: a kernel thread polls for submissions, so entering the kernel costs no system call (it
   * keeps a CPU busy while the replay runs).
   */
  sqpoll?: boolean;
}

/** Whether the io_uring backend can run here, and why not. */
export function uringAvailability(): { available: boolean; reason: string } {
  const native = loadNative();
  if (native.io === undefined) return { available: false, reason: native.reason };
  return UringBackend.probe(native.io);
}

export function createBackend(devices: readonly RealDevice[], options: BackendOptions): IoBackend {
  const choice = options.backend ?? 'auto';
  if (!backendChoices.includes(choice))
    throw usageError(`backend must be one of ${backendChoices.join(', ')}, got "${String(choice)}"`);
  if (!(Number.isInteger(options.maxInFlight) && options.maxInFlight >= 1))
    throw usageError(`maxInFlight must be a positive integer, got ${options.maxInFlight}`);
  if (choice !== 'libuv') {
    const native = loadNative();
    const why = native.io === undefined ? native.reason : UringBackend.probe(native.io).reason;
    if (native.io !== undefined && why === 'available') return new UringBackend(native.io, devices, options);
    if (choice === 'uring')
      throw new LakeError('LAKE_E_USAGE', `the io_uring backend is unavailable: ${why}`);
    options.onWarning?.(`io_uring backend unavailable (${why}); using Node's libuv thread pool`);
  }
  return new LibuvBackend(devices, options);
}
