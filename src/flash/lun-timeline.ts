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
 * programs appended behind each other), so queueing a GC run costs O(1) per die. Ends are
 * stored relative to a per-queue shift: inserting a read ahead of a queue (or a Q1 op ahead of Q2) moves
 * every queued op later by the same amount, which is one addition to the shift instead of a walk over the
 * queue. Before anything is placed ahead of a queue, the op executing at that instant is moved out of the
 * queue into the front ("materialised"), because a started op does not move. Ops are popped lazily as time
 * passes, each once, so every operation is O(1) amortised. Everything is kept in flat typed arrays,
 * one stride of fields per LUN, so that a peek can save and restore a LUN's state exactly.
 *
 * Invariant that makes this work: a queue op is appended at max(now, end of everything before it), so the
 * busy stretch has no gaps after `now`, and after popping the finished ops the head of the first non-empty
 * queue (if the front is idle) started at or before `now`.
 */

/** Op kinds; the numbers index slowCauses in types.ts ('none','read','program','erase','gc','flush'). */
export const KIND_NONE = 0;
export const KIND_READ = 1;
export const KIND_PROGRAM = 2;
export const KIND_ERASE = 3;
export const KIND_GC = 4;
export const KIND_FLUSH = 5;
export const KIND_COUNT = 6;

// Fields of one LUN's stride in `state`.
const FRONT_END = 0; // end of the executing (materialised) op; <= now when none
const FRONT_KIND = 1;
const SUSPENDED = 2; // 1 while the front op has reads placed inside it (it is suspended or was)
const SUSPENDS = 3; // suspensions of the front op so far
const READS_START = 4; // the block of reads placed in the front: [READS_START, READS_END)
const READS_END = 5;
const SHIFT1 = 6; // real end of a Q1 op = stored end + SHIFT1
const SHIFT2 = 7;
const Q1_HEAD = 8; // ring counters (monotonic, renormalised long before 2^31)
const Q1_TAIL = 9;
const Q2_HEAD = 10;
const Q2_TAIL = 11;
const SUM1 = 12; // SUM1 + kind: total duration of Q1 ops of that kind (for read attribution without priority)
/** Number of float fields per LUN. */
export const LUN_FIELDS = SUM1 + KIND_COUNT;

const RENORMALISE_AT = 1 << 30;
const RENORMALISE_BY = 1 << 29;

export interface TimelineConfig {
  readonly luns: number;
  readonly readPriority: boolean;
  readonly suspension: boolean;
  readonly suspendLatencyUs: number;
  readonly maxSuspendsPerOp: number;
}

export class LunTimelines {
  readonly luns: number;
  /** LUN_FIELDS floats per LUN. */
  readonly state: Float64Array;
  /**
   * Wait of the last placed read per kind, us (index = kind). Written by placeRead. Reads are waits
   * behind earlier reads, the rest behind the op(s) ahead of it.
   */
  readonly waitByKind = new Float64Array(KIND_COUNT);
  /** Whether the last placeRead suspended an op. */
  lastSuspended = false;

