/**
 * A binary min-heap of events on parallel typed arrays, ordered by (time, class, sequence). Class 0
 * (completions) sorts before class 1 (submits, retries, hedge timers) at equal times, and the
 * sequence number keeps the order stable: this is the ordering contract offline feature extraction
 * relies on. No allocation per event once the arrays have grown.
 */
export const COMPLETION = 0;
export const ACTION = 1;

export class EventQueue {
  #time = new Float64Array(256);
  #order = new Float64Array(256); // class * 2^52 + seq would lose precision; keep class and seq apart
  #cls = new Uint8Array(256);
  #payload = new Int32Array(256);
  #kind = new Uint8Array(256);
  #size = 0;
  #seq = 0;

  get size(): number {
    return this.#size;
  }

  /** Time of the earliest event; Infinity when empty. */
  peekTime(): number {
    return this.#size > 0 ? this.#time[0]! : Number.POSITIVE_INFINITY;
  }

  peekClass(): number {
    return this.#cls[0]!;
  }

  push(time: number, cls: number, kind: number, payload: number): void {
    if (this.#size === this.#time.length) this.#grow();
    let i = this.#size++;
    const seq = this.#seq++;
    // sift up
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(time, cls, seq, parent)) break;
      this.#move(parent, i);
      i = parent;
    }
    this.#time[i] = time;
    this.#cls[i] = cls;
    this.#order[i] = seq;
    this.#kind[i] = kind;
    this.#payload[i] = payload;
  }

  /** Pops the earliest event; read it with the returned kind/payload via lastKind/lastPayload/lastTime. */
  lastTime = 0;
  lastKind = 0;
  lastPayload = 0;

  pop(): boolean {
    if (this.#size === 0) return false;
    this.lastTime = this.#time[0]!;
    this.lastKind = this.#kind[0]!;
    this.lastPayload = this.#payload[0]!;
    const last = --this.#size;
    if (last === 0) return true;
    const time = this.#time[last]!;
    const cls = this.#cls[last]!;
    const seq = this.#order[last]!;
    const kind = this.#kind[last]!;
    const payload = this.#payload[last]!;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= last) break;
      const right = left + 1;
      let child = left;
      if (right < last && this.#lessIdx(right, left)) child = right;
      if (!this.#idxLess(child, time, cls, seq)) break;
      this.#move(child, i);
      i = child;
    }
    this.#time[i] = time;
    this.#cls[i] = cls;
    this.#order[i] = seq;
    this.#kind[i] = kind;
    this.#payload[i] = payload;
    return true;
  }

  /** (time, cls, seq) < entry j */
  #less(time: number, cls: number, seq: number, j: number): boolean {
    const tj = this.#time[j]!;
    if (time !== tj) return time < tj;
    const cj = this.#cls[j]!;
    if (cls !== cj) return cls < cj;
    return seq < this.#order[j]!;
  }

  /** entry j < (time, cls, seq) */
  #idxLess(j: number, time: number, cls: number, seq: number): boolean {
    const tj = this.#time[j]!;
    if (tj !== time) return tj < time;
    const cj = this.#cls[j]!;
    if (cj !== cls) return cj < cls;
    return this.#order[j]! < seq;
  }

  #lessIdx(a: number, b: number): boolean {
    return this.#idxLess(a, this.#time[b]!, this.#cls[b]!, this.#order[b]!);
  }

  #move(from: number, to: number): void {
    this.#time[to] = this.#time[from]!;
    this.#cls[to] = this.#cls[from]!;
    this.#order[to] = this.#order[from]!;
    this.#kind[to] = this.#kind[from]!;
    this.#payload[to] = this.#payload[from]!;
  }

  #grow(): void {
    const n = this.#time.length * 2;
    const grow = <T extends Float64Array | Uint8Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.#time = grow(this.#time, (k) => new Float64Array(k));
    this.#order = grow(this.#order, (k) => new Float64Array(k));
    this.#cls = grow(this.#cls, (k) => new Uint8Array(k));
    this.#kind = grow(this.#kind, (k) => new Uint8Array(k));
    this.#payload = grow(this.#payload, (k) => new Int32Array(k));
  }
}
