import { LakeError } from '../../errors.js';
import { ShmExhaustedError } from './errors.js';
import {
  ALIGNMENT,
  ALLOCATIONS,
  ARENA_MAGIC,
  BIN_COUNT,
  BIN_HEADS,
  BIN_MAP,
  BLOCK_BYTES_IN_USE,
  BLOCK_PHASE,
  CONTROL_BYTES,
  FAILURES,
  FREE_BLOCKS,
  FREES,
  HEAP_END,
  HEAP_START,
  LIVE_BLOCKS,
  LOCK,
  MAGIC,
  MAX_ARENA_BYTES,
  MIN_BLOCK,
  TAG_ALLOCATED,
  TAG_BYTES,
  TAG_FREE,
  TAG_MARKER,
  TOTAL_BYTES,
} from './layout.js';
import { ShmLock } from './lock.js';

/** A handle is the byte offset of a payload in the arena's SharedArrayBuffer (64-byte aligned, never 0). */
export type ShmHandle = number;

export interface ShmStats {
  /** Size of the SharedArrayBuffer. */
  totalBytes: number;
  /** Bytes of the heap (every block, headers and footers included). */
  heapBytes: number;
  /** Bytes of allocated blocks, headers and footers included. */
  bytesInUse: number;
  bytesFree: number;
  /** The largest payload one allocation could get now. */
  largestFreeBlock: number;
  liveBlocks: number;
  freeBlocks: number;
  allocations: number;
  frees: number;
  failures: number;
}

/** One block of the heap, as walk() reports it. */
export interface ShmBlock {
  handle: ShmHandle;
  /** Payload bytes the block can hold. */
  capacity: number;
  allocated: boolean;
}

export interface ShmArenaOptions {
  /** Heap bytes wanted (rounded up to 64); the buffer adds a small control area. */
  bytes: number;
}

/**
 * lakeShm: a SharedArrayBuffer arena with a thread-safe allocator, after LAKE's shared DMA region.
 *
 * Blocks carry boundary tags: an 8-byte header and an 8-byte footer, each [size, tag], so that free()
 * finds both neighbours in O(1) and merges free ones at once (the heap never holds two adjacent free
 * blocks). Free blocks sit in 20 segregated lists by size class (class k holds sizes in [64*2^k,
 * 64*2^(k+1)); the last takes everything larger) with a bitmap of non-empty classes, so a fit is a scan of
 * one list or the head of a larger class. A block starts 8 bytes before a 64-byte boundary, so every
 * payload (the handle) is 64-byte aligned. Every thread that attaches the buffer shares one lock word.
 */
