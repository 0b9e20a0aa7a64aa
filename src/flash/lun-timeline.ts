/**
 * When each LUN (die) is busy and with what. FEMU's model — a command finishes at
 * max(now, lunFreeAt) + latency and holds the LUN until then — extended so that reads can go ahead of
 * queued work (read priority) and interrupt work in progress (program/erase suspension).
 *
 * Per LUN the future is one contiguous busy stretch, laid out as
 *
 *   [front: the op executing now, with the reads placed after or inside it] [Q1 ...] [Q2 ...]
 *
 * Q1 holds foreground work (host programs, foreground GC, and reads when read priority is off) in FIFO
 * order; Q2 holds idle-priority background GC. Both are ring buffers of entries (kind, end, unit duration,
 * count): an entry is `count` back-to-back ops of one kind and duration (a GC run's copies on one die, or
 * programs appended behind each other), so queueing a GC run costs O(1) per die. Ends are stored relative
 * to a per-queue shift: inserting a read ahead of a queue (or a Q1 op ahead of Q2) moves every queued op
 * later by the same amount, which is one addition to the shift instead of a walk over the queue. Before
 * anything is placed ahead of a queue, the op executing at that instant is moved out of the queue into
 * the front ("materialised"), because a started op does not move. Finished entries are popped lazily,
 * each once, so every operation is O(1) amortised.
 *
 * Read priority: a read waits for the op executing now and for reads placed before it, never for queued
 * work. Suspension: a read arriving while a program, erase or GC op runs (and no read waits) starts
 * suspendLatencyUs later; the op resumes after the reads and ends later by their time; an op is suspended
 * at most maxSuspendsPerOp times. Without read priority a read is one more Q1 op (FEMU's FIFO).
 *
 * Invariant that makes this work: a queue op is appended at max(now, end of everything before it), so the
 * busy stretch has no gaps after `now`, and after popping the finished entries the head of the first
 * non-empty queue (when the front is idle) started at or before `now`. Time must therefore never go back:
 * advance() throws (LAKE_E_INTERNAL) if asked about an earlier time than before.
 *
 * Layout: one typed array per field, indexed by LUN (and LUN * KIND_COUNT + kind for the per-kind sums).
 * Field-offset constants into one shared array were tried first and cost twice the time: V8 does not fold
 * module-level constants into index arithmetic.
 */

import { LakeError } from '../errors.js';

/** Op kinds; the numbers index slowCauses in types.ts ('none','read','program','erase','gc','flush'). */
export const KIND_NONE = 0;
export const KIND_READ = 1;
export const KIND_PROGRAM = 2;
export const KIND_ERASE = 3;
export const KIND_GC = 4;
export const KIND_FLUSH = 5;
export const KIND_COUNT = 6;

/** Floats one LUN's state takes in a save() buffer. */
export const LUN_SAVE_SLOTS = 12 + KIND_COUNT;

export interface TimelineConfig {
  readonly luns: number;
  readonly readPriority: boolean;
  readonly suspension: boolean;
  readonly suspendLatencyUs: number;
  readonly maxSuspendsPerOp: number;
}

export class LunTimelines {
  readonly luns: number;
  /**
   * Wait of the last placed read per kind, us (index = kind). Written by placeRead: waits behind earlier
   * reads count as KIND_READ, the rest as the kind of the op(s) ahead.
   */
  readonly waitByKind = new Float64Array(KIND_COUNT);
  /** Whether the last placeRead suspended an op. */
  lastSuspended = false;
  /**
   * Set while a peek runs: append() then never merges into an existing entry, so that restore() (which
   * resets the ring counters) undoes everything the peek queued.
   */
  peeking = false;

  readonly #readPriority: boolean;
  readonly #suspension: boolean;
  readonly #suspendLatencyUs: number;
  readonly #maxSuspends: number;

  /** End of the executing (materialised) op; <= now when none. */
  readonly #frontEnd: Float64Array;
  readonly #frontKind: Uint8Array;
  /** 1 while reads are placed inside the front op (it is suspended, or was and resumed). */
  readonly #suspended: Uint8Array;
  /** Suspensions of the front op so far. */
  readonly #suspends: Int32Array;
  /** The block of reads placed in the front: [readsStart, readsEnd). */
  readonly #readsStart: Float64Array;
  readonly #readsEnd: Float64Array;
  /** Real end of a queued entry = stored end + shift of its queue. */
  readonly #shift1: Float64Array;
  readonly #shift2: Float64Array;
  /** Ring counters (monotonic; renormalised long before they could lose integer precision in `&`). */
  readonly #q1Head: Float64Array;
  readonly #q1Tail: Float64Array;
  readonly #q2Head: Float64Array;
  readonly #q2Tail: Float64Array;
  /** Per LUN and kind: total duration queued in Q1 (for read attribution without read priority). */
  readonly #sum1: Float64Array;

