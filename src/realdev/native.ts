/**
 * The optional native addon (native/lake_io.cc, built by node-gyp at install into build/Release). Everything
 * in src/realdev works without it through Node's own fs (the libuv backend); the addon adds an io_uring
 * ring, aligned buffers and a monotonic microsecond clock, which the real-clock engine needs to stay within
 * a few microseconds of the device. LAKE_NATIVE=0 turns it off (to test the fallback).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The addon's functions (see native/lake_io.cc for the contracts). */
export interface NativeIo {
  /** A ring: submissions [slot, fd, write, offset, size] x n, completions [slot, res, completeUs] x n. */
  createRing(
    entries: number,
    bufferBytes: number,
    align: number,
    submissions: Float64Array,
    completions: Float64Array,
    sqpoll?: boolean,
  ): NativeRing;
  /** Submits `count` entries of the submissions array; returns the monotonic time (us) just before. */
  submit(ring: NativeRing, count: number): number;
  /**
   * Completions into the completions array: at once if any are ready, else spin (up to spinUs, less while
   * recent waits' first completions came later than spinUs), then sleep until untilUs.
   */
  wait(ring: NativeRing, untilUs: number, spinUs: number): number;
  inFlight(ring: NativeRing): number;
  /** The most the next wait spins, us (the adaptive spin's budget; very large before the first wait). */
  spinBudget(ring: NativeRing): number;
  /** Waits for what is in flight, then releases the ring. Idempotent. */
  close(ring: NativeRing): void;
  /** CLOCK_MONOTONIC in us. */
  nowUs(): number;
  /** One blocking I/O through an aligned buffer: [bytes or -errno, latency us]. */
  pread(fd: number, offset: number, size: number, align: number): [number, number];
  pwrite(fd: number, offset: number, size: number, align: number): [number, number];
}

/** An opaque ring handle owned by the addon. */
export type NativeRing = { readonly __nativeRing: unique symbol };

const ADDON_PATH = fileURLToPath(new URL('../../build/Release/lake_io.node', import.meta.url));

let loaded: { io: NativeIo | undefined; reason: string } | undefined;

/** The addon, or undefined with the reason (not built, failed to load, or turned off by LAKE_NATIVE=0). */
export function loadNative(): { io: NativeIo | undefined; reason: string } {
  if (loaded !== undefined) return loaded;
  if (process.env.LAKE_NATIVE === '0') {
    loaded = { io: undefined, reason: 'turned off by LAKE_NATIVE=0' };
  } else if (!existsSync(ADDON_PATH)) {
    loaded = { io: undefined, reason: `native addon not built (${ADDON_PATH} is missing)` };
  } else {
    try {
      const require = createRequire(import.meta.url);
      loaded = { io: require(ADDON_PATH) as NativeIo, reason: 'loaded' };
    } catch (error) {
      loaded = { io: undefined, reason: `native addon failed to load: ${(error as Error).message}` };
    }
  }
  return loaded;
}

export function nativeIo(): NativeIo | undefined {
  return loadNative().io;
}
