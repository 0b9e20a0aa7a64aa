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
 * number, linear probing) rather than a per-LPN array: it stays in the CPU cache, whereas a table over all
 * LPNs would cost a cache miss on every page. Released pages are not deleted (their sequence number,
 * below releasedSeq, says they are gone); the table is rebuilt without them whenever half its slots are
 * used, which costs O(1) per insert amortised and keeps release free.
 */

/** Marks a free hash slot (LPNs are >= 0, so `key < 0` tests for it). */
const EMPTY = -1;

export class WriteBuffer {
  readonly capacity: number;
  readonly flushPages: number;
  nextSeq = 0;
  flushedSeq = 0;
  releasedSeq = 0;
  /** Writes are admitted in order: none before the time an earlier stalled write got its space. */
  stallUntil = 0;
  /** LPN of each sequence number, at seq & ringMask (the ring is the capacity rounded up to a power of two). */
  readonly #ring: Int32Array;
  readonly #ringMask: number;
  readonly #batchEndSeq: Int32Array;
  readonly #batchRelease: Float64Array;
  #batchHead = 0;
  #batchTail = 0;
  #keys: Int32Array;
  #seqs: Int32Array;
  #spareKeys: Int32Array;
  #spareSeqs: Int32Array;
  readonly #mask: number;
  readonly #shift: number;
  readonly #rebuildAt: number;
  /** Slots holding a key (live or released). */
  #used = 0;
  /** Slot found by the last probe(). */
  #probed = 0;

  constructor(capacity: number, flushPages: number) {
    this.capacity = capacity;
    this.flushPages = flushPages;
    let ringSize = 1;
    while (ringSize < capacity) ringSize *= 2;
    this.#ring = new Int32Array(ringSize);
    this.#ringMask = ringSize - 1;
    // At most one batch per page in the buffer, plus the slot that tells a full ring from an empty one.
    this.#batchEndSeq = new Int32Array(Math.max(1, capacity) + 1);
    this.#batchRelease = new Float64Array(Math.max(1, capacity) + 1);
    // At least 8 slots per buffered page: live entries fill at most an eighth after a rebuild, and a
    // rebuild comes when half the slots are used, so probes stay short and rebuilds rare.
    let bits = 3;
    while (1 << bits < 8 * Math.max(1, capacity)) bits++;
    this.#keys = new Int32Array(1 << bits).fill(EMPTY);
    this.#seqs = new Int32Array(1 << bits);
    this.#spareKeys = new Int32Array(1 << bits);
    this.#spareSeqs = new Int32Array(1 << bits);
    this.#mask = (1 << bits) - 1;
    this.#shift = 32 - bits;
    this.#rebuildAt = 1 << (bits - 1);
  }

  #slot(lpn: number): number {
    return Math.imul(lpn, -1640531535) >>> this.#shift;
  }

  /**
   * Newest sequence number recorded for an LPN (below releasedSeq when it has left the buffer), -1 when
   * none. Remembers the LPN's slot (or the empty slot where it would go) for insert().
   */
  probe(lpn: number): number {
    const keys = this.#keys;
    const mask = this.#mask;
    let i = this.#slot(lpn);
    for (;;) {
      const k = keys[i]!;
      if (k === lpn) {
        this.#probed = i;
        return this.#seqs[i]!;
      }
      if (k < 0) {
        this.#probed = i;
        return -1;
      }
      i = (i + 1) & mask;
    }
  }

  #releaseBatch(): number {
    const head = this.#batchHead;
    this.releasedSeq = this.#batchEndSeq[head]!;
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
    return this.probe(lpn) >= this.releasedSeq;
  }

  /** Whether the LPN's newest data is dirty in the buffer (a new write replaces it in place). */
  isDirty(lpn: number): boolean {
    return this.probe(lpn) >= this.flushedSeq;
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
    return Math.max(release, at);
  }

  /**
   * Add a page right after probe(lpn) found it not dirty, once there is room (check full; releasing
   * batches in between leaves the probed slot valid).
   */
  insert(lpn: number): void {
    // Rebase sequence numbers long before they could overflow an Int32 (2^30).
    if (this.nextSeq >= 0x40000000) this.#rebase();
    const seq = this.nextSeq++;
    this.#ring[seq & this.#ringMask] = lpn;
    const i = this.#probed;
    this.#seqs[i] = seq;
    if (this.#keys[i] === lpn) return;
    this.#keys[i] = lpn;
    if (++this.#used >= this.#rebuildAt) this.#rebuild();
  }

  /** Re-insert only the LPNs still in the buffer into an empty table. */
  #rebuild(): void {
    const oldKeys = this.#keys;
    const oldSeqs = this.#seqs;
    const keys = this.#spareKeys;
    const seqs = this.#spareSeqs;
    keys.fill(EMPTY);
    const mask = this.#mask;
    const released = this.releasedSeq;
    let used = 0;
    for (let j = 0; j < oldKeys.length; j++) {
      const k = oldKeys[j]!;
      if (k < 0 || oldSeqs[j]! < released) continue;
      let i = this.#slot(k);
      while (keys[i]! >= 0) i = (i + 1) & mask;
      keys[i] = k;
      seqs[i] = oldSeqs[j]!;
      used++;
    }
    this.#spareKeys = oldKeys;
    this.#spareSeqs = oldSeqs;
    this.#keys = keys;
    this.#seqs = seqs;
    this.#used = used;
  }

  /** Copy the dirty pages' LPNs, oldest first, into `into`; returns how many. */
  copyDirty(into: Int32Array): number {
    const ring = this.#ring;
    const mask = this.#ringMask;
    let n = 0;
    for (let seq = this.flushedSeq; seq < this.nextSeq; seq++) into[n++] = ring[seq & mask]!;
    return n;
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
      const k = this.#keys[i]!;
      if (k >= 0 && this.#seqs[i]! >= this.releasedSeq) yield [k, this.#seqs[i]!];
    }
  }

  /** Shift all sequence numbers down by a multiple of the ring size (ring slots stay where they are). */
  #rebase(): void {
    const size = this.#ringMask + 1;
    const delta = Math.floor(this.releasedSeq / size) * size;
    for (let i = 0; i < this.#keys.length; i++) {
      // Released entries may go negative: still below releasedSeq, still out of the buffer.
      if (this.#keys[i]! >= 0) this.#seqs[i] = this.#seqs[i]! - delta;
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