  /** KIND_COUNT, as a field: V8 does not fold module constants into index arithmetic. */
  readonly #kinds = KIND_COUNT;
  /** Latest time seen: state is only valid going forward (a later call at an earlier time is a bug). */
  #latest = 0;
  #cap1 = 16;
  #mask1 = 15;
  #q1End: Float64Array;
  #q1Unit: Float64Array;
  #q1Count: Float64Array;
  #q1Kind: Uint8Array;
  #cap2 = 16;
  #mask2 = 15;
  #q2End: Float64Array;
  #q2Unit: Float64Array;
  #q2Count: Float64Array;
  #q2Kind: Uint8Array;

  constructor(config: TimelineConfig) {
    const n = config.luns;
    this.luns = n;
    this.#readPriority = config.readPriority;
    this.#suspension = config.suspension;
    this.#suspendLatencyUs = config.suspendLatencyUs;
    this.#maxSuspends = config.maxSuspendsPerOp;
    this.#frontEnd = new Float64Array(n);
    this.#frontKind = new Uint8Array(n);
    this.#suspended = new Uint8Array(n);
    this.#suspends = new Int32Array(n);
    this.#readsStart = new Float64Array(n);
    this.#readsEnd = new Float64Array(n);
    this.#shift1 = new Float64Array(n);
    this.#shift2 = new Float64Array(n);
    this.#q1Head = new Float64Array(n);
    this.#q1Tail = new Float64Array(n);
    this.#q2Head = new Float64Array(n);
    this.#q2Tail = new Float64Array(n);
    this.#sum1 = new Float64Array(n * KIND_COUNT);
    this.#q1End = new Float64Array(n * this.#cap1);
    this.#q1Unit = new Float64Array(n * this.#cap1);
    this.#q1Count = new Float64Array(n * this.#cap1);
    this.#q1Kind = new Uint8Array(n * this.#cap1);
    this.#q2End = new Float64Array(n * this.#cap2);
    this.#q2Unit = new Float64Array(n * this.#cap2);
    this.#q2Count = new Float64Array(n * this.#cap2);
    this.#q2Kind = new Uint8Array(n * this.#cap2);
  }

