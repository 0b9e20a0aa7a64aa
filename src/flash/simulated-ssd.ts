/**
 * A deterministic flash SSD after FEMU's black-box model (see options.ts for the defaults and why, ftl.ts
 * for mapping and GC, lun-timeline.ts for how LUN time is shared, write-buffer.ts for the DRAM buffer).
 *
 * submit() is the only method that changes what the device will do: it maps the command onto pages
 * (offsets modulo the capacity), computes when each page completes from the LUNs' queued work, and
 * queues the work the command causes; the command completes with its last page. peekRead() computes the
 * same answer as a read submitted now, then puts every touched LUN back as it was (it may drop queue
 * entries that had already ended by nowUs, which changes no later answer). Each submit returns a fresh
 * small result object (or, with reuseResult, the same one overwritten); nothing else is allocated per
 * call.
 *
 * A read's cause is what its slowest page waited behind longest:
 * - 'flush': programs of host data written back from the DRAM buffer;
 * - 'program': programs of host data written through (bufferBytes 0);
 * - 'gc': GC copies (their reads and programs); 'erase': block erases;
 * - 'read': other reads queued ahead on the same LUN; 'none': no wait.
 * A write's cause is 'flush' when it waited for buffer space (a write stall), else 'none'.
 */
import { usageError } from '../errors.js';
import { Random } from '../random.js';
import { type FlashCounters, FlashTally } from './counters.js';
import { FlashTranslation } from './ftl.js';
import { KIND_COUNT, KIND_FLUSH, KIND_PROGRAM, LUN_SAVE_SLOTS, LunTimelines } from './lun-timeline.js';
import type { FlashConfig } from './options.js';
import { type Device, type SlowCause, type SubmitResult, slowCauses } from './types.js';
import { WriteBuffer } from './write-buffer.js';

/** Key of the read-only view of a device's internals used by checkFlashInvariants and tests. */
export const flashInternals: unique symbol = Symbol('flashInternals');

export interface FlashInternals {
  readonly config: FlashConfig;
  readonly ftl: FlashTranslation;
  readonly buffer: WriteBuffer;
  readonly timeline: LunTimelines;
}

export class SimulatedSsd implements Device {
  readonly name: string;
  readonly capacityBytes: number;
  readonly config: FlashConfig;

  readonly #ftl: FlashTranslation;
  readonly #timeline: LunTimelines;
  readonly #buffer: WriteBuffer;
  readonly #tally = new FlashTally();
  readonly #pageBytes: number;
  /** 1 / pageBytes when pageBytes is a power of two, else 0. */
  readonly #invPageBytes: number;
  readonly #logicalPages: number;
  readonly #buffered: boolean;
  readonly #bufferUs: number;
  readonly #slowUs: number;
  #lastNow = 0;
  /** LPNs of the flush being written. */
  readonly #flushLpns: Int32Array;
  /** Waits of the slowest page of the read being computed. */
  readonly #cmdWait = new Float64Array(KIND_COUNT);
  /** Peek bookkeeping: LUNs touched and their saved state. */
  readonly #touchedMark: Int32Array;
  readonly #touched: Int32Array;
  readonly #saved: Float64Array;
  #peekId = 0;
  /** The result object handed out again and again when config.reuseResult is set. */
  readonly #reused: SubmitResult | undefined;

  constructor(config: FlashConfig) {
    this.config = config;
    this.name = config.name;
    this.capacityBytes = config.capacityBytes;
    this.#pageBytes = config.pageBytes;
    this.#invPageBytes = (config.pageBytes & (config.pageBytes - 1)) === 0 ? 1 / config.pageBytes : 0;
    this.#logicalPages = config.logicalPages;
    this.#buffered = config.bufferPages > 0;
    this.#bufferUs = config.bufferLatencyUs;
    this.#slowUs = config.slowReadMultiple * config.nominalReadUs;
    this.#timeline = new LunTimelines(config);
    this.#ftl = new FlashTranslation(config, this.#timeline, this.#tally);
    this.#buffer = new WriteBuffer(config.bufferPages, config.flushPages);
    this.#flushLpns = new Int32Array(Math.max(1, config.flushPages));
    this.#touchedMark = new Int32Array(config.luns);
    this.#touched = new Int32Array(config.luns);
    this.#saved = new Float64Array(config.luns * LUN_SAVE_SLOTS);
    this.#reused = config.reuseResult ? { completeUs: 0, cause: 'none' } : undefined;
    if (config.precondition !== false) {
      this.#precondition(config.precondition.fill, config.precondition.randomOverwrites, config.seed);
    }
  }

