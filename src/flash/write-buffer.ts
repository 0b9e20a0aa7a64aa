/**
 * The SSD's DRAM write buffer, as sequence numbers. Every page that enters gets the next sequence number
 * and a slot in a ring of LPNs; the buffer holds the pages with sequence numbers in
 * [releasedSeq, nextSeq): those in [flushedSeq, nextSeq) are dirty (not yet sent to flash), the others
 * are being programmed. A flush sends all dirty pages to flash as one batch; the batch's slots are
 * released, in FIFO order, when its last program ends (release times are fixed when the flush is
 * scheduled; a read that later jumps ahead of one of its programs moves that program by the read time but
 * not the release — a difference of tens of microseconds against flush times of milliseconds).
 * A page overwritten while still dirty is replaced in place (absorbed). `lpnSeq` remembers each LPN's
 * newest sequence number, so a read knows in O(1) whether DRAM has its data.
 */

/** Sequence numbers are rebased before they could overflow an Int32. */
const REBASE_AT = 1 << 30;

export class WriteBuffer {
  readonly capacity: number;
  readonly flushPages: number;
  nextSeq = 0;
  flushedSeq = 0;
  releasedSeq = 0;
  /** Writes are admitted in order: none before the time an earlier stalled write got its space. */
  stallUntil = 0;
  readonly #ring: Int32Array;
  readonly #lpnSeq: Int32Array;
  readonly #batchEndSeq: Int32Array;
  readonly #batchRelease: Float64Array;
  #batchHead = 0;
  #batchTail = 0;

  constructor(capacity: number, flushPages: number, logicalPages: number) {
    this.capacity = capacity;
    this.flushPages = flushPages;
    this.#ring = new Int32Array(Math.max(1, capacity));
    this.#lpnSeq = new Int32Array(capacity > 0 ? logicalPages : 0).fill(-1);
    // At most one batch per page in the buffer, plus the slot that tells a full ring from an empty one.
    this.#batchEndSeq = new Int32Array(Math.max(1, capacity) + 1);
    this.#batchRelease = new Float64Array(Math.max(1, capacity) + 1);
  }

  /** Release the batches whose programs have all ended by now. */
  releaseUpTo(now: number): void {
    const n = this.#batchEndSeq.length;
    while (this.#batchHead !== this.#batchTail && this.#batchRelease[this.#batchHead]! <= now) {
      this.releasedSeq = this.#batchEndSeq[this.#batchHead]!;
      this.#batchHead = this.#batchHead + 1 === n ? 0 : this.#batchHead + 1;
    }
  }

  /** Whether DRAM holds the LPN's newest data (call releaseUpTo first). */
  holds(lpn: number): boolean {
    return this.#lpnSeq[lpn]! >= this.releasedSeq;
  }

  /** Whether the LPN's newest data is dirty in the buffer (a new write replaces it in place). */
  isDirty(lpn: number): boolean {
    return this.#lpnSeq[lpn]! >= this.flushedSeq;
  }

  get full(): boolean {
    return this.nextSeq - this.releasedSeq >= this.capacity;
  }

  get dirtyPages(): number {
    return this.nextSeq - this.flushedSeq;
  }

  /**
   * Make room for one page by releasing the oldest batch early; returns the time the room exists
   * (at least `at`). Only call when full (there is then a batch in flight: dirty pages < flushPages <= capacity).
   */
  waitForSpace(at: number): number {
    const head = this.#batchHead;
    const release = this.#batchRelease[head]!;
    this.releasedSeq = this.#batchEndSeq[head]!;
    this.#batchHead = head + 1 === this.#batchEndSeq.length ? 0 : head + 1;
    return release > at ? release : at;
  }

  insert(lpn: number): void {
    if (this.nextSeq >= REBASE_AT) this.#rebase();
    const seq = this.nextSeq++;
    this.#ring[seq % this.capacity] = lpn;
    this.#lpnSeq[lpn] = seq;
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

  /** Pages in the buffer (dirty or being programmed). */
  get occupancy(): number {
    return this.nextSeq - this.releasedSeq;
  }

  /** Shift all sequence numbers down by a multiple of the capacity (ring slots stay where they are). */
  #rebase(): void {
    const delta = Math.floor(this.releasedSeq / this.capacity) * this.capacity;
    const seqs = this.#lpnSeq;
    const released = this.releasedSeq;
    for (let i = 0; i < seqs.length; i++) {
      const s = seqs[i]!;
      seqs[i] = s >= released ? s - delta : -1;
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
