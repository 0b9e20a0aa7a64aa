/**
 * The flash translation layer: page-level mapping (LPN -> PPN and back), blocks with valid-page counts,
 * write pointers and free pools, host page allocation striped across the LUNs, and greedy garbage
 * collection. Mapping changes happen at once (as FEMU does); the flash work they imply (programs, GC copy
 * reads and programs, erases) is queued on the LUNs' timelines at the time the change is made, so reads
 * that arrive later queue behind it.
 *
 * Blocks are grouped into GC units:
 * - gcUnit 'lun': each LUN is a group of its own blocks. Host pages go round-robin over the LUNs; GC
 *   collects one LUN's block, copying its valid pages within the LUN (copyback: read + program on the
 *   same die) and erasing it.
 * - gcUnit 'line': FEMU's lines. The whole device is one group whose "blocks" are lines (block b of every
 *   LUN); the write pointer moves across the LUNs page by page, GC copies go to that write pointer on
 *   whichever LUN it points at, and a collected line is erased on all LUNs at once.
 *
 * PPN layout: ppn = (group * blocksPerLun + block) * pagesPerLine + page, where a "line" of a group is
 * pagesPerBlock * unitsPerGroup pages and page p of it lies on LUN group * unitsPerGroup + p % unitsPerGroup,
 * at page floor(p / unitsPerGroup) of that LUN's block.
 */
import { LakeError } from '../errors.js';
import type { FlashTally } from './counters.js';
import { KIND_ERASE, KIND_GC, type LunTimelines } from './lun-timeline.js';
import type { FlashConfig } from './options.js';

const BLOCK_FREE = 0;
const BLOCK_OPEN = 1;
const BLOCK_CLOSED = 2;
const PREFETCH_PAGES = 64;

export class FlashTranslation {
  /** LPN -> PPN, -1 when the LPN has no flash copy (never written, or its newest data is in the buffer). */
  readonly l2p: Int32Array;
  /** PPN -> the LPN last written there; meaningful only while the page is valid (see ownerOf). */
  readonly p2l: Int32Array;
  /**
   * Valid-page bitmap, bit ppn & 31 of word ppn >>> 5. Invalidating a page clears a bit in this small
   * array (128 KB for 4 GiB of flash) instead of storing into p2l, which would miss the cache.
   */
  readonly valid: Uint32Array;
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
  readonly #tally: FlashTally;
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
  /** Whether units, pages per line and pages per group are powers of two (then shifts replace divisions). */
  readonly #pow2: boolean;
  readonly #unitShift: number;
  readonly #lineShift: number;
  readonly #groupShift: number;
  /** Written by prefetch() so that its loads are not optimised away as unused; means nothing. */
  prefetchSink = 0;
  #cursor = 0;
  #claimed = 0;