  /** Pop entries finished by `now`; if the front is idle, move the op executing at `now` into it. */
  advance(lun: number, now: number): void {
    if (now < this.#latest) this.#timeWentBack(now);
    this.#latest = now;
    if (this.#frontEnd[lun]! > now || this.#readsEnd[lun]! > now) return;
    let head = this.#q1Head[lun]!;
    let tail = this.#q1Tail[lun]!;
    if (head < tail) {
      const shift = this.#shift1[lun]!;
      const base = lun * this.#cap1;
      const mask = this.#mask1;
      const ends = this.#q1End;
      const sums = this.#sum1;
      const sumBase = lun * this.#kinds;
      while (head < tail) {
        const i = base + (head & mask);
        const end = ends[i]! + shift;
        const kind = this.#q1Kind[i]!;
        const unit = this.#q1Unit[i]!;
        const count = this.#q1Count[i]!;
        if (end <= now) {
          sums[sumBase + kind] = sums[sumBase + kind]! - unit * count;
          head++;
          continue;
        }
        // Executing: ops before the one running at `now` are done; that one moves to the front.
        const left = this.#startFront(lun, end, unit, count, kind, now);
        sums[sumBase + kind] = sums[sumBase + kind]! - unit * (count - left);
        if (left === 0) head++;
        else this.#q1Count[i] = left;
        break;
      }
      if (head === tail) {
        // Clear float drift once the queue is empty.
        for (let k = 0; k < this.#kinds; k++) sums[sumBase + k] = 0;
      }
      // Renormalise the ring counters at 2^30 by 2^29, a multiple of every ring size.
      if (head >= 0x40000000) {
        head -= 0x20000000;
        tail -= 0x20000000;
        this.#q1Tail[lun] = tail;
      }
      this.#q1Head[lun] = head;
      if (this.#frontEnd[lun]! > now) return;
    }
    head = this.#q2Head[lun]!;
    tail = this.#q2Tail[lun]!;
    if (head < tail) {
      const shift = this.#shift2[lun]!;
      const base = lun * this.#cap2;
      const mask = this.#mask2;
      const ends = this.#q2End;
      while (head < tail) {
        const i = base + (head & mask);
        const end = ends[i]! + shift;
        if (end <= now) {
          head++;
          continue;
        }
        const left = this.#startFront(lun, end, this.#q2Unit[i]!, this.#q2Count[i]!, this.#q2Kind[i]!, now);
        if (left === 0) head++;
        else this.#q2Count[i] = left;
        break;
      }
      if (head >= 0x40000000) {
        head -= 0x20000000;
        tail -= 0x20000000;
        this.#q2Tail[lun] = tail;
      }
      this.#q2Head[lun] = head;
    }
  }

  #timeWentBack(now: number): never {
    throw new LakeError('LAKE_E_INTERNAL', `LUN timeline asked about ${now} us after ${this.#latest} us`);
  }

  /**
   * An entry of `count` ops of `unit` us ending at `end` is running at `now`: make the op running now the
   * front op and return how many ops of the entry are still queued after it.
   */
  #startFront(lun: number, end: number, unit: number, count: number, kind: number, now: number): number {
    if (count === 1) {
      // One op: it is the one running (the general case below computes left = 0, frontEnd = end).
      this.#frontEnd[lun] = end;
      this.#frontKind[lun] = kind;
      this.#suspended[lun] = 0;
      this.#suspends[lun] = 0;
      return 0;
    }
    // The op running at now is the first whose end is after now (an op ending exactly at now is done).
    let left = Math.ceil((end - now) / unit) - 1;
    if (left >= count) left = count - 1;
    if (left < 0) left = 0;
    let frontEnd = end - unit * left;
    if (frontEnd <= now && left > 0) {
      left--;
      frontEnd += unit;
    }
    this.#frontEnd[lun] = frontEnd;
    this.#frontKind[lun] = kind;
    this.#suspended[lun] = 0;
    this.#suspends[lun] = 0;
    return left;
  }

  /**
   * Queue `count` back-to-back ops of `unitUs` each on a LUN at time now: Q1 (foreground, FIFO) or Q2
   * (idle priority). Returns the end of the last one. Merges into the queue's last entry when that has the
   * same kind and unit and ends exactly where the new ops start.
   */
  append(lun: number, queue: 1 | 2, kind: number, unitUs: number, count: number, now: number): number {
    let head1 = this.#q1Head[lun]!;
    let tail1 = this.#q1Tail[lun]!;
    // Popping finished entries is only needed to make room, or to start the Q2 op running now before Q1
    // work is put ahead of the rest of Q2; otherwise entries that already ended do no harm.
    if (queue === 2 || this.#q2Head[lun]! < this.#q2Tail[lun]! || tail1 - head1 >= this.#cap1 - 1) {
      this.advance(lun, now);
      head1 = this.#q1Head[lun]!;
      tail1 = this.#q1Tail[lun]!;
    }
    const total = unitUs * count;
    let start = now;
    const fe = this.#frontEnd[lun]!;
    if (fe > start) start = fe;
    const re = this.#readsEnd[lun]!;
    if (re > start) start = re;
    const shift1 = this.#shift1[lun]!;
    let last1 = -1;
    let lastEnd1 = 0;
    if (head1 < tail1) {
      last1 = lun * this.#cap1 + ((tail1 - 1) & this.#mask1);
      lastEnd1 = this.#q1End[last1]! + shift1;
      if (lastEnd1 > start) start = lastEnd1;
    }
    if (queue === 1) {
      const end = start + total;
      const s = lun * this.#kinds + kind;
      this.#sum1[s] = this.#sum1[s]! + total;
      // Everything in Q2 now starts after these ops.
      this.#shift2[lun] = this.#shift2[lun]! + total;
      if (
        last1 >= 0 &&
        !this.peeking &&
        lastEnd1 === start &&
        this.#q1Kind[last1] === kind &&
        this.#q1Unit[last1] === unitUs
      ) {
        this.#q1End[last1] = end - shift1;
        this.#q1Count[last1] = this.#q1Count[last1]! + count;
        return end;
      }
      if (tail1 - head1 >= this.#cap1) this.#grow1();
      const i = lun * this.#cap1 + (tail1 & this.#mask1);
      this.#q1End[i] = end - shift1;
      this.#q1Unit[i] = unitUs;
      this.#q1Count[i] = count;
      this.#q1Kind[i] = kind;
      this.#q1Tail[lun] = tail1 + 1;
      return end;
    }
    const head = this.#q2Head[lun]!;
    const tail = this.#q2Tail[lun]!;
    const shift = this.#shift2[lun]!;
    if (head < tail) {
      const last = lun * this.#cap2 + ((tail - 1) & this.#mask2);
      const lastEnd = this.#q2End[last]! + shift;
      if (lastEnd > start) start = lastEnd;
      if (
        !this.peeking &&
        lastEnd === start &&
        this.#q2Kind[last] === kind &&
        this.#q2Unit[last] === unitUs
      ) {
        const end = start + total;
        this.#q2End[last] = end - shift;
        this.#q2Count[last] = this.#q2Count[last]! + count;
        return end;
      }
    }
    const end = start + total;
    if (tail - head >= this.#cap2) this.#grow2();
    const i = lun * this.#cap2 + (tail & this.#mask2);
    this.#q2End[i] = end - shift;
    this.#q2Unit[i] = unitUs;
    this.#q2Count[i] = count;
    this.#q2Kind[i] = kind;
    this.#q2Tail[lun] = tail + 1;
    return end;
  }

  /** How far past now the LUN's idle-priority (Q2) work reaches, us (0 when none). */
  backgroundBacklog(lun: number, now: number): number {
    const tail = this.#q2Tail[lun]!;
    if (this.#q2Head[lun]! >= tail) return 0;
    const e = this.#q2End[lun * this.#cap2 + ((tail - 1) & this.#mask2)]! + this.#shift2[lun]!;
    return e > now ? e - now : 0;
  }

  /**
   * Place a page read of duration readUs arriving at now; returns its start time. Fills waitByKind and
   * lastSuspended.
   */
  placeRead(lun: number, readUs: number, now: number): number {
    this.advance(lun, now);
    const wait = this.waitByKind;
    for (let k = 0; k < wait.length; k++) wait[k] = 0;
    this.lastSuspended = false;
    const fe = this.#frontEnd[lun]!;
    if (!this.#readPriority) {
      // FIFO: behind the executing op and all of Q1 (which, after advance, has not started).
      if (fe > now) wait[this.#frontKind[lun]!] = fe - now;
      if (this.#q1Head[lun]! < this.#q1Tail[lun]!) {
        const sums = this.#sum1;
        const sumBase = lun * this.#kinds;
        for (let k = 1; k < wait.length; k++) {
          const queued = sums[sumBase + k]!;
          if (queued > 0) wait[k] = wait[k]! + queued;
        }
      }
      return this.append(lun, 1, KIND_READ, readUs, 1, now) - readUs;
    }
    const re = this.#readsEnd[lun]!;
    let start: number;
    if (re > now) {
      // Reads already placed and not finished: queue behind them.
      start = re;
      const rs = this.#readsStart[lun]!;
      // (Index 1 is KIND_READ, written out: V8 does not fold module constants into indices.)
      if (rs > now) {
        wait[this.#frontKind[lun]!] = rs - now;
        wait[1] = re - rs;
      } else {
        wait[1] = re - now;
      }
      // Still suspended: the op resumes after this read too.
      if (this.#suspended[lun] === 1) this.#frontEnd[lun] = fe + readUs;
    } else if (fe > now) {
      // An op is executing and no read is waiting on it.
      const kind = this.#frontKind[lun]!;
      if (
        this.#suspension &&
        kind !== 1 && // a read is never suspended
        fe - now > this.#suspendLatencyUs &&
        this.#suspends[lun]! < this.#maxSuspends
      ) {
        start = now + this.#suspendLatencyUs;
        this.#suspended[lun] = 1;
        this.#suspends[lun] = this.#suspends[lun]! + 1;
        this.#frontEnd[lun] = fe + readUs;
        this.lastSuspended = true;
      } else {
        start = fe;
        this.#suspended[lun] = 0;
      }
      wait[kind] = start - now;
      this.#readsStart[lun] = start;
    } else {
      start = now;
      this.#readsStart[lun] = now;
    }
    this.#readsEnd[lun] = start + readUs;
    // Every queued op now starts readUs later.
    this.#shift1[lun] = this.#shift1[lun]! + readUs;
    this.#shift2[lun] = this.#shift2[lun]! + readUs;
    return start;
  }

  /** Copy a LUN's state into `into` at `at` (LUN_SAVE_SLOTS floats), so that a peek can undo itself. */
  save(lun: number, into: Float64Array, at: number): void {
    into[at] = this.#frontEnd[lun]!;
    into[at + 1] = this.#frontKind[lun]!;
    into[at + 2] = this.#suspended[lun]!;
    into[at + 3] = this.#suspends[lun]!;
    into[at + 4] = this.#readsStart[lun]!;
    into[at + 5] = this.#readsEnd[lun]!;
    into[at + 6] = this.#shift1[lun]!;
    into[at + 7] = this.#shift2[lun]!;
    into[at + 8] = this.#q1Head[lun]!;
    into[at + 9] = this.#q1Tail[lun]!;
    into[at + 10] = this.#q2Head[lun]!;
    into[at + 11] = this.#q2Tail[lun]!;
    for (let k = 0; k < KIND_COUNT; k++) into[at + 12 + k] = this.#sum1[lun * KIND_COUNT + k]!;
  }

  /**
   * Put back what save() copied. Entries appended since (with `peeking` set, so none was merged into an
   * older one) lie past the restored tail and are forgotten. Call save() after advance(lun, now): a
   * second advance at the same time changes nothing, so nothing before the saved head is touched.
   */
  restore(lun: number, from: Float64Array, at: number): void {
    this.#frontEnd[lun] = from[at]!;
    this.#frontKind[lun] = from[at + 1]!;
    this.#suspended[lun] = from[at + 2]!;
    this.#suspends[lun] = from[at + 3]!;
    this.#readsStart[lun] = from[at + 4]!;
    this.#readsEnd[lun] = from[at + 5]!;
    this.#shift1[lun] = from[at + 6]!;
    this.#shift2[lun] = from[at + 7]!;
    this.#q1Head[lun] = from[at + 8]!;
    this.#q1Tail[lun] = from[at + 9]!;
    this.#q2Head[lun] = from[at + 10]!;
    this.#q2Tail[lun] = from[at + 11]!;
    for (let k = 0; k < KIND_COUNT; k++) this.#sum1[lun * KIND_COUNT + k] = from[at + 12 + k]!;
  }

  #grow1(): void {
    const ring = regrowRing(this.luns, this.#cap1, this.#q1Head, this.#q1Tail, {
      ends: this.#q1End,
      units: this.#q1Unit,
      counts: this.#q1Count,
      kinds: this.#q1Kind,
    });
    this.#cap1 *= 2;
    this.#mask1 = this.#cap1 - 1;
    this.#q1End = ring.ends;
    this.#q1Unit = ring.units;
    this.#q1Count = ring.counts;
    this.#q1Kind = ring.kinds;
  }

  #grow2(): void {
    const ring = regrowRing(this.luns, this.#cap2, this.#q2Head, this.#q2Tail, {
      ends: this.#q2End,
      units: this.#q2Unit,
      counts: this.#q2Count,
      kinds: this.#q2Kind,
    });
    this.#cap2 *= 2;
    this.#mask2 = this.#cap2 - 1;
    this.#q2End = ring.ends;
    this.#q2Unit = ring.units;
    this.#q2Count = ring.counts;
    this.#q2Kind = ring.kinds;
  }
}

/** The columns of one per-LUN ring of queued entries. */
interface RingColumns {
  ends: Float64Array;
  units: Float64Array;
  counts: Float64Array;
  kinds: Uint8Array;
}

/** Copies every LUN's live entries of a ring of capacity `cap` into a ring of twice that (cold path). */
function regrowRing(
  luns: number,
  cap: number,
  heads: Float64Array,
  tails: Float64Array,
  old: RingColumns,
): RingColumns {
  const next = cap * 2;
  const ring: RingColumns = {
    ends: new Float64Array(luns * next),
    units: new Float64Array(luns * next),
    counts: new Float64Array(luns * next),
    kinds: new Uint8Array(luns * next),
  };
  for (let lun = 0; lun < luns; lun++) {
    const tail = tails[lun]!;
    for (let c = heads[lun]!; c < tail; c++) {
      const from = lun * cap + (c & (cap - 1));
      const to = lun * next + (c & (next - 1));
      ring.ends[to] = old.ends[from]!;
      ring.units[to] = old.units[from]!;
      ring.counts[to] = old.counts[from]!;
      ring.kinds[to] = old.kinds[from]!;
    }
  }
  return ring;
}
