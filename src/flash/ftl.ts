/**
 * The flash translation layer: page-level mapping (LPN -> PPN and back), blocks with valid-page counts,
 * write pointers and free pools, host page allocation striped across the LUNs, and greedy garbage
 * collection. Mapping changes happen at once (as FEMU does); the flash work they imply (programs, GC copy
 * reads and programs, erases) is queued on the LUNs' timelines at the time the change is made, so reads
 * that arrive later queue behind it.
 *
 * Blocks are grouped into GC units:
 * - gcUnit 'lun': each LUN is a group of its own blocks. Host pages go round-robin over the LUNs (in
 *   channel-first order, so consecutive pages use different channels); GC collects one LUN's block,
 *   copying its valid pages within the LUN (copyback: read + program on the same die) and erasing it.
 * - gcUnit 'line': FEMU's lines. The whole device is one group whose "blocks" are lines (block b of every
 *   LUN); the write pointer moves across the LUNs page by page, GC copies go to that write pointer on
 *   whichever LUN it points at, and a collected line is erased on all LUNs at once.
 *
 * PPN layout: ppn = (group * blocksPerLun + block) * pagesPerLine + page, where a "line" of a group is
 * pagesPerBlock * unitsPerGroup pages and page p of it lies on LUN group * unitsPerGroup + p % unitsPerGroup,
 * at page floor(p / unitsPerGroup) of that LUN's block.
 */
import { LakeError } from '../errors.js';
import {
  C_ERASES,
  C_GC_BACKGROUND,
  C_GC_DEFERRED,
  C_GC_FOREGROUND,
  C_GC_PROGRAMS,
  C_HOST_PROGRAMS,
  C_MIN_FREE,
} from './counters.js';
import { KIND_ERASE, KIND_GC, type LunTimelines } from './lun-timeline.js';
import type { FlashConfig } from './options.js';

const BLOCK_FREE = 0;
const BLOCK_OPEN = 1;
const BLOCK_CLOSED = 2;

export class FlashTranslation {
  /** LPN -> PPN, -1 when the LPN has no flash copy (never written, or its newest data is in the buffer). */
  readonly l2p: Int32Array;
  /** PPN -> LPN, -1 when the page is free or invalid. */
  readonly p2l: Int32Array;
  /** Per block (group * blocksPerLun + block): valid pages, pages written, state. */
  readonly blockValid: Int32Array;
  readonly blockWritten: Int32Array;
  readonly blockState: Uint8Array;
  /** Per group: stack of free blocks, its size, the open block (-1 when none). */
  readonly freeStack: Int32Array;
  readonly freeCount: Int32Array;
  readonly openBlock: Int32Array;
  /** False while preconditioning: mapping changes queue no flash work. */
  timed = true;

  readonly #config: FlashConfig;
  readonly #timeline: LunTimelines;
  readonly #counters: Float64Array;
  readonly #groups: number;
  readonly #units: number;
  readonly #blocks: number;
  readonly #pagesPerLine: number;
  readonly #pagesPerGroup: number;
  readonly #pageTypes: number;
  readonly #readUs: Float64Array;
  readonly #programUs: Float64Array;
  readonly #eraseUs: number;
  readonly #transferUs: number;
  readonly #gcQueueBackground: 1 | 2;
  /** Per LUN, during one GC run: copy reads (count, total us) and copy programs (count, total us). */
  readonly #gcReads: Float64Array;
  readonly #gcReadUs: Float64Array;
  readonly #gcPrograms: Float64Array;
  readonly #gcProgramUs: Float64Array;
  #cursor = 0;

