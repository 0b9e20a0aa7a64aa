/**
 * What a simulated SSD did, counted so that a latency tail can be explained: which work the slow reads
 * waited behind, how much GC and flushing there was, how often writes stalled. Kept internally in one
 * Float64Array (indices below) so that the hot path only adds to typed-array slots.
 */
import { type SlowCause, slowCauses } from './types.js';

export interface FlashCounters {
  /** Read / write commands submitted (peeks not counted). */
  reads: number;
  writes: number;
  /** Pages those commands covered. */
  readPages: number;
  writePages: number;
  /** Pages programmed with host data, and by GC copies. */
  hostPagesProgrammed: number;
  gcPagesProgrammed: number;
  /** (host + GC programs) / host programs; 1 when nothing was programmed. */
  writeAmplification: number;
  /** Physical block erases. */
  erases: number;
  /** Victim blocks collected by background and by foreground (blocking) GC. */
  gcRunsBackground: number;
  gcRunsForeground: number;
  /** Times background GC was due but put off because the die still had idle-priority GC queued. */
  backgroundGcDeferred: number;
  /** Write-buffer flushes (batches of pages sent to flash). */
  flushes: number;
  /** Write commands that waited for buffer space, and their total wait, us. */
  writeStalls: number;
  writeStallUs: number;
  /** Read pages served from the DRAM write buffer. */
  bufferHits: number;
  /** Written pages that replaced a page still waiting in the buffer (no extra program). */
  absorbedWrites: number;
  /** Read pages of never-written data (answered by the controller without a flash read). */
  unmappedReads: number;
  /** Programs/erases suspended by a read. */
  suspensions: number;
  /** Reads slower than slowReadThresholdUs, and the threshold (multiple of the nominal read time). */
  slowReads: number;
  slowReadThresholdUs: number;
  /** Slow reads by the kind of work their slowest page waited behind longest. */
  slowReadsByCause: Record<SlowCause, number>;
  /** Queueing time of every read's slowest page, us, split by what it waited behind. */
  waitUsByCause: Record<SlowCause, number>;
  /** The same, over slow reads only. */
  slowWaitUsByCause: Record<SlowCause, number>;
  /** Sum of read latencies, us (for the mean). */
  readLatencyUsSum: number;
  /** Fewest free blocks any GC unit had after its GC ran (timed operation only). */
  minFreeBlocks: number;
}

export const C_READS = 0;
export const C_WRITES = 1;
export const C_READ_PAGES = 2;
export const C_WRITE_PAGES = 3;
export const C_HOST_PROGRAMS = 4;
export const C_GC_PROGRAMS = 5;
export const C_ERASES = 6;
export const C_GC_BACKGROUND = 7;
export const C_GC_FOREGROUND = 8;
export const C_GC_DEFERRED = 9;
export const C_FLUSHES = 10;
export const C_WRITE_STALLS = 11;
export const C_WRITE_STALL_US = 12;
export const C_BUFFER_HITS = 13;
export const C_ABSORBED = 14;
export const C_UNMAPPED = 15;
export const C_SUSPENSIONS = 16;
export const C_SLOW_READS = 17;
export const C_READ_LATENCY_SUM = 18;
export const C_MIN_FREE = 19;
export const C_SLOW_BY_CAUSE = 20;
export const C_WAIT_BY_CAUSE = C_SLOW_BY_CAUSE + slowCauses.length;
export const C_SLOW_WAIT_BY_CAUSE = C_WAIT_BY_CAUSE + slowCauses.length;
export const COUNTER_SLOTS = C_SLOW_WAIT_BY_CAUSE + slowCauses.length;

export function newCounterSlots(): Float64Array {
  const c = new Float64Array(COUNTER_SLOTS);
  c[C_MIN_FREE] = Number.POSITIVE_INFINITY;
  return c;
}

function byCause(c: Float64Array, at: number): Record<SlowCause, number> {
  const out = {} as Record<SlowCause, number>;
  slowCauses.forEach((cause, i) => {
    out[cause] = c[at + i]!;
  });
  return out;
}

export function toFlashCounters(c: Float64Array, slowReadThresholdUs: number): FlashCounters {
  const host = c[C_HOST_PROGRAMS]!;
  const gc = c[C_GC_PROGRAMS]!;
  return {
    reads: c[C_READS]!,
    writes: c[C_WRITES]!,
    readPages: c[C_READ_PAGES]!,
    writePages: c[C_WRITE_PAGES]!,
    hostPagesProgrammed: host,
    gcPagesProgrammed: gc,
    writeAmplification: host > 0 ? (host + gc) / host : 1,
    erases: c[C_ERASES]!,
    gcRunsBackground: c[C_GC_BACKGROUND]!,
    gcRunsForeground: c[C_GC_FOREGROUND]!,
    backgroundGcDeferred: c[C_GC_DEFERRED]!,
    flushes: c[C_FLUSHES]!,
    writeStalls: c[C_WRITE_STALLS]!,
    writeStallUs: c[C_WRITE_STALL_US]!,
    bufferHits: c[C_BUFFER_HITS]!,
    absorbedWrites: c[C_ABSORBED]!,
    unmappedReads: c[C_UNMAPPED]!,
    suspensions: c[C_SUSPENSIONS]!,
    slowReads: c[C_SLOW_READS]!,
    slowReadThresholdUs,
    slowReadsByCause: byCause(c, C_SLOW_BY_CAUSE),
    waitUsByCause: byCause(c, C_WAIT_BY_CAUSE),
    slowWaitUsByCause: byCause(c, C_SLOW_WAIT_BY_CAUSE),
    readLatencyUsSum: c[C_READ_LATENCY_SUM]!,
    minFreeBlocks: Number.isFinite(c[C_MIN_FREE]!) ? c[C_MIN_FREE]! : -1,
  };
}
