/**
 * A real device — a file or a block device opened by src/realdev/open.ts — behind the same `Device`
 * interface as the simulated SSD. `submit` does the I/O there and then (a blocking pread/pwrite) and returns
 * when it completed on the caller's clock, so a real device also runs under the virtual-clock engine at
 * queue depth 1; the real-clock engine (src/realdev/engine.ts) drives it asynchronously at any queue depth
 * through an IoBackend. `peekRead` cannot be answered: a real device has no knowable future.
 */
import { closeSync, constants, readSync, writeSync } from 'node:fs';
import { LakeError } from '../errors.js';
import type { Device, SubmitResult } from '../flash/types.js';
import { probeAlignedBuffer } from './align.js';
import { nativeIo } from './native.js';
import { placedOffset, placedSize } from './place.js';

export type RealDeviceKind = 'file' | 'block';

/**
 * Alignment probes read two pages: the kernel splits a transfer at page boundaries and wants every piece
 * to be whole logical blocks, so a misaligned buffer passes a probe that fits in one page.
 */
const PROBE_BYTES = 8192;

/** The block device a path's data lives on, for the kernel's own counters (/proc/diskstats). */
export interface BackingDevice {
  major: number;
  minor: number;
}

export interface RealDeviceInit {
  index: number;
  path: string;
  kind: RealDeviceKind;
  fd: number;
  capacityBytes: number;
  blockBytes: number;
  direct: boolean;
  writable: boolean;
  created: boolean;
  backing: BackingDevice | undefined;
}

export class RealDevice implements Device {
  readonly index: number;
  readonly name: string;
  readonly path: string;
  readonly kind: RealDeviceKind;
  readonly capacityBytes: number;
  /** Transfers are whole multiples of this, at multiples of it (the logical block size under O_DIRECT). */
  readonly blockBytes: number;
  /** O_DIRECT in effect (false: buffered, the page cache answers some reads). */
  readonly direct: boolean;
  readonly writable: boolean;
  /** lake created the file (at the size asked for). */
  readonly created: boolean;
  readonly backing: BackingDevice | undefined;
  #fd: number;
  #buffer: Buffer | undefined;

  constructor(init: RealDeviceInit) {
    this.index = init.index;
    this.path = init.path;
    this.name = init.path;
    this.kind = init.kind;
    this.#fd = init.fd;
    this.capacityBytes = init.capacityBytes;
    this.blockBytes = init.blockBytes;
    this.direct = init.direct;
    this.writable = init.writable;
    this.created = init.created;
    this.backing = init.backing;
  }

  /** The open file descriptor; throws once closed. */
  get fd(): number {
    if (this.#fd < 0) throw new LakeError('LAKE_E_USAGE', `${this.path}: the device is closed`);
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Device offset and byte count a trace I/O is replayed with (see place.ts). */
  place(offset: number, size: number): { offset: number; size: number } {
    const bytes = placedSize(size, this.blockBytes, this.capacityBytes);
    return { offset: placedOffset(offset, bytes, this.blockBytes, this.capacityBytes), size: bytes };
  }

  /**
   * A buffer of at least `bytes` bytes that this device accepts for O_DIRECT transfers (any buffer when
   * buffered). Shared by every I/O on the device: a replayer never looks at the data.
   */
  transferBuffer(bytes: number): Buffer {
    if (this.#buffer === undefined || this.#buffer.length < bytes) {
      this.#buffer = this.direct
        ? probeAlignedBuffer(this.fd, bytes, PROBE_BYTES, this.path)
        : Buffer.alloc(Math.ceil(bytes / 4096) * 4096);
      fillPattern(this.#buffer, this.index);
    }
    return this.#buffer;
  }

  /** A blocking read or write at `nowUs`; completes at nowUs + the measured latency. */
  submit(read: boolean, offset: number, size: number, nowUs: number): SubmitResult {
    if (!read && !this.writable)
      throw new LakeError('LAKE_E_USAGE', `${this.path}: opened read-only, cannot write`);
    const placed = this.place(offset, size);
    const io = nativeIo();
    let latencyUs: number;
    if (io !== undefined) {
      const [res, us] = read
        ? io.pread(this.fd, placed.offset, placed.size, Math.max(this.blockBytes, 4096))
        : io.pwrite(this.fd, placed.offset, placed.size, Math.max(this.blockBytes, 4096));
      if (res < 0) throw ioError(this.path, read, placed.offset, placed.size, `errno ${-res}`);
      latencyUs = us;
    } else {
      const buffer = this.transferBuffer(placed.size);
      const started = performance.now();
      try {
        if (read) readSync(this.fd, buffer, 0, placed.size, placed.offset);
        else writeSync(this.fd, buffer, 0, placed.size, placed.offset);
      } catch (error) {
        throw ioError(this.path, read, placed.offset, placed.size, (error as Error).message);
      }
      latencyUs = (performance.now() - started) * 1000;
    }
    return { completeUs: nowUs + latencyUs, cause: 'none' };
  }

  peekRead(): number {
    throw new LakeError(
      'LAKE_E_USAGE',
      `${this.path}: a real device cannot tell a read's future latency (the greedy oracle runs on simulated devices only)`,
    );
  }

  close(): void {
    if (this.#fd >= 0) {
      closeSync(this.#fd);
      this.#fd = -1;
    }
  }
}

export function ioError(path: string, read: boolean, offset: number, size: number, why: string): LakeError {
  return new LakeError('LAKE_E_IO', `${path}: ${read ? 'read' : 'write'} of ${size} B at ${offset}: ${why}`);
}

/** Non-zero, non-repeating data for writes (zero pages may be deduplicated or unmapped by virtual disks). */
export function fillPattern(buffer: Buffer, seed: number): void {
  let x = (0x9e3779b9 ^ (seed * 0x85ebca6b)) >>> 0 || 1;
  for (let i = 0; i + 4 <= buffer.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buffer.writeUInt32LE(x >>> 0, i);
  }
}

/** O_DIRECT where the platform defines it (Linux), else undefined. */
export const O_DIRECT: number | undefined = (constants as { O_DIRECT?: number }).O_DIRECT;
