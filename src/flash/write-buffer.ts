/**
 * The SSD's DRAM write buffer, as sequence numbers. Every page that enters gets the next sequence number
 * and a slot in a ring of LPNs; the buffer holds the pages with sequence numbers in
 * [releasedSeq, nextSeq): those in [flushedSeq, nextSeq) are dirty (not yet sent to flash), the others
 * are being programmed. A flush sends all dirty pages to flash as one batch; the batch's slots are
 * released, in FIFO order, when its last program ends (release times are fixed when the flush is
 * scheduled; a read that later jumps ahead of one of its programs moves that program by the read time but
 * not the release — tens of microseconds against flush times of milliseconds).
 * A page overwritten while still dirty is replaced in place (absorbed).
 *
 * Which LPNs are in the buffer is kept in a small open-addressing hash table (LPN -> newest sequence
 * number, linear probing, backward-shift deletion) rather than a per-LPN array: it stays in the CPU cache,
 * whereas a table over all LPNs would cost a cache miss on every page of every command.
 */

/** Sequence numbers are rebased before they could overflow an Int32. */
const REBASE_AT = 1 << 30;
const EMPTY = -1;

export class WriteBuffer {
  readonly capacity: number;
  readonly flushPages: number;
  nextSeq = 0;
  flushedSeq = 0;
  releasedSeq = 0;
  /** Writes are admitted in order: none before the time an earlier stalled write got its space. */
  stallUntil = 0;
  readonly #ring: Int32Array;
  readonly #batchEndSeq: Int32Array;
  readonly #batchRelease: Float64Array;
  #batchHead = 0;
  #batchTail = 0;
  readonly #keys: Int32Array;
  readonly #seqs: Int32Array;
  readonly #mask: number;
  readonly #shift: number;

  constructor(capacity: number, flushPages: number) {
    this.capacity = capacity;
    this.flushPages = flushPages;
    this.#ring = new Int32Array(Math.max(1, capacity));
    // At most one batch per page in the buffer, plus the slot that tells a full ring from an empty one.
    this.#batchEndSeq = new Int32Array(Math.max(1, capacity) + 1);
    this.#batchRelease = new Float64Array(Math.max(1, capacity) + 1);
    // Load factor at most 1/2.
    let bits = 1;
    while (1 << bits < 2 * Math.max(1, capacity)) bits++;
    this.#keys = new Int32Array(1 << bits).fill(EMPTY);
    this.#seqs = new Int32Array(1 << bits);
    this.#mask = (1 << bits) - 1;
    this.#shift = 32 - bits;
  }