  constructor(config: FlashConfig, timeline: LunTimelines, tally: FlashTally) {
    this.#config = config;
    this.#timeline = timeline;
    this.#tally = tally;
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
    const log2 = (n: number): number => (Number.isInteger(Math.log2(n)) ? Math.log2(n) : -1);
    this.#unitShift = log2(this.#units);
    this.#lineShift = log2(this.#pagesPerLine);
    this.#groupShift = log2(this.#pagesPerGroup);
    this.#pow2 = this.#unitShift >= 0 && this.#lineShift >= 0 && this.#groupShift >= 0;
    this.#gcReads = new Float64Array(this.#units);
    this.#gcReadUs = new Float64Array(this.#units);
    this.#gcPrograms = new Float64Array(this.#units);
    this.#gcProgramUs = new Float64Array(this.#units);
    this.l2p = new Int32Array(config.logicalPages).fill(-1);
    this.p2l = new Int32Array(config.physicalPages).fill(-1);
    this.valid = new Uint32Array(Math.ceil(config.physicalPages / 32));
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
    if (this.#pow2) return ((ppn >>> this.#groupShift) << this.#unitShift) | (ppn & (this.#units - 1));
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
    return this.#pow2 ? ppn >>> this.#lineShift : (ppn / this.#pagesPerLine) | 0;
  }

  /**
   * Load the mapping entries of up to PREFETCH_PAGES LPNs from `first` before they are used. The loads
   * are independent, so the CPU overlaps their cache misses and the accesses that follow hit the cache.
   * With tables of megabytes a miss costs ~100 ns on the machines this runs on, and would otherwise be
   * paid once per page, one after the other. (The reverse map is only ever stored to on the host path,
   * and stores do not stall, so it is not worth touching here.)
   */
  prefetch(first: number, count: number): void {
    const l2p = this.l2p;
    const n = Math.min(count, PREFETCH_PAGES);
    const wrap = l2p.length;
    let lpn = first;
    let sink = 0;
    for (let i = 0; i < n; i++, lpn++) {
      if (lpn === wrap) lpn = 0;
      sink ^= l2p[lpn]!;
    }
    this.prefetchSink = sink;
  }

  /**
   * prefetch() for pages about to be overwritten: also loads the valid-bitmap words of their current
   * physical pages, which invalidate() will update (the loads of different pages overlap).
   */
  prefetchForWrite(first: number, count: number): void {
    const l2p = this.l2p;
    const valid = this.valid;
    const n = Math.min(count, PREFETCH_PAGES);
    const wrap = l2p.length;
    let lpn = first;
    let sink = 0;
    for (let i = 0; i < n; i++, lpn++) {
      if (lpn === wrap) lpn = 0;
      const ppn = l2p[lpn]!;
      if (ppn >= 0) sink ^= valid[ppn >>> 5]!;
    }
    this.prefetchSink = sink;
  }

  /** The LPN whose valid data a physical page holds, -1 when the page is free or invalid. */
  ownerOf(ppn: number): number {
    return (this.valid[ppn >>> 5]! >>> (ppn & 31)) & 1 ? this.p2l[ppn]! : -1;
  }

  /** Drop the flash copy of an LPN (it was overwritten). */
  invalidate(lpn: number): void {
    const ppn = this.l2p[lpn]!;
    if (ppn < 0) return;
    this.valid[ppn >>> 5] = this.valid[ppn >>> 5]! & ~(1 << (ppn & 31));
    this.blockValid[this.blockOf(ppn)]!--;
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
    this.valid[ppn >>> 5] = this.valid[ppn >>> 5]! | (1 << (ppn & 31));
    this.blockValid[this.blockOf(ppn)]!++;
    this.#tally.hostPrograms++;
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

  /**
   * Program `count` LPNs from `lpns` (their old copies already invalidated) as program(), and return the
   * latest end. With one GC group (lines) the pages go to consecutive places at the write pointer, so
   * they are claimed a run at a time; GC, when a claim opened a block, runs after the run is queued.
   */
  programAll(lpns: Int32Array, count: number, now: number, kind: number): number {
    let latest = now;
    if (this.#groups !== 1 || !this.#pow2) {
      for (let i = 0; i < count; i++) {
        const end = this.program(lpns[i]!, now, kind);
        if (end > latest) latest = end;
      }
      return latest;
    }
    const l2p = this.l2p;
    const p2l = this.p2l;
    const valid = this.valid;
    const timeline = this.#timeline;
    const timed = this.timed;
    const unitMask = this.#units - 1;
    const oneType = this.#pageTypes === 1;
    const programUs0 = this.#programUs[0]! + this.#transferUs;
    let i = 0;
    while (i < count) {
      const before = this.freeCount[0]!;
      const first = this.#claim(0, count - i);
      if (first < 0) this.#full();
      const n = this.#claimed;
      for (let k = 0; k < n; k++) {
        const lpn = lpns[i + k]!;
        const ppn = first + k;
        l2p[lpn] = ppn;
        p2l[ppn] = lpn;
        valid[ppn >>> 5] = valid[ppn >>> 5]! | (1 << (ppn & 31));
        if (!timed) continue;
        const unitUs = oneType ? programUs0 : this.#programUs[this.pageTypeOf(ppn)]! + this.#transferUs;
        const end = timeline.append(ppn & unitMask, 1, kind, unitUs, 1, now);
        if (end > latest) latest = end;
      }
      this.#tally.hostPrograms += n;
      i += n;
      if (this.freeCount[0]! < before) this.#maybeCollect(0, now);
    }
    return latest;
  }

  #full(): never {
    throw new LakeError(
      'LAKE_E_INTERNAL',
      `flash device ${this.#config.name} is full: garbage collection cannot free a block`,
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
    return this.#full();
  }

  /**
   * Claim up to `want` consecutive pages at a group's write pointer (opening a free block when the open
   * one is full) and count them as valid in their block; returns the first PPN and sets #claimed, or -1
   * when the group has no free page.
   */
  #claim(g: number, want: number): number {
    const first = this.#allocateIn(g);
    if (first < 0) return -1;
    const base = g * this.#blocks;
    const block = base + this.openBlock[g]!;
    const written = this.blockWritten[block]!;
    let more = this.#pagesPerLine - written;
    if (more > want - 1) more = want - 1;
    this.blockWritten[block] = written + more;
    this.blockValid[block] = this.blockValid[block]! + more + 1;
    this.#claimed = more + 1;
    return first;
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
      this.#collectUntil(g, config.gcForegroundFreeBlocks, 1, true, now);
    }
    if (this.freeCount[g]! < config.gcFreeBlocks) {
      if (!this.timed || this.#backgroundBacklog(g, now) < config.backgroundBacklogUs) {
        this.#collectUntil(g, config.gcFreeBlocks, this.#gcQueueBackground, false, now);
      } else {
        this.#tally.gcDeferred++;
      }
    }
    if (this.timed && this.freeCount[g]! < this.#tally.minFreeBlocks)
      this.#tally.minFreeBlocks = this.freeCount[g]!;
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

  #collectUntil(g: number, target: number, queue: 1 | 2, foreground: boolean, now: number): void {
    while (this.freeCount[g]! < target) {
      const victim = this.#greedyVictim(g);
      if (victim < 0) return;
      this.#collect(g, victim, queue, now);
      if (foreground) this.#tally.gcForeground++;
      else this.#tally.gcBackground++;
    }
  }

  /** Closed block of group g with the fewest valid pages, -1 when none would free anything. */
  #greedyVictim(g: number): number {
    const base = g * this.#blocks;
    let best = -1;
    let bestValid = this.#pagesPerLine;
    const closed = BLOCK_CLOSED;
    for (let b = 0; b < this.#blocks; b++) {
      if (this.blockState[base + b] !== closed) continue;
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
    const units = this.#units;
    const blockIndex = g * this.#blocks + victim;
    const first = blockIndex * this.#pagesPerLine;
    const last = first + this.#pagesPerLine;
    const timed = this.timed;
    // Per-copy accounting is needed with several LUNs per group; durations only with several page types.
    const perUnit = timed && units > 1;
    const typed = timed && this.#pageTypes > 1;
    const copies = this.blockValid[blockIndex]!;
    if (perUnit && !typed && this.#pow2) this.#copyValidCounted(g, first, last, copies);
    else this.#copyValid(g, first, last, copies, perUnit, typed);
    clearBits(this.valid, first, last);
    this.#tally.gcPrograms += copies;
    this.blockValid[blockIndex] = 0;
    this.blockWritten[blockIndex] = 0;
    this.blockState[blockIndex] = BLOCK_FREE;
    this.freeStack[g * this.#blocks + this.freeCount[g]!] = victim;
    this.freeCount[g]!++;
    this.#tally.erases += units;
    if (timed) this.#queueCollection(g, queue, copies, typed, now);
  }

  /** A destination run for GC copies in group g (`left` pages still to copy); an internal error if none. */
  #claimForCopies(g: number, left: number): number {
    const dst = this.#claim(g, left);
    if (dst < 0) {
      throw new LakeError('LAKE_E_INTERNAL', `flash device ${this.#config.name}: GC found no free page`);
    }
    return dst;
  }

  /**
   * The common case of a GC copy (several LUNs, a power of two, one page type), counted the same way as
   * #copyValid but faster: the `left` valid pages of [first, last) are found a bitmap word at a time
   * (lowest bit first, so in the same order), and the programs per destination unit are added per claimed
   * run of consecutive pages.
   */
  #copyValidCounted(g: number, first: number, last: number, left: number): void {
    const units = this.#units;
    const p2l = this.p2l;
    const l2p = this.l2p;
    const valid = this.valid;
    const unitMask = units - 1;
    const reads = this.#gcReads;
    const programs = this.#gcPrograms;
    let dst = 0;
    let dstEnd = 0;
    let runStart = 0;
    const w0 = first >>> 5;
    const w1 = (last + 31) >>> 5;
    for (let w = w0; w < w1 && left > 0; w++) {
      let bits = valid[w]!;
      if (w === w0) bits &= -1 << (first & 31);
      if (w === w1 - 1 && (last & 31) !== 0) bits &= (1 << (last & 31)) - 1;
      while (bits !== 0) {
        const low = bits & -bits;
        bits ^= low;
        const src = w * 32 + (31 - Math.clz32(low));
        const lpn = p2l[src]!;
        if (dst === dstEnd) {
          if (dst > runStart) {
            addRun(programs, runStart, dst - runStart, units);
            setBits(valid, runStart, dst);
          }
          dst = this.#claimForCopies(g, left);
          runStart = dst;
          dstEnd = dst + this.#claimed;
        }
        p2l[dst] = lpn;
        l2p[lpn] = dst;
        reads[src & unitMask]!++;
        dst++;
        if (--left === 0) break;
      }
    }
    if (dst > runStart) {
      addRun(programs, runStart, dst - runStart, units);
      setBits(valid, runStart, dst);
    }
  }

  /**
   * Copy the `left` valid pages of [first, last) one by one, counting reads and programs per unit when
   * `perUnit` and adding their durations when `typed`.
   */
  #copyValid(g: number, first: number, last: number, left: number, perUnit: boolean, typed: boolean): void {
    const units = this.#units;
    const p2l = this.p2l;
    const l2p = this.l2p;
    const valid = this.valid;
    const unitMask = this.#pow2 ? units - 1 : -1;
    const reads = this.#gcReads;
    const programs = this.#gcPrograms;
    let dst = 0;
    let dstEnd = 0;
    for (let src = first; src < last && left > 0; src++) {
      if (((valid[src >>> 5]! >>> (src & 31)) & 1) === 0) continue;
      const lpn = p2l[src]!;
      if (dst === dstEnd) {
        dst = this.#claimForCopies(g, left);
        dstEnd = dst + this.#claimed;
      }
      p2l[dst] = lpn;
      valid[dst >>> 5] = valid[dst >>> 5]! | (1 << (dst & 31));
      l2p[lpn] = dst;
      if (perUnit) {
        const su = unitMask >= 0 ? src & unitMask : src % units;
        const du = unitMask >= 0 ? dst & unitMask : dst % units;
        reads[su]!++;
        programs[du]!++;
        if (typed) this.#noteCopyTimes(src, su, dst, du);
      } else if (typed) {
        this.#noteCopyTimes(src, 0, dst, 0);
      }
      dst++;
      left--;
    }
  }

