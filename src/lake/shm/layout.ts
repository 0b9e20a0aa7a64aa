/**
 * Every word of a lakeShm arena's control area, by name (after piscina's symbols.ts). The control area is
 * the first CONTROL_BYTES of the SharedArrayBuffer; the heap of blocks follows it. All words are Int32 and
 * are read and written only while holding the lock at LOCK (except LOCK itself and MAGIC).
 */

/** The allocator lock (see lock.ts): 0 free, 1 held, 2 held with waiters. */
export const LOCK = 0;
/** 'LKSM': marks a buffer as an arena, checked by attach(). */
export const MAGIC = 1;
export const TOTAL_BYTES = 2;
/** Byte offset of the first block (its 8-byte header). */
export const HEAP_START = 3;
/** Byte offset of the epilogue header, just past the last block. */
export const HEAP_END = 4;
/** Bit b set iff free list b is not empty. */
export const BIN_MAP = 5;
/** Successful allocations since creation (wraps at 2^32; read as unsigned). */
export const ALLOCATIONS = 6;
export const FREES = 7;
/** Allocations refused because no free block was large enough. */
export const FAILURES = 8;
export const LIVE_BLOCKS = 9;
/** Bytes of allocated blocks, headers and footers included. */
export const BLOCK_BYTES_IN_USE = 10;
export const FREE_BLOCKS = 12;
/** First of BIN_COUNT words: the block offset heading each free list (0 = empty). */
export const BIN_HEADS = 16;

export const ARENA_MAGIC = 0x4c4b534d;
/** LAKE's allocator uses 20 segregated size classes. */
export const BIN_COUNT = 20;
export const CONTROL_BYTES = 256;

/** Payloads start on 64-byte boundaries (a cache line; what SIMD loads and a GPU upload like). */
export const ALIGNMENT = 64;
/** Header and footer are each two words: [block size in bytes, tag]. */
export const TAG_BYTES = 8;
/** The smallest block: 64 bytes = header + 48 payload bytes + footer. */
export const MIN_BLOCK = 64;
/** A block starts 8 bytes before a 64-byte boundary so that its payload starts on one. */
export const BLOCK_PHASE = ALIGNMENT - TAG_BYTES;

/** Tag of a block: a marker in the high bits (catches stray handles) and the allocated bit. */
export const TAG_MARKER = 0x4c4b0000;
export const TAG_ALLOCATED = 1;
export const TAG_FREE = 0;

/** Largest arena: offsets must stay well inside Int32. */
export const MAX_ARENA_BYTES = 1 << 30;