export class ShmArena {
  readonly buffer: SharedArrayBuffer;
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #lock: ShmLock;
  readonly #heapStart: number;
  readonly #heapEnd: number;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#words = new Int32Array(buffer);
    this.#bytes = new Uint8Array(buffer);
    this.#lock = new ShmLock(this.#words, LOCK);
    this.#heapStart = this.#words[HEAP_START]!;
    this.#heapEnd = this.#words[HEAP_END]!;
  }

  /** A new arena holding at least `options.bytes` of heap. */
  static create(options: ShmArenaOptions): ShmArena {
    const { bytes } = options;
    if (!Number.isSafeInteger(bytes) || bytes < MIN_BLOCK || bytes > MAX_ARENA_BYTES) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `options.bytes must be an integer in [${MIN_BLOCK}, ${MAX_ARENA_BYTES}], got ${bytes}`,
      );
    }
    // Heap: one free block from heapStart (= CONTROL_BYTES + 56, after the prologue footer) to heapEnd,
    // then the 8-byte epilogue header; heapEnd keeps the block phase, so the total is a multiple of 64.
    const heapBytes = roundUp(bytes, ALIGNMENT) + ALIGNMENT;
    const heapStart = CONTROL_BYTES + BLOCK_PHASE;
    const heapEnd = heapStart + heapBytes;
    const buffer = new SharedArrayBuffer(heapEnd + TAG_BYTES);
    const words = new Int32Array(buffer);
    words[MAGIC] = ARENA_MAGIC;
    words[TOTAL_BYTES] = buffer.byteLength;
    words[HEAP_START] = heapStart;
    words[HEAP_END] = heapEnd;
    // Prologue footer and epilogue header look allocated, so coalescing stops at the heap's ends.
    setTag(words, heapStart - TAG_BYTES, 0, TAG_ALLOCATED);
    setTag(words, heapEnd, 0, TAG_ALLOCATED);
    const arena = new ShmArena(buffer);
    arena.#lock.with(() => {
      arena.#writeBlock(heapStart, heapBytes, TAG_FREE);
      arena.#insertFree(heapStart);
    });
    return arena;
  }

  /** The arena living in `buffer` (created by another thread). */
  static attach(buffer: SharedArrayBuffer): ShmArena {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < CONTROL_BYTES) {
      throw new LakeError('LAKE_E_USAGE', 'ShmArena.attach needs the SharedArrayBuffer of an arena');
    }
    if (Atomics.load(new Int32Array(buffer), MAGIC) !== ARENA_MAGIC) {
      throw new LakeError('LAKE_E_USAGE', 'ShmArena.attach: the buffer is not a lakeShm arena (bad magic)');
    }
    return new ShmArena(buffer);
  }

  get totalBytes(): number {
    return this.buffer.byteLength;
  }

  /**
   * A block whose payload holds at least `bytes` (64-byte aligned). Throws ShmExhaustedError when no free
   * block is large enough; callers on a hot path use tryAlloc.
   */
  alloc(bytes: number): ShmHandle {
    const handle = this.tryAlloc(bytes);
    if (handle === 0) throw new ShmExhaustedError(bytes, this.stats().largestFreeBlock, this.totalBytes);
    return handle;
  }

  /** As alloc, but 0 when the arena cannot hold the request (counted as a failure). */
  tryAlloc(bytes: number): ShmHandle {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `an allocation must be a non-negative integer of bytes, got ${bytes}`,
      );
    }
    if (bytes > MAX_ARENA_BYTES) {
      this.#lock.with(() => this.#count(FAILURES, 1));
      return 0;
    }
    const size = Math.max(MIN_BLOCK, roundUp(bytes + 2 * TAG_BYTES, ALIGNMENT));
    this.#lock.lock();
    try {
      const block = this.#findFit(size);
      if (block === 0) {
        this.#count(FAILURES, 1);
        return 0;
      }
      this.#removeFree(block);
      const blockSize = this.#words[block >> 2]!;
      const rest = blockSize - size;
      if (rest >= MIN_BLOCK) {
        this.#writeBlock(block + size, rest, TAG_FREE);
        this.#insertFree(block + size);
        this.#writeBlock(block, size, TAG_ALLOCATED);
      } else {
        this.#writeBlock(block, blockSize, TAG_ALLOCATED);
      }
      const words = this.#words;
      words[BLOCK_BYTES_IN_USE] = words[BLOCK_BYTES_IN_USE]! + words[block >> 2]!;
      this.#count(ALLOCATIONS, 1);
      this.#count(LIVE_BLOCKS, 1);
      return block + TAG_BYTES;
    } finally {
      this.#lock.unlock();
    }
  }

  /** Returns a block; its free neighbours merge with it at once. Throws on a bad or already freed handle. */
  free(handle: ShmHandle): void {
    this.#lock.lock();
    try {
      let block = this.#checkedBlock(handle, 'free');
      const words = this.#words;
      let size = words[block >> 2]!;
      words[BLOCK_BYTES_IN_USE] = words[BLOCK_BYTES_IN_USE]! - size;
      this.#count(FREES, 1);
      this.#count(LIVE_BLOCKS, -1);
      const next = block + size;
      if (words[(next >> 2) + 1] === (TAG_MARKER | TAG_FREE)) {
        this.#removeFree(next);
        size += words[next >> 2]!;
      }
      const previousFooter = block - TAG_BYTES;
      if (words[(previousFooter >> 2) + 1] === (TAG_MARKER | TAG_FREE)) {
        const previous = block - words[previousFooter >> 2]!;
        this.#removeFree(previous);
        size += block - previous;
        block = previous;
      }
      this.#writeBlock(block, size, TAG_FREE);
      this.#insertFree(block);
    } finally {
      this.#lock.unlock();
    }
  }

  /** Payload bytes the block at `handle` holds (at least what was asked). */
  capacity(handle: ShmHandle): number {
    return this.#lock.with(() => this.#words[this.#checkedBlock(handle, 'capacity') >> 2]! - 2 * TAG_BYTES);
  }

  /** Whether `[offset, offset + bytes)` lies inside the heap (not whether it is allocated). */
  inHeap(offset: number, bytes: number): boolean {
    return (
      Number.isSafeInteger(offset) &&
      Number.isSafeInteger(bytes) &&
      bytes >= 0 &&
      offset >= this.#heapStart &&
      offset + bytes <= this.#heapEnd
    );
  }

  /** A view of `length` bytes at `offset` (a handle or an offset inside a block). */
  bytes(offset: number, length: number): Uint8Array {
    this.#checkRange(offset, length, 1);
    return new Uint8Array(this.buffer, offset, length);
  }

  f32(offset: number, count: number): Float32Array {
    this.#checkRange(offset, count * 4, 4);
    return new Float32Array(this.buffer, offset, count);
  }

  f64(offset: number, count: number): Float64Array {
    this.#checkRange(offset, count * 8, 8);
    return new Float64Array(this.buffer, offset, count);
  }

  i32(offset: number, count: number): Int32Array {
    this.#checkRange(offset, count * 4, 4);
    return new Int32Array(this.buffer, offset, count);
  }

  /** Copies `bytes` bytes inside the arena (memmove semantics). */
  copy(destination: number, source: number, bytes: number): void {
    this.#checkRange(destination, bytes, 1);
    this.#checkRange(source, bytes, 1);
    this.#bytes.copyWithin(destination, source, source + bytes);
  }

  stats(): ShmStats {
    return this.#lock.with(() => {
      const words = this.#words;
      const heapBytes = this.#heapEnd - this.#heapStart;
      const bytesInUse = words[BLOCK_BYTES_IN_USE]!;
      return {
        totalBytes: this.totalBytes,
        heapBytes,
        bytesInUse,
        bytesFree: heapBytes - bytesInUse,
        largestFreeBlock: this.#largestFree(),
        liveBlocks: words[LIVE_BLOCKS]!,
        freeBlocks: words[FREE_BLOCKS]!,
        allocations: words[ALLOCATIONS]! >>> 0,
        frees: words[FREES]! >>> 0,
        failures: words[FAILURES]! >>> 0,
      };
    });
  }

  /**
   * Every block in address order, after checking the heap's invariants (tags match, sizes tile the heap,
   * no two free blocks adjacent, each free block in exactly the list of its class). For tests and debugging;
   * throws LAKE_E_INTERNAL naming the first broken invariant.
   */
  walk(): ShmBlock[] {
    return this.#lock.with(() => {
      const words = this.#words;
      const fail = (message: string): never => {
        throw new LakeError('LAKE_E_INTERNAL', `lakeShm heap corrupt: ${message}`);
      };
      const blocks: ShmBlock[] = [];
      const freeSet = new Set<number>();
      let previousFree = false;
      let block = this.#heapStart;
      while (block < this.#heapEnd) {
        const size = words[block >> 2]!;
        const tag = words[(block >> 2) + 1]!;
        if (size < MIN_BLOCK || size % ALIGNMENT !== 0 || block + size > this.#heapEnd) {
          fail(`block at ${block} has size ${size}`);
        }
        const footer = block + size - TAG_BYTES;
        if (words[footer >> 2] !== size || words[(footer >> 2) + 1] !== tag)
          fail(`block at ${block}: footer differs`);
        if ((tag & ~1) !== TAG_MARKER) fail(`block at ${block}: bad tag ${tag}`);
        const allocated = (tag & 1) === TAG_ALLOCATED;
        if (!allocated) {
          if (previousFree) fail(`two adjacent free blocks end at ${block}`);
          freeSet.add(block);
        }
        previousFree = !allocated;
        blocks.push({ handle: block + TAG_BYTES, capacity: size - 2 * TAG_BYTES, allocated });
        block += size;
      }
      if (block !== this.#heapEnd) fail(`blocks end at ${block}, heap at ${this.#heapEnd}`);
      let listed = 0;
      for (let bin = 0; bin < BIN_COUNT; bin++) {
        const nonEmpty = (words[BIN_MAP]! & (1 << bin)) !== 0;
        if (nonEmpty !== (words[BIN_HEADS + bin] !== 0)) fail(`bin ${bin}: bitmap disagrees with its list`);
        for (let b = words[BIN_HEADS + bin]!; b !== 0; b = words[(b >> 2) + 2]!) {
          if (!freeSet.has(b)) fail(`bin ${bin} lists ${b}, not a free block`);
          if (binOf(words[b >> 2]!) !== bin) fail(`block ${b} of size ${words[b >> 2]} listed in bin ${bin}`);
          if (++listed > freeSet.size) fail(`bin ${bin}: list loops`);
        }
      }
      if (listed !== freeSet.size) fail(`${freeSet.size} free blocks, ${listed} listed`);
      if (words[FREE_BLOCKS] !== freeSet.size)
        fail(`free-block count ${words[FREE_BLOCKS]}, found ${freeSet.size}`);
      return blocks;
    });
  }

  // --- internals; callers hold the lock ---

  #checkRange(offset: number, length: number, align: number): void {
    if (!Number.isSafeInteger(length) || length < 0 || !this.inHeap(offset, length) || offset % align !== 0) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `lakeShm range [${offset}, ${offset}+${length}) is not inside the heap [${this.#heapStart}, ${this.#heapEnd})` +
          (offset % align !== 0 ? ` or not ${align}-byte aligned` : ''),
      );
    }
  }

  #checkedBlock(handle: ShmHandle, what: string): number {
    const block = handle - TAG_BYTES;
    if (
      !Number.isSafeInteger(handle) ||
      handle % ALIGNMENT !== 0 ||
      block < this.#heapStart ||
      block >= this.#heapEnd
    ) {
      throw new LakeError('LAKE_E_USAGE', `${what}: ${handle} is not a lakeShm handle`);
    }
    const tag = this.#words[(block >> 2) + 1]!;
    if (tag === (TAG_MARKER | TAG_FREE))
      throw new LakeError('LAKE_E_USAGE', `${what}: block ${handle} is not allocated (double free?)`);
    if (tag !== (TAG_MARKER | TAG_ALLOCATED))
      throw new LakeError('LAKE_E_USAGE', `${what}: ${handle} is not a lakeShm handle`);
    return block;
  }

  #findFit(size: number): number {
    const words = this.#words;
    const bin = binOf(size);
    for (let b = words[BIN_HEADS + bin]!; b !== 0; b = words[(b >> 2) + 2]!) {
      if (words[b >> 2]! >= size) return b;
    }
    // Any block of a larger class fits (its class starts above `size`), except in the last, open class.
    let larger = words[BIN_MAP]! & ~((2 << bin) - 1);
    while (larger !== 0) {
      const next = 31 - Math.clz32(larger & -larger);
      for (let b = words[BIN_HEADS + next]!; b !== 0; b = words[(b >> 2) + 2]!) {
        if (words[b >> 2]! >= size) return b;
      }
      larger &= larger - 1;
    }
    return 0;
  }

  #largestFree(): number {
    const words = this.#words;
    const map = words[BIN_MAP]!;
    if (map === 0) return 0;
    const bin = 31 - Math.clz32(map);
    let largest = 0;
    for (let b = words[BIN_HEADS + bin]!; b !== 0; b = words[(b >> 2) + 2]!)
      largest = Math.max(largest, words[b >> 2]!);
    return largest - 2 * TAG_BYTES;
  }

  #writeBlock(block: number, size: number, allocated: number): void {
    setTag(this.#words, block, size, allocated);
    setTag(this.#words, block + size - TAG_BYTES, size, allocated);
  }

  /** A free block's list links live in its payload: word +2 next, word +3 previous (0 = none). */
  #insertFree(block: number): void {
    const words = this.#words;
    const bin = binOf(words[block >> 2]!);
    const head = words[BIN_HEADS + bin]!;
    words[(block >> 2) + 2] = head;
    words[(block >> 2) + 3] = 0;
    if (head !== 0) words[(head >> 2) + 3] = block;
    words[BIN_HEADS + bin] = block;
    words[BIN_MAP] = words[BIN_MAP]! | (1 << bin);
    words[FREE_BLOCKS] = words[FREE_BLOCKS]! + 1;
  }

  #removeFree(block: number): void {
    const words = this.#words;
    const bin = binOf(words[block >> 2]!);
    const next = words[(block >> 2) + 2]!;
    const previous = words[(block >> 2) + 3]!;
    if (previous === 0) words[BIN_HEADS + bin] = next;
    else words[(previous >> 2) + 2] = next;
    if (next !== 0) words[(next >> 2) + 3] = previous;
    if (words[BIN_HEADS + bin] === 0) words[BIN_MAP] = words[BIN_MAP]! & ~(1 << bin);
    words[FREE_BLOCKS] = words[FREE_BLOCKS]! - 1;
  }

  #count(index: number, delta: number): void {
    this.#words[index] = (this.#words[index]! + delta) | 0;
  }
}

function setTag(words: Int32Array, offset: number, size: number, allocated: number): void {
  words[offset >> 2] = size;
  words[(offset >> 2) + 1] = TAG_MARKER | allocated;
}

function binOf(size: number): number {
  return Math.min(BIN_COUNT - 1, 31 - Math.clz32(size >>> 6));
}

function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}