  /** Queue a collection's flash time on group g's LUNs (copies, then the erase) and reset the counts. */
  #queueCollection(g: number, queue: 1 | 2, copies: number, typed: boolean, now: number): void {
    const units = this.#units;
    const timeline = this.#timeline;
    const transfer = this.#transferUs;
    const readUs0 = this.#readUs[0]!;
    const programUs0 = this.#programUs[0]!;
    const reads = this.#gcReads;
    const programs = this.#gcPrograms;
    if (units === 1) {
      // Copyback: the data never leaves the die.
      if (copies > 0) {
        const unit = typed ? (this.#gcReadUs[0]! + this.#gcProgramUs[0]!) / copies : readUs0 + programUs0;
        timeline.append(g, queue, KIND_GC, unit, copies, now);
      }
      this.#gcReadUs[0] = 0;
      this.#gcProgramUs[0] = 0;
      timeline.append(g, queue, KIND_ERASE, this.#eraseUs, 1, now);
      return;
    }
    for (let u = 0; u < units; u++) {
      const lun = g * units + u;
      const r = reads[u]!;
      const p = programs[u]!;
      if (r > 0) {
        const unit = (typed ? this.#gcReadUs[u]! / r : readUs0) + transfer;
        timeline.append(lun, queue, KIND_GC, unit, r, now);
      }
      if (p > 0) {
        const unit = (typed ? this.#gcProgramUs[u]! / p : programUs0) + transfer;
        timeline.append(lun, queue, KIND_GC, unit, p, now);
      }
      reads[u] = 0;
      programs[u] = 0;
      this.#gcReadUs[u] = 0;
      this.#gcProgramUs[u] = 0;
      timeline.append(lun, queue, KIND_ERASE, this.#eraseUs, 1, now);
    }
  }

  /** Add one GC copy's read time (on source unit su) and program time (on destination unit du). */
  #noteCopyTimes(src: number, su: number, dst: number, du: number): void {
    this.#gcReadUs[su] = this.#gcReadUs[su]! + this.#readUs[this.pageTypeOf(src)]!;
    this.#gcProgramUs[du] = this.#gcProgramUs[du]! + this.#programUs[this.pageTypeOf(dst)]!;
  }
}

/** Count one program on each unit (page & (units - 1), units a power of two) of pages [start, start + n). */
function addRun(programs: Float64Array, start: number, n: number, units: number): void {
  const mask = units - 1;
  if (n >= units) {
    const each = Math.floor(n / units);
    for (let u = 0; u < units; u++) programs[u] = programs[u]! + each;
    n -= each * units;
    start += each * units;
  }
  for (let k = 0; k < n; k++) programs[(start + k) & mask]!++;
}

/** Set bits [from, to) of a bitmap. */
function setBits(bits: Uint32Array, from: number, to: number): void {
  let i = from;
  while (i < to && (i & 31) !== 0) {
    bits[i >>> 5] = bits[i >>> 5]! | (1 << (i & 31));
    i++;
  }
  if (to - i >= 32) {
    const words = (to - i) >>> 5;
    bits.fill(0xffffffff, i >>> 5, (i >>> 5) + words);
    i += words * 32;
  }
  while (i < to) {
    bits[i >>> 5] = bits[i >>> 5]! | (1 << (i & 31));
    i++;
  }
}

/** Clear bits [from, to) of a bitmap. */
function clearBits(bits: Uint32Array, from: number, to: number): void {
  let i = from;
  while (i < to && (i & 31) !== 0) {
    bits[i >>> 5] = bits[i >>> 5]! & ~(1 << (i & 31));
    i++;
  }
  if (to - i >= 32) {
    const words = (to - i) >>> 5;
    bits.fill(0, i >>> 5, (i >>> 5) + words);
    i += words * 32;
  }
  while (i < to) {
    bits[i >>> 5] = bits[i >>> 5]! & ~(1 << (i & 31));
    i++;
  }
}