  submit(read: boolean, offset: number, size: number, nowUs: number): SubmitResult {
    if (!(nowUs >= this.#lastNow)) this.#badTime(nowUs);
    this.#lastNow = nowUs;
    const off = this.#wrap(offset);
    const first = Math.floor(this.#perPage(off));
    let count = Math.floor(this.#perPage(off + Math.max(size, 1) - 1)) - first + 1;
    if (count > this.#logicalPages) count = this.#logicalPages;
    if (read) {
      const completeUs = this.#read(first, count, nowUs, true);
      return this.#result(completeUs, this.#causeOfLastRead(completeUs - nowUs));
    }
    return this.#write(first, count, nowUs);
  }

  #result(completeUs: number, cause: SlowCause): SubmitResult {
    const r = this.#reused;
    if (r === undefined) return { completeUs, cause };
    r.completeUs = completeUs;
    r.cause = cause;
    return r;
  }

  peekRead(offset: number, size: number, nowUs: number): number {
    if (!(nowUs >= this.#lastNow)) this.#badTime(nowUs);
    const off = this.#wrap(offset);
    const first = Math.floor(this.#perPage(off));
    let count = Math.floor(this.#perPage(off + Math.max(size, 1) - 1)) - first + 1;
    if (count > this.#logicalPages) count = this.#logicalPages;
    return this.#read(first, count, nowUs, false);
  }

  /** Counters since creation (after preconditioning) or the last resetCounters(). */
  counters(): FlashCounters {
    return this.#tally.toCounters(this.#slowUs);
  }

  /** Zero the counters (e.g. after a warm-up phase). */
  resetCounters(): void {
    this.#tally.reset();
  }

  /** Where an offset's newest data is: 'buffer', 'unmapped', or its LUN and physical page. */
  locate(offset: number): 'buffer' | 'unmapped' | { lun: number; ppn: number } {
    const lpn = Math.floor(this.#wrap(offset) / this.#pageBytes);
    if (this.#buffered) {
      this.#buffer.releaseUpTo(this.#lastNow);
      if (this.#buffer.holds(lpn)) return 'buffer';
    }
    const ppn = this.#ftl.l2p[lpn]!;
    if (ppn < 0) return 'unmapped';
    return { lun: this.#ftl.lunOf(ppn), ppn };
  }

  /** For checkFlashInvariants and tests: the device's internal structures, to read, never to change. */
  [flashInternals](): FlashInternals {
    return { config: this.config, ftl: this.#ftl, buffer: this.#buffer, timeline: this.#timeline };
  }

  /**
   * bytes / pageBytes: for a power-of-two page size as a product with its reciprocal, which is exact
   * (scaling by a power of two), hence the same value as the quotient, and cheaper.
   */
  #perPage(bytes: number): number {
    const inv = this.#invPageBytes;
    return inv > 0 ? bytes * inv : bytes / this.#pageBytes;
  }

  #wrap(offset: number): number {
    const cap = this.capacityBytes;
    if (offset >= 0 && offset < cap) return offset;
    if (!Number.isFinite(offset))
      throw usageError(`${this.name}: offset must be a finite number (got ${offset})`);
    const r = offset % cap;
    return r < 0 ? r + cap : r;
  }

  #badTime(nowUs: number): never {
    throw usageError(
      `${this.name}: nowUs must be a number that never decreases (got ${nowUs} after ${this.#lastNow})`,
    );
  }

  /** Completion of a read of `count` pages from LPN `first`; commit = false leaves no trace. */
  #read(first: number, count: number, now: number, commit: boolean): number {
    const ftl = this.#ftl;
    const timeline = this.#timeline;
    const buffer = this.#buffer;
    const l2p = ftl.l2p;
    const cmdWait = this.#cmdWait;
    const pageWait = timeline.waitByKind;
    for (let k = 0; k < cmdWait.length; k++) cmdWait[k] = 0;
    if (this.#buffered) buffer.releaseUpTo(now);
    const peekId = commit ? 0 : ++this.#peekId;
    timeline.peeking = !commit;
    let touched = 0;
    let done = now;
    let hits = 0;
    let unmapped = 0;
    ftl.prefetch(first, count);
    let lpn = first;
    for (let i = 0; i < count; i++, lpn++) {
      if (lpn === this.#logicalPages) lpn = 0;
      if ((i & 63) === 63) ftl.prefetch(lpn + 1 === this.#logicalPages ? 0 : lpn + 1, count - i - 1);
      let end: number;
      if (this.#buffered && buffer.holds(lpn)) {
        end = now + this.#bufferUs;
        hits++;
        if (end > done) {
          done = end;
          for (let k = 0; k < cmdWait.length; k++) cmdWait[k] = 0;
        }
        continue;
      }
      const ppn = l2p[lpn]!;
      if (ppn < 0) {
        end = now + this.#bufferUs;
        unmapped++;
        if (end > done) {
          done = end;
          for (let k = 0; k < cmdWait.length; k++) cmdWait[k] = 0;
        }
        continue;
      }
      const lun = ftl.lunOf(ppn);
      if (!commit && this.#touchedMark[lun] !== peekId) {
        this.#touchedMark[lun] = peekId;
        this.#touched[touched++] = lun;
        timeline.advance(lun, now);
        timeline.save(lun, this.#saved, lun * LUN_SAVE_SLOTS);
      }
      const readUs = ftl.readTimeOf(ppn);
      end = timeline.placeRead(lun, readUs, now) + readUs;
      if (commit && timeline.lastSuspended) this.#tally.suspensions++;
      if (end > done) {
        done = end;
        for (let k = 0; k < cmdWait.length; k++) cmdWait[k] = pageWait[k]!;
      }
    }
    if (!commit) {
      timeline.peeking = false;
      for (let t = 0; t < touched; t++) {
        const lun = this.#touched[t]!;
        timeline.restore(lun, this.#saved, lun * LUN_SAVE_SLOTS);
      }
      if (this.#peekId >= 0x3fffffff) {
        this.#peekId = 0;
        this.#touchedMark.fill(0);
      }
      return done;
    }
    const tally = this.#tally;
    tally.reads++;
    tally.readPages += count;
    tally.bufferHits += hits;
    tally.unmapped += unmapped;
    tally.readLatencySum += done - now;
    const waits = tally.waitByCause;
    for (let k = 1; k < cmdWait.length; k++) waits[k] = waits[k]! + cmdWait[k]!;
    return done;
  }

  /** Cause of the read just computed (by #read with commit); counts it as slow when it is. */
  #causeOfLastRead(latencyUs: number): SlowCause {
    const w = this.#cmdWait;
    let kind = 0;
    let most = 0;
    for (let k = 1; k < w.length; k++) {
      if (w[k]! > most) {
        most = w[k]!;
        kind = k;
      }
    }
    if (latencyUs > this.#slowUs) {
      const tally = this.#tally;
      tally.slowReads++;
      tally.slowByCause[kind]!++;
      const waits = tally.slowWaitByCause;
      for (let k = 1; k < w.length; k++) waits[k] = waits[k]! + w[k]!;
    }
    return slowCauses[kind]!;
  }

  #write(first: number, count: number, now: number): SubmitResult {
    const tally = this.#tally;
    tally.writes++;
    tally.writePages += count;
    const ftl = this.#ftl;
    ftl.prefetchForWrite(first, count);
    if (!this.#buffered) {
      // Write-through: every page is programmed now; the write completes with its last program.
      let done = now;
      let lpn = first;
      for (let i = 0; i < count; i++, lpn++) {
        if (lpn === this.#logicalPages) lpn = 0;
        if ((i & 63) === 63) ftl.prefetch(lpn + 1 === this.#logicalPages ? 0 : lpn + 1, count - i - 1);
        ftl.invalidate(lpn);
        const end = ftl.program(lpn, now, KIND_PROGRAM);
        if (end > done) done = end;
      }
      return this.#result(done, 'none');
    }
    const buffer = this.#buffer;
    buffer.releaseUpTo(now);
    let at = Math.max(buffer.stallUntil, now);
    let lpn = first;
    for (let i = 0; i < count; i++, lpn++) {
      if (lpn === this.#logicalPages) lpn = 0;
      if ((i & 63) === 63) ftl.prefetch(lpn + 1 === this.#logicalPages ? 0 : lpn + 1, count - i - 1);
      if (buffer.probe(lpn) >= buffer.flushedSeq) {
        // Still dirty in the buffer: the new data replaces it in place.
        tally.absorbed++;
        continue;
      }
      if (buffer.full) at = buffer.waitForSpace(at);
      ftl.invalidate(lpn);
      buffer.insert(lpn);
      if (buffer.dirtyPages >= buffer.flushPages) this.#flush(now, at);
    }
    if (at > now) {
      buffer.stallUntil = at;
      tally.writeStalls++;
      tally.writeStallUs += at - now;
      return this.#result(at + this.#bufferUs, 'flush');
    }
    return this.#result(at + this.#bufferUs, 'none');
  }

  /**
   * Send every dirty page to flash, striped over the LUNs by the allocator. The programs are queued now
   * even when a stalled write admitted the last pages at a later time `admittedAt`: LUN timelines only
   * ever move forward with the device's clock (a LUN that happens to be idle may so start a program
   * slightly before its data arrived); the batch's buffer space frees no earlier than `admittedAt`.
   */
  #flush(now: number, admittedAt: number): void {
    const buffer = this.#buffer;
    const count = buffer.copyDirty(this.#flushLpns);
    const end = this.#ftl.programAll(this.#flushLpns, count, now, KIND_FLUSH);
    buffer.closeBatch(Math.max(end, admittedAt));
    this.#tally.flushes++;
  }

  /**
   * Age the device without timing: write `fill` of the logical pages in order, then `overwrites` x the
   * logical pages as random single-page overwrites of the filled range (GC runs as needed), then zero
   * the counters. After a full fill and some overwrites every GC unit sits at its background-GC
   * threshold with blocks of mixed valid and invalid pages, so GC is active from the first writes.
   */
  #precondition(fill: number, overwrites: number, seed: number): void {
    const ftl = this.#ftl;
    const filled = Math.round(fill * this.#logicalPages);
    const chunk = new Int32Array(256);
    ftl.timed = false;
    try {
      for (let lpn = 0; lpn < filled; lpn += chunk.length) {
        const n = Math.min(chunk.length, filled - lpn);
        for (let i = 0; i < n; i++) chunk[i] = lpn + i;
        ftl.programAll(chunk, n, 0, KIND_PROGRAM);
      }
      const random = new Random(seed);
      const total = Math.round(overwrites * this.#logicalPages);
      if (filled === 0) {
        // Nothing to overwrite: random first writes, one at a time.
        for (let i = 0; i < total; i++) {
          const lpn = random.int(this.#logicalPages);
          ftl.invalidate(lpn);
          ftl.program(lpn, 0, KIND_PROGRAM);
        }
      }
      const range = filled;
      for (let done = 0; filled > 0 && done < total; done += chunk.length) {
        const n = Math.min(chunk.length, total - done);
        // Distinct LPNs within a chunk: a repeat would be programmed twice with one invalidation.
        let k = 0;
        while (k < n) {
          const lpn = random.int(range);
          if (ftl.l2p[lpn]! < 0) continue;
          ftl.invalidate(lpn);
          chunk[k++] = lpn;
        }
        ftl.programAll(chunk, n, 0, KIND_PROGRAM);
      }
    } finally {
      ftl.timed = true;
    }
    this.resetCounters();
  }
}
