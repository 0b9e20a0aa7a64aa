/**
 * Aligned buffers without the native addon. O_DIRECT needs the user buffer's address aligned to the
 * device's DMA alignment, and Node gives no alignment guarantee for a Buffer, nor a way to read its
 * address. But the address of an ArrayBuffer's backing store never moves, and the kernel refuses a
 * misaligned O_DIRECT transfer with EINVAL before doing any I/O: so read one block through views that
 * start 0, 16, 32, ... bytes into an over-allocated buffer, and keep the first view the kernel accepts.
 * The probe must span a page boundary (8 KiB): the kernel splits transfers at pages and wants every piece
 * in whole logical blocks, so a buffer 16 bytes into a page passes a 512-byte probe and fails a 4 KiB read.
 * Every later transfer through the view found (and views a multiple of 4 KiB further on) is aligned too.
 */
import { readSync } from 'node:fs';
import { LakeError } from '../errors.js';

/** The finest step worth trying: allocators return at least 16-byte aligned memory. */
const PROBE_STEP = 16;
/** Larger than any DMA alignment a Linux block device asks for. */
const MAX_ALIGN = 4096;

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/**
 * A buffer of `bytes` bytes (rounded up to 4 KiB) whose address the device `fd`, opened with O_DIRECT,
 * accepts. `probeBytes` (a multiple of the logical block size, at most the device size) are read from
 * offset 0 while probing.
 */
export function probeAlignedBuffer(fd: number, bytes: number, probeBytes: number, path: string): Buffer {
  const length = Math.ceil(Math.max(bytes, probeBytes) / MAX_ALIGN) * MAX_ALIGN;
  const backing = Buffer.allocUnsafeSlow(length + MAX_ALIGN);
  for (let start = 0; start < MAX_ALIGN; start += PROBE_STEP) {
    try {
      readSync(fd, backing, start, probeBytes, 0);
      return backing.subarray(start, start + length);
    } catch (error) {
      if (errnoCode(error) !== 'EINVAL') {
        throw new LakeError('LAKE_E_IO', `${path}: probing O_DIRECT alignment: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
  }
  throw new LakeError(
    'LAKE_E_IO',
    `${path}: no buffer alignment up to ${MAX_ALIGN} bytes works with O_DIRECT (EINVAL at every offset)`,
  );
}

/** The smallest transfer unit (512 .. 4096 bytes) the O_DIRECT device accepts, probed with aligned reads. */
export function probeBlockBytes(
  read: (offset: number, size: number) => 'ok' | 'EINVAL',
  capacityBytes: number,
): number {
  for (let block = 512; block <= MAX_ALIGN; block *= 2) {
    if (2 * block > capacityBytes) break;
    // Offset one block in: a transfer of `block` bytes at `block` is aligned only if block is a multiple of
    // the device's logical block size.
    if (read(block, block) === 'ok') return block;
  }
  return MAX_ALIGN;
}