  #slot(lpn: number): number {
    return Math.imul(lpn, 0x9e3779b1) >>> this.#shift;
  }

  /** Newest sequence number of an LPN in the buffer, -1 when not in it. */
  seqOf(lpn: number): number {
    const keys = this.#keys;
    let i = this.#slot(lpn);
    for (;;) {
      const k = keys[i]!;
      if (k === lpn) return this.#seqs[i]!;
      if (k === EMPTY) return -1;
      i = (i + 1) & this.#mask;
    }
  }

  #set(lpn: number, seq: number): void {
    const keys = this.#keys;
    let i = this.#slot(lpn);
    for (;;) {
      const k = keys[i]!;
      if (k === lpn || k === EMPTY) {
        keys[i] = lpn;
        this.#seqs[i] = seq;
        return;
      }
      i = (i + 1) & this.#mask;
    }
  }

  /** Remove an LPN if its newest sequence number is seq (a newer write keeps it in the buffer). */
  #release(lpn: number, seq: number): void {
    const keys = this.#keys;
    const mask = this.#mask;
    let i = this.#slot(lpn);
    for (;;) {
      const k = keys[i]!;
      if (k === EMPTY) return;
      if (k === lpn) break;
      i = (i + 1) & mask;
    }
    if (this.#seqs[i] !== seq) return;
    // Backward-shift deletion keeps every probe chain unbroken.
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const k = keys[j]!;
      if (k === EMPTY) break;
      const home = this.#slot(k);
      // Move k into the hole unless its home lies cyclically in (hole, j].
      if (hole <= j ? home <= hole || home > j : home <= hole && home > j) {
        keys[hole] = k;
        this.#seqs[hole] = this.#seqs[j]!;
        hole = j;
      }
    }
    keys[hole] = EMPTY;
  }

  #releaseBatch(): number {
    const head = this.#batchHead;
    const end = this.#batchEndSeq[head]!;
    for (let seq = this.releasedSeq; seq < end; seq++) this.#release(this.#ring[seq % this.capacity]!, seq);
    this.releasedSeq = end;
    this.#batchHead = head + 1 === this.#batchEndSeq.length ? 0 : head + 1;
    return this.#batchRelease[head]!;
  }

  /** Release the batches whose programs have all ended by now. */
  releaseUpTo(now: number): void {
    while (this.#batchHead !== this.#batchTail && this.#batchRelease[this.#batchHead]! <= now) {
      this.#releaseBatch();
    }
  }

  /** Whether DRAM holds the LPN's newest data (call releaseUpTo first). */
  holds(lpn: number): boolean {
    return this.seqOf(lpn) >= 0;
  }

  /** Whether the LPN's newest data is dirty in the buffer (a new write replaces it in place). */
  isDirty(lpn: number): boolean {
    return this.seqOf(lpn) >= this.flushedSeq;
  }

  get full(): boolean {
    return this.nextSeq - this.releasedSeq >= this.capacity;
  }

  get dirtyPages(): number {
    return this.nextSeq - this.flushedSeq;
  }

  /** Pages in the buffer (dirty or being programmed). */
  get occupancy(): number {
    return this.nextSeq - this.releasedSeq;
  }

  /**
   * Make room by releasing the oldest batch early; returns the time the room exists (at least `at`).
   * Only call when full: a batch is then in flight, since dirty pages < flushPages <= capacity.
   */
  waitForSpace(at: number): number {
    const release = this.#releaseBatch();
    return release > at ? release : at;
  }

  insert(lpn: number): void {
    if (this.nextSeq >= REBASE_AT) this.#rebase();
    const seq = this.nextSeq++;
    this.#ring[seq % this.capacity] = lpn;
    this.#set(lpn, seq);
  }

  /** LPN of the dirty page with sequence number seq (flushedSeq <= seq < nextSeq). */
  lpnAt(seq: number): number {
    return this.#ring[seq % this.capacity]!;
  }

  /** All dirty pages were sent to flash; their slots free at releaseUs (kept FIFO with earlier batches). */
  closeBatch(releaseUs: number): void {
    const n = this.#batchEndSeq.length;
    const tail = this.#batchTail;
    if (this.#batchHead !== tail) {
      const previous = this.#batchRelease[tail === 0 ? n - 1 : tail - 1]!;
      if (previous > releaseUs) releaseUs = previous;
    }
    this.#batchEndSeq[tail] = this.nextSeq;
    this.#batchRelease[tail] = releaseUs;
    this.#batchTail = tail + 1 === n ? 0 : tail + 1;
    this.flushedSeq = this.nextSeq;
  }

  /** The LPNs in the buffer with their newest sequence numbers (for invariant checks). */
  *entries(): Generator<[lpn: number, seq: number]> {
    for (let i = 0; i < this.#keys.length; i++) {
      if (this.#keys[i] !== EMPTY) yield [this.#keys[i]!, this.#seqs[i]!];
    }
  }

  /** Shift all sequence numbers down by a multiple of the capacity (ring slots stay where they are). */
  #rebase(): void {
    const delta = Math.floor(this.releasedSeq / this.capacity) * this.capacity;
    for (let i = 0; i < this.#keys.length; i++) {
      if (this.#keys[i] !== EMPTY) this.#seqs[i] = this.#seqs[i]! - delta;
    }
    const n = this.#batchEndSeq.length;
    for (let b = this.#batchHead; b !== this.#batchTail; b = b + 1 === n ? 0 : b + 1) {
      this.#batchEndSeq[b] = this.#batchEndSeq[b]! - delta;
    }
    this.nextSeq -= delta;
    this.flushedSeq -= delta;
    this.releasedSeq -= delta;
  }
}
