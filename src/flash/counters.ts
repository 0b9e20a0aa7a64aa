/**
 * What a simulated SSD did, counted so that a latency tail can be explained: which work the slow reads
 * waited behind, how much GC and flushing there was, how often writes stalled.
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

/**
 * The running counts behind FlashCounters, as plain fields of one object shared by the device and its
 * FTL (field updates are cheaper on the hot path than indexed slots named by imported constants).
 * Arrays are indexed by kind (= slowCauses index).
 */
export class FlashTally {
  reads = 0;
  writes = 0;
  readPages = 0;
  writePages = 0;
  hostPrograms = 0;
  gcPrograms = 0;
  erases = 0;
  gcBackground = 0;
  gcForeground = 0;
  gcDeferred = 0;
  flushes = 0;
  writeStalls = 0;
  writeStallUs = 0;
  bufferHits = 0;
  absorbed = 0;
  unmapped = 0;
  suspensions = 0;
  slowReads = 0;
  readLatencySum = 0;
  minFreeBlocks = Number.POSITIVE_INFINITY;
  readonly slowByCause = new Float64Array(slowCauses.length);
  readonly waitByCause = new Float64Array(slowCauses.length);
  readonly slowWaitByCause = new Float64Array(slowCauses.length);

  reset(): void {
    this.reads = 0;
    this.writes = 0;
    this.readPages = 0;
    this.writePages = 0;
    this.hostPrograms = 0;
    this.gcPrograms = 0;
    this.erases = 0;
    this.gcBackground = 0;
    this.gcForeground = 0;
    this.gcDeferred = 0;
    this.flushes = 0;
    this.writeStalls = 0;
    this.writeStallUs = 0;
    this.bufferHits = 0;
    this.absorbed = 0;
    this.unmapped = 0;
    this.suspensions = 0;
    this.slowReads = 0;
    this.readLatencySum = 0;
    this.minFreeBlocks = Number.POSITIVE_INFINITY;
    this.slowByCause.fill(0);
    this.waitByCause.fill(0);
    this.slowWaitByCause.fill(0);
  }

  toCounters(slowReadThresholdUs: number): FlashCounters {
    const host = this.hostPrograms;
    const gc = this.gcPrograms;
    return {
      reads: this.reads,
      writes: this.writes,
      readPages: this.readPages,
      writePages: this.writePages,
      hostPagesProgrammed: host,
      gcPagesProgrammed: gc,
      writeAmplification: host > 0 ? (host + gc) / host : 1,
      erases: this.erases,
      gcRunsBackground: this.gcBackground,
      gcRunsForeground: this.gcForeground,
      backgroundGcDeferred: this.gcDeferred,
      flushes: this.flushes,
      writeStalls: this.writeStalls,
      writeStallUs: this.writeStallUs,
      bufferHits: this.bufferHits,
      absorbedWrites: this.absorbed,
      unmappedReads: this.unmapped,
      suspensions: this.suspensions,
      slowReads: this.slowReads,
      slowReadThresholdUs,
      slowReadsByCause: byCause(this.slowByCause),
      waitUsByCause: byCause(this.waitByCause),
      slowWaitUsByCause: byCause(this.slowWaitByCause),
      readLatencyUsSum: this.readLatencySum,
      minFreeBlocks: Number.isFinite(this.minFreeBlocks) ? this.minFreeBlocks : -1,
    };
  }
}

function byCause(values: Float64Array): Record<SlowCause, number> {
  const out = {} as Record<SlowCause, number>;
  slowCauses.forEach((cause, i) => {
    out[cause] = values[i]!;
  });
  return out;
}
