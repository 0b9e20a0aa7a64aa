import { PtxFault } from './fault.js';

/**
 * The state a decoded instruction works on: one thread's registers, and the launch's memories (the
 * kernel parameters, the block's shared window with its race tracker, the driver's global allocations).
 */

/** What an instruction returns instead of the next pc when the thread must wait or has ended. */
export const WAIT_BARRIER = -1;
export const WAIT_SHUFFLE = -2;
export const EXITED = -3;

export interface ThreadState {
  /** %tid.x. */
  readonly tid: number;
  /** b32 and pred registers one slot each, b64 two (low word first); immediates and special registers too. */
  readonly ints: Int32Array;
  /** f32 and f64 registers (f32 values are always f32-representable). */
  readonly floats: Float64Array;
  /** Per register ordinal: 1 once written (constants start written). */
  readonly written: Uint8Array;
  pc: number;
  /** A thread waiting at shfl.sync: its source value, lane delta, clamp word and member mask. */
  shuffleValue: number;
  shuffleDelta: number;
  shuffleClamp: number;
  shuffleMask: number;
}

/** Device memory the launch may touch: the driver's allocations (base address and bytes). */
export interface GlobalRegion {
  readonly base: number;
  readonly bytes: Uint8Array;
}

export class GlobalMemory {
  readonly #regions: { base: number; end: number; view: DataView }[];
  #last = 0;
  /** Set by locate(): the byte offset of the located address inside the returned view. */
  offset = 0;

  constructor(regions: readonly GlobalRegion[]) {
    this.#regions = regions.map((r) => ({
      base: r.base,
      end: r.base + r.bytes.length,
      view: new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.length),
    }));
  }

  /** The view holding [address, address + bytes), or undefined when no allocation holds all of it. */
  locate(address: number, bytes: number): DataView | undefined {
    const last = this.#regions[this.#last];
    if (last !== undefined && address >= last.base && address + bytes <= last.end) {
      this.offset = address - last.base;
      return last.view;
    }
    for (let i = 0; i < this.#regions.length; i++) {
      const r = this.#regions[i]!;
      if (address >= r.base && address + bytes <= r.end) {
        this.#last = i;
        this.offset = address - r.base;
        return r.view;
      }
    }
    return undefined;
  }
}

/**
 * The block's shared window, with two checks. A read of a byte no thread of the block has written yet
 * (shared memory starts as garbage). Race detection: per byte, the last writer and the reader(s) in the current barrier
 * interval (an epoch that bar.sync advances). Two different threads touching a byte in one interval, at
 * least one writing, is a race: without a barrier between them their order is undefined. Two threads
 * writing the same value to a byte is not reported (the result is the same in any order, the idiom of a
 * flag set by whichever threads see a condition).
 */
export class SharedMemory {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly size: number;
  #epoch = 1;
  /** The epoch the block in hand started at: a byte last written before it holds garbage. */
  #blockEpoch = 1;
  /** The first read of a never-written byte in this interval; a fault unless a race explains it. */
  #unwrittenRead: { byte: number; line: number; message: string } | undefined;
  readonly #writeEpoch: Uint32Array;
  readonly #writer: Int32Array;
  readonly #writeLine: Int32Array;
  readonly #readEpoch: Uint32Array;
  /** The first thread that read the byte this interval, and whether another thread read it too. */
  readonly #reader: Int32Array;
  readonly #manyReaders: Uint8Array;
  readonly #readLine: Int32Array;

  constructor(size: number) {
    this.size = size;
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
    this.#writeEpoch = new Uint32Array(size);
    this.#writer = new Int32Array(size);
    this.#writeLine = new Int32Array(size);
    this.#readEpoch = new Uint32Array(size);
    this.#reader = new Int32Array(size);
    this.#manyReaders = new Uint8Array(size);
    this.#readLine = new Int32Array(size);
  }

  /** A new block: shared memory holds garbage on a GPU, so a fixed non-zero pattern rather than zeros. */
  reset(): void {
    this.bytes.fill(0xa5);
    this.#epoch++;
    this.#blockEpoch = this.#epoch;
    this.#unwrittenRead = undefined;
  }

  /** bar.sync released the block: accesses before it are ordered before every access after it. */
  barrier(): void {
    this.endInterval();
    this.#epoch++;
  }

  /** A barrier interval ends (bar.sync, or the block's last thread exits): unexplained garbage reads fault. */
  endInterval(): void {
    const read = this.#unwrittenRead;
    this.#unwrittenRead = undefined;
    if (read !== undefined) throw new PtxFault('uninitialised', read.line, read.message);
  }

  read(t: ThreadState, address: number, size: number, line: number, where: (t: ThreadState) => string): void {
    const tid = t.tid;
    const epoch = this.#epoch;
    for (let b = address; b < address + size; b++) {
      // Garbage, unless another thread writes it in this interval (then it is a race, reported then).
      if (this.#writeEpoch[b]! < this.#blockEpoch && this.#unwrittenRead === undefined) {
        this.#unwrittenRead = {
          byte: b,
          line,
          message: `${where(t)}: reads shared byte ${b}, which no thread of this block has written`,
        };
      }
      if (this.#writeEpoch[b] === epoch && this.#writer[b] !== tid) {
        throw race(where(t), `reads shared byte ${b}`, this.#writer[b]!, 'wrote', this.#writeLine[b]!, line);
      }
      if (this.#readEpoch[b] !== epoch) {
        this.#readEpoch[b] = epoch;
        this.#reader[b] = tid;
        this.#readLine[b] = line;
        this.#manyReaders[b] = 0;
      } else if (this.#reader[b] !== tid) this.#manyReaders[b] = 1;
    }
  }

  /** Checks and performs a store of `size` bytes from `source`. */
  write(
    t: ThreadState,
    address: number,
    source: Uint8Array,
    size: number,
    line: number,
    where: (t: ThreadState) => string,
  ): void {
    const tid = t.tid;
    const epoch = this.#epoch;
    for (let i = 0; i < size; i++) {
      const b = address + i;
      const reader = this.#reader[b]!;
      if (this.#readEpoch[b] === epoch && (reader !== tid || this.#manyReaders[b] === 1)) {
        const other = reader !== tid ? `thread ${reader}` : `thread ${tid} and another thread`;
        throw new PtxFault(
          'race',
          line,
          `${where(t)}: shared-memory race: writes shared byte ${b} that ${other} read (line ${this.#readLine[b]}) in the same barrier interval`,
        );
      }
      if (this.#writeEpoch[b] === epoch && this.#writer[b] !== tid && this.bytes[b] !== source[i]) {
        throw race(where(t), `writes shared byte ${b}`, this.#writer[b]!, 'wrote', this.#writeLine[b]!, line);
      }
      this.#writeEpoch[b] = epoch;
      this.#writer[b] = tid;
      this.#writeLine[b] = line;
      this.bytes[b] = source[i]!;
    }
  }
}

function race(
  where: string,
  what: string,
  other: number,
  did: string,
  otherLine: number,
  line: number,
): PtxFault {
  return new PtxFault(
    'race',
    line,
    `${where}: shared-memory race: ${what} that thread ${other} ${did} (line ${otherLine}) in the same barrier interval`,
  );
}

/** The launch as instructions see it: shape, block index, parameters and memories. */
export interface Machine {
  gridX: number;
  blockX: number;
  block: number;
  params: DataView;
  shared: SharedMemory;
  global: GlobalMemory;
}