  constructor(config: FlashConfig, timeline: LunTimelines, counters: Float64Array) {
    this.#config = config;
    this.#timeline = timeline;
    this.#counters = counters;
    this.#groups = config.groups;
    this.#units = config.unitsPerGroup;
    this.#blocks = config.blocksPerLun;
    this.#pagesPerLine = config.pagesPerBlock * config.unitsPerGroup;
    this.#pagesPerGroup = this.#pagesPerLine * config.blocksPerLun;
    this.#pageTypes = config.profile.readUs.length;
    this.#readUs = Float64Array.from(config.profile.readUs);
    this.#programUs = Float64Array.from(config.profile.programUs);
    this.#eraseUs = config.profile.eraseUs;
    this.#transferUs = config.transferUs;
    this.#gcQueueBackground = config.idleBackgroundGc ? 2 : 1;
    this.#gcReads = new Float64Array(this.#units);
    this.#gcReadUs = new Float64Array(this.#units);
    this.#gcPrograms = new Float64Array(this.#units);
    this.#gcProgramUs = new Float64Array(this.#units);
    this.l2p = new Int32Array(config.logicalPages).fill(-1);
    this.p2l = new Int32Array(config.physicalPages).fill(-1);
    const allBlocks = this.#groups * this.#blocks;
    this.blockValid = new Int32Array(allBlocks);
    this.blockWritten = new Int32Array(allBlocks);
    this.blockState = new Uint8Array(allBlocks);
    this.freeStack = new Int32Array(allBlocks);
    this.freeCount = new Int32Array(this.#groups);
    this.openBlock = new Int32Array(this.#groups).fill(-1);
    for (let g = 0; g < this.#groups; g++) {
      // Lowest block on top, so a fresh device fills blocks in order.
      for (let i = 0; i < this.#blocks; i++) this.freeStack[g * this.#blocks + i] = this.#blocks - 1 - i;
      this.freeCount[g] = this.#blocks;
    }
  }

  /** LUN holding a physical page. */
  lunOf(ppn: number): number {
    return ((ppn / this.#pagesPerGroup) | 0) * this.#units + (ppn % this.#units);
  }

  /** Page type (index into the profile's read/program tables) of a physical page. */
  pageTypeOf(ppn: number): number {
    if (this.#pageTypes === 1) return 0;
    return (((ppn % this.#pagesPerLine) / this.#units) | 0) % this.#pageTypes;
  }

  /** Flash time to read a physical page (array read plus transfer), us. */
  readTimeOf(ppn: number): number {
    return this.#readUs[this.pageTypeOf(ppn)]! + this.#transferUs;
  }

  /** Block index (group * blocksPerLun + block) of a physical page. */
  blockOf(ppn: number): number {
    return (ppn / this.#pagesPerLine) | 0;
  }

  /** Drop the flash copy of an LPN (it was overwritten). */
  invalidate(lpn: number): void {
    const ppn = this.l2p[lpn]!;
    if (ppn < 0) return;
    this.p2l[ppn] = -1;
    this.blockValid[(ppn / this.#pagesPerLine) | 0]!--;
    this.l2p[lpn] = -1;
  }

  /**
   * Write an LPN's data to a new flash page (its old copy must already be invalidated) and queue the
   * program at time now with the given kind. Returns the program's end (now when untimed).
   */
  program(lpn: number, now: number, kind: number): number {
    const ppn = this.#allocateHost(now);
    this.l2p[lpn] = ppn;
    this.p2l[ppn] = lpn;
    this.blockValid[(ppn / this.#pagesPerLine) | 0]!++;
    this.#counters[C_HOST_PROGRAMS]!++;
    if (!this.timed) return now;
    return this.#timeline.append(
      this.lunOf(ppn),
      1,
      kind,
      this.#programUs[this.pageTypeOf(ppn)]! + this.#transferUs,
      1,
      now,
    );
  }

  /** Next host page: round-robin over the groups, skipping any that cannot make room. */
  #allocateHost(now: number): number {
    for (let tries = 0; tries < this.#groups; tries++) {
      const g = this.#cursor;
      this.#cursor = g + 1 === this.#groups ? 0 : g + 1;
      const before = this.freeCount[g]!;
      const ppn = this.#allocateIn(g);
      if (ppn < 0) continue;
      if (this.freeCount[g]! < before) this.#maybeCollect(g, now);
      return ppn;
    }
    throw new LakeError(
      'LAKE_E_INTERNAL',
      `flash device ${this.#config.name} is full: garbage collection cannot free a block`,
    );
  }

  /** Next page at a group's write pointer, opening a free block when the open one is full; -1 if none. */
  #allocateIn(g: number): number {
    const base = g * this.#blocks;
    let block = this.openBlock[g]!;
    if (block < 0 || this.blockWritten[base + block]! === this.#pagesPerLine) {
      if (block >= 0) this.blockState[base + block] = BLOCK_CLOSED;
      const free = this.freeCount[g]!;
      if (free === 0) {
        this.openBlock[g] = -1;
        return -1;
      }
      block = this.freeStack[base + free - 1]!;
      this.freeCount[g] = free - 1;
      this.openBlock[g] = block;
      this.blockState[base + block] = BLOCK_OPEN;
    }
    const written = this.blockWritten[base + block]!;
    this.blockWritten[base + block] = written + 1;
    return (base + block) * this.#pagesPerLine + written;
  }

  /** Run GC on group g if its free blocks are under a threshold. */
  #maybeCollect(g: number, now: number): void {
    const config = this.#config;
    if (this.freeCount[g]! >= config.gcFreeBlocks) return;
    // GC allocates with #allocateIn, which never calls back here.
    if (this.freeCount[g]! < config.gcForegroundFreeBlocks) {
      this.#collectUntil(g, config.gcForegroundFreeBlocks, 1, C_GC_FOREGROUND, now);
    }
    if (this.freeCount[g]! < config.gcFreeBlocks) {
      if (!this.timed || this.#backgroundBacklog(g, now) < config.backgroundBacklogUs) {
        this.#collectUntil(g, config.gcFreeBlocks, this.#gcQueueBackground, C_GC_BACKGROUND, now);
      } else {
        this.#counters[C_GC_DEFERRED]!++;
      }
    }
    if (this.timed && this.freeCount[g]! < this.#counters[C_MIN_FREE]!) {
      this.#counters[C_MIN_FREE] = this.freeCount[g]!;
    }
  }

  #backgroundBacklog(g: number, now: number): number {
    let most = 0;
    for (let u = 0; u < this.#units; u++) {
      const lun = g * this.#units + u;
      const b = this.#timeline.backgroundBacklog(lun, now);
      if (b > most) most = b;
    }
    return most;
  }

  #collectUntil(g: number, target: number, queue: 1 | 2, counter: number, now: number): void {
    while (this.freeCount[g]! < target) {
      const victim = this.#greedyVictim(g);
      if (victim < 0) return;
      this.#collect(g, victim, queue, now);
      this.#counters[counter]!++;
    }
  }

  /** Closed block of group g with the fewest valid pages, -1 when none would free anything. */
  #greedyVictim(g: number): number {
    const base = g * this.#blocks;
    let best = -1;
    let bestValid = this.#pagesPerLine;
    for (let b = 0; b < this.#blocks; b++) {
      if (this.blockState[base + b] !== BLOCK_CLOSED) continue;
      const v = this.blockValid[base + b]!;
      if (v < bestValid) {
        bestValid = v;
        best = b;
        if (v === 0) break;
      }
    }
    return best;
  }

  /**
   * Copy a victim's valid pages to the group's write pointer, then erase it. The copies' flash time is
   * queued per LUN as one entry of back-to-back ops (their mean duration when page types differ): with
   * gcUnit 'lun' a copyback (read + program on the die), with 'line' the reads on the source LUNs and the
   * programs on the destination LUNs. Then every LUN of the group erases its block.
   */
  #collect(g: number, victim: number, queue: 1 | 2, now: number): void {
    const timed = this.timed;
    const units = this.#units;
    const perLine = this.#pagesPerLine;
    const p2l = this.p2l;
    const l2p = this.l2p;
    const blockValid = this.blockValid;
    const blockIndex = g * this.#blocks + victim;
    const first = blockIndex * perLine;
    const last = first + perLine;
    const oneType = this.#pageTypes === 1;
    const readUs0 = this.#readUs[0]!;
    const programUs0 = this.#programUs[0]!;
    let copies = 0;
    for (let src = first; src < last; src++) {
      const lpn = p2l[src]!;
      if (lpn < 0) continue;
      const dst = this.#allocateIn(g);
      if (dst < 0) {
        throw new LakeError('LAKE_E_INTERNAL', `flash device ${this.#config.name}: GC found no free page`);
      }
      p2l[src] = -1;
      p2l[dst] = lpn;
      l2p[lpn] = dst;
      blockValid[(dst / perLine) | 0]!++;
      copies++;
      if (!timed) continue;
      const srcUnit = src % units;
      const dstUnit = dst % units;
      this.#gcReads[srcUnit]!++;
      this.#gcReadUs[srcUnit] = this.#gcReadUs[srcUnit]! + (oneType ? readUs0 : this.#readUs[this.pageTypeOf(src)]!);
      this.#gcPrograms[dstUnit]!++;
      this.#gcProgramUs[dstUnit] = this.#gcProgramUs[dstUnit]! + (oneType ? programUs0 : this.#programUs[this.pageTypeOf(dst)]!);
    }
    this.#counters[C_GC_PROGRAMS] = this.#counters[C_GC_PROGRAMS]! + copies;
    blockValid[blockIndex] = 0;
    this.blockWritten[blockIndex] = 0;
    this.blockState[blockIndex] = BLOCK_FREE;
    this.freeStack[g * this.#blocks + this.freeCount[g]!] = victim;
    this.freeCount[g]!++;
    this.#counters[C_ERASES] = this.#counters[C_ERASES]! + units;
    if (!timed) return;
    const timeline = this.#timeline;
    const transfer = this.#transferUs;
    for (let u = 0; u < units; u++) {
      const lun = g * units + u;
      const reads = this.#gcReads[u]!;
      const programs = this.#gcPrograms[u]!;
      if (units === 1) {
        // Copyback: the data never leaves the die.
        if (reads > 0) {
          timeline.append(lun, queue, KIND_GC, (this.#gcReadUs[u]! + this.#gcProgramUs[u]!) / reads, reads, now);
        }
      } else {
        if (reads > 0) timeline.append(lun, queue, KIND_GC, this.#gcReadUs[u]! / reads + transfer, reads, now);
        if (programs > 0) {
          timeline.append(lun, queue, KIND_GC, this.#gcProgramUs[u]! / programs + transfer, programs, now);
        }
      }
      this.#gcReads[u] = 0;
      this.#gcReadUs[u] = 0;
      this.#gcPrograms[u] = 0;
      this.#gcProgramUs[u] = 0;
      timeline.append(lun, queue, KIND_ERASE, this.#eraseUs, 1, now);
    }
  }
}