  readonly #readPriority: boolean;
  readonly #suspension: boolean;
  readonly #suspendLatencyUs: number;
  readonly #maxSuspends: number;

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
    this.luns = config.luns;
    this.#readPriority = config.readPriority;
    this.#suspension = config.suspension;
    this.#suspendLatencyUs = config.suspendLatencyUs;
    this.#maxSuspends = config.maxSuspendsPerOp;
    this.state = new Float64Array(this.luns * LUN_FIELDS);
    this.#q1End = new Float64Array(this.luns * this.#cap1);
    this.#q1Unit = new Float64Array(this.luns * this.#cap1);
    this.#q1Count = new Float64Array(this.luns * this.#cap1);
    this.#q1Kind = new Uint8Array(this.luns * this.#cap1);
    this.#q2End = new Float64Array(this.luns * this.#cap2);
    this.#q2Unit = new Float64Array(this.luns * this.#cap2);
    this.#q2Count = new Float64Array(this.luns * this.#cap2);
    this.#q2Kind = new Uint8Array(this.luns * this.#cap2);
  }

  /** Pop ops finished by `now`; if the front is idle, move the op executing at `now` into it. */
  advance(lun: number, now: number): void {
    const st = this.state;
    const b = lun * LUN_FIELDS;
    if (st[b + FRONT_END]! > now || st[b + READS_END]! > now) return;
    let head = st[b + Q1_HEAD]!;
    let tail = st[b + Q1_TAIL]!;
    if (head < tail) {
      const shift = st[b + SHIFT1]!;
      const base = lun * this.#cap1;
      const mask = this.#mask1;
      const ends = this.#q1End;
      while (head < tail) {
        const i = base + (head & mask);
        const end = ends[i]! + shift;
        const kind = this.#q1Kind[i]!;
        const unit = this.#q1Unit[i]!;
        const count = this.#q1Count[i]!;
        if (end <= now) {
          st[b + SUM1 + kind] = st[b + SUM1 + kind]! - unit * count;
          head++;
          continue;
        }
        // Executing: ops before the one running at `now` are done; that one moves to the front.
        const left = this.#executing(st, b, end, unit, count, kind, now);
        st[b + SUM1 + kind] = st[b + SUM1 + kind]! - unit * (count - left);
        if (left === 0) head++;
        else this.#q1Count[i] = left;
        break;
      }
      if (head === tail) {
        for (let k = 0; k < KIND_COUNT; k++) st[b + SUM1 + k] = 0;
      }
      if (head >= RENORMALISE_AT) {
        head -= RENORMALISE_BY;
        tail -= RENORMALISE_BY;
        st[b + Q1_TAIL] = tail;
      }
      st[b + Q1_HEAD] = head;
      if (st[b + FRONT_END]! > now) return;
    }
    head = st[b + Q2_HEAD]!;
    tail = st[b + Q2_TAIL]!;
    if (head < tail) {
      const shift = st[b + SHIFT2]!;
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
        const left = this.#executing(st, b, end, this.#q2Unit[i]!, this.#q2Count[i]!, this.#q2Kind[i]!, now);
        if (left === 0) head++;
        else this.#q2Count[i] = left;
        break;
      }
      if (head >= RENORMALISE_AT) {
        head -= RENORMALISE_BY;
        tail -= RENORMALISE_BY;
        st[b + Q2_TAIL] = tail;
      }
      st[b + Q2_HEAD] = head;
    }
  }

  /**
   * An entry of `count` ops of `unit` us ending at `end` is running at `now`: make the op running now the
   * front op and return how many ops of the entry are still queued after it.
   */
  #executing(
    st: Float64Array,
    b: number,
    end: number,
    unit: number,
    count: number,
    kind: number,
    now: number,
  ): number {
    // The op running at now is the first whose end is after now (an op ending exactly at now is done).
    let left = Math.ceil((end - now) / unit) - 1;
    if (left >= count) left = count - 1;
    if (left < 0) left = 0;
    let frontEnd = end - unit * left;
    if (frontEnd <= now && left > 0) {
      left--;
      frontEnd += unit;
    }
    st[b + FRONT_END] = frontEnd;
    st[b + FRONT_KIND] = kind;
    st[b + SUSPENDED] = 0;
    st[b + SUSPENDS] = 0;
    return left;
  }

  /** Real end of everything in the front and Q1 (where a new Q1 op starts), at least now. */
  #q1FreeAt(st: Float64Array, b: number, lun: number, now: number): number {
    let t = now;
    const fe = st[b + FRONT_END]!;
    if (fe > t) t = fe;
    const re = st[b + READS_END]!;
    if (re > t) t = re;
    const tail = st[b + Q1_TAIL]!;
    if (st[b + Q1_HEAD]! < tail) {
      const e = this.#q1End[lun * this.#cap1 + ((tail - 1) & this.#mask1)]! + st[b + SHIFT1]!;
      if (e > t) t = e;
    }
    return t;
  }

  /**
   * Queue `count` back-to-back ops of `unitUs` each on a LUN at time now: Q1 (foreground, FIFO) or Q2
   * (idle priority). Returns the end of the last one. Merges into the queue's last entry when that has the
   * same kind and unit (queued entries have not started, so it simply ends later).
   */
  append(lun: number, queue: 1 | 2, kind: number, unitUs: number, count: number, now: number): number {
    this.advance(lun, now);
    const st = this.state;
    const b = lun * LUN_FIELDS;
    const total = unitUs * count;
    let start = this.#q1FreeAt(st, b, lun, now);
    if (queue === 1) {
      const head = st[b + Q1_HEAD]!;
      let tail = st[b + Q1_TAIL]!;
      const shift = st[b + SHIFT1]!;
      st[b + SUM1 + kind] = st[b + SUM1 + kind]! + total;
      // Everything in Q2 now starts after these ops.
      st[b + SHIFT2] = st[b + SHIFT2]! + total;
      const end = start + total;
      if (head < tail) {
        const last = lun * this.#cap1 + ((tail - 1) & this.#mask1);
        if (this.#q1Kind[last] === kind && this.#q1Unit[last] === unitUs) {
          this.#q1End[last] = end - shift;
          this.#q1Count[last] = this.#q1Count[last]! + count;
          return end;
        }
      }
      if (tail - head >= this.#cap1) this.#grow1();
      const i = lun * this.#cap1 + (tail & this.#mask1);
      this.#q1End[i] = end - shift;
      this.#q1Unit[i] = unitUs;
      this.#q1Count[i] = count;
      this.#q1Kind[i] = kind;
      st[b + Q1_TAIL] = ++tail;
      return end;
    }
    const head = st[b + Q2_HEAD]!;
    let tail = st[b + Q2_TAIL]!;
    const shift = st[b + SHIFT2]!;
    if (head < tail) {
      const last = lun * this.#cap2 + ((tail - 1) & this.#mask2);
      const e = this.#q2End[last]! + shift;
      if (e > start) start = e;
      const end = start + total;
      if (this.#q2Kind[last] === kind && this.#q2Unit[last] === unitUs) {
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
    st[b + Q2_TAIL] = ++tail;
    return end;
  }

  /** How far past now the LUN's idle-priority (Q2) work reaches, us (0 when none). */
  backgroundBacklog(lun: number, now: number): number {
    const st = this.state;
    const b = lun * LUN_FIELDS;
    const tail = st[b + Q2_TAIL]!;
    if (st[b + Q2_HEAD]! >= tail) return 0;
    const e = this.#q2End[lun * this.#cap2 + ((tail - 1) & this.#mask2)]! + st[b + SHIFT2]!;
    return e > now ? e - now : 0;
  }

  /** Real end of all work queued on the LUN (FEMU's lun_free_at), at least now. */
  freeAt(lun: number, now: number): number {
    const st = this.state;
    const b = lun * LUN_FIELDS;
    const t = this.#q1FreeAt(st, b, lun, now);
    const bg = this.backgroundBacklog(lun, t);
    return t + bg;
  }

  /**
   * Place a page read of duration readUs arriving at now; returns its start time. Fills waitByKind and
   * lastSuspended. Advances the LUN itself.
   */
  placeRead(lun: number, readUs: number, now: number): number {
    this.advance(lun, now);
    const st = this.state;
    const b = lun * LUN_FIELDS;
    const wait = this.waitByKind;
    for (let k = 0; k < KIND_COUNT; k++) wait[k] = 0;
    this.lastSuspended = false;
    if (!this.#readPriority) {
      // FIFO: behind the executing op and all of Q1 (which, after advance, has not started).
      const fe = st[b + FRONT_END]!;
      if (fe > now) wait[st[b + FRONT_KIND]!] = fe - now;
      if (st[b + Q1_HEAD]! < st[b + Q1_TAIL]!) {
        for (let k = 1; k < KIND_COUNT; k++) wait[k] = wait[k]! + Math.max(0, st[b + SUM1 + k]!);
      }
      const end = this.append(lun, 1, KIND_READ, readUs, 1, now);
      return end - readUs;
    }
    const fe = st[b + FRONT_END]!;
    const re = st[b + READS_END]!;
    let start: number;
    if (re > now) {
      // Reads already placed and not finished: queue behind them.
      start = re;
      const rs = st[b + READS_START]!;
      if (rs > now) {
        wait[st[b + FRONT_KIND]!] = rs - now;
        wait[KIND_READ] = re - rs;
      } else {
        wait[KIND_READ] = re - now;
      }
      if (st[b + SUSPENDED]! === 1) st[b + FRONT_END] = fe + readUs; // still suspended: the op resumes later
    } else if (fe > now) {
      // An op is executing and no read is waiting on it.
      const kind = st[b + FRONT_KIND]!;
      if (
        this.#suspension &&
        kind !== KIND_READ &&
        fe - now > this.#suspendLatencyUs &&
        st[b + SUSPENDS]! < this.#maxSuspends
      ) {
        start = now + this.#suspendLatencyUs;
        st[b + SUSPENDED] = 1;
        st[b + SUSPENDS] = st[b + SUSPENDS]! + 1;
        st[b + FRONT_END] = fe + readUs;
        this.lastSuspended = true;
      } else {
        start = fe;
        st[b + SUSPENDED] = 0;
      }
      wait[kind] = start - now;
      st[b + READS_START] = start;
    } else {
      start = now;
      st[b + READS_START] = now;
    }
    st[b + READS_END] = start + readUs;
    // Every queued op now starts readUs later.
    st[b + SHIFT1] = st[b + SHIFT1]! + readUs;
    st[b + SHIFT2] = st[b + SHIFT2]! + readUs;
    return start;
  }

  /** Copy a LUN's fields to `into` at `at` (for a peek that must leave no trace). */
  save(lun: number, into: Float64Array, at: number): void {
    const b = lun * LUN_FIELDS;
    into.set(this.state.subarray(b, b + LUN_FIELDS), at);
  }

  restore(lun: number, from: Float64Array, at: number): void {
    this.state.set(from.subarray(at, at + LUN_FIELDS), lun * LUN_FIELDS);
  }

  #grow1(): void {
    const cap = this.#cap1;
    const next = cap * 2;
    const ends = new Float64Array(this.luns * next);
    const units = new Float64Array(this.luns * next);
    const counts = new Float64Array(this.luns * next);
    const kinds = new Uint8Array(this.luns * next);
    for (let lun = 0; lun < this.luns; lun++) {
      const b = lun * LUN_FIELDS;
      const tail = this.state[b + Q1_TAIL]!;
      for (let c = this.state[b + Q1_HEAD]!; c < tail; c++) {
        const from = lun * cap + (c & (cap - 1));
        const to = lun * next + (c & (next - 1));
        ends[to] = this.#q1End[from]!;
        units[to] = this.#q1Unit[from]!;
        counts[to] = this.#q1Count[from]!;
        kinds[to] = this.#q1Kind[from]!;
      }
    }
    this.#cap1 = next;
    this.#mask1 = next - 1;
    this.#q1End = ends;
    this.#q1Unit = units;
    this.#q1Count = counts;
    this.#q1Kind = kinds;
  }


  #grow2(): void {
    const cap = this.#cap2;
    const next = cap * 2;
    const ends = new Float64Array(this.luns * next);
    const units = new Float64Array(this.luns * next);
    const counts = new Float64Array(this.luns * next);
    const kinds = new Uint8Array(this.luns * next);
    for (let lun = 0; lun < this.luns; lun++) {
      const b = lun * LUN_FIELDS;
      const tail = this.state[b + Q2_TAIL]!;
      for (let c = this.state[b + Q2_HEAD]!; c < tail; c++) {
        const from = lun * cap + (c & (cap - 1));
        const to = lun * next + (c & (next - 1));
        ends[to] = this.#q2End[from]!;
        units[to] = this.#q2Unit[from]!;
        counts[to] = this.#q2Count[from]!;
        kinds[to] = this.#q2Kind[from]!;
      }
    }
    this.#cap2 = next;
    this.#mask2 = next - 1;
    this.#q2End = ends;
    this.#q2Unit = units;
    this.#q2Count = counts;
    this.#q2Kind = kinds;
  }
}
