/**
 * Opening the devices a user names for a replay, with the safety rules of a tool that writes to disks:
 * - only the named paths are opened, and only they are ever written;
 * - a path that does not exist is created as a file of exactly `sizeBytes` (filled with data, because
 *   reads of a sparse file's holes never reach the disk), built under a temporary name beside it and
 *   linked into place, so a failure never leaves a half-made image;
 * - an existing file is never extended or truncated: a different `sizeBytes` is an error;
 * - block devices are written only with `allowBlockWrites`, and never while they or one of their
 *   partitions are mounted or used for swap;
 * - O_DIRECT where the file system allows it; elsewhere (tmpfs) buffered I/O with a warning, or an error
 *   when direct I/O was demanded.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { LakeError, usageError } from '../errors.js';
import { probeAlignedBuffer, probeBlockBytes } from './align.js';
import { type BackingDevice, fillPattern, O_DIRECT, RealDevice } from './device.js';
import { nativeIo } from './native.js';

export type DirectMode = 'auto' | 'on' | 'off';

export interface OpenDevicesOptions {
  /** Size of files to create; when given, files that exist must have exactly this size. */
  sizeBytes?: number;
  /** Open for writing (the workload has writes). Read-only otherwise. */
  write?: boolean;
  /** Let writes reach block devices (never mounted ones). */
  allowBlockWrites?: boolean;
  /** O_DIRECT: 'auto' (default) falls back to buffered I/O with a warning where the file system refuses it. */
  direct?: DirectMode;
  /** Fill created files with data (default true). */
  fill?: boolean;
  onWarning?: (message: string) => void;
}

/** The smallest device lake replays on: room for alignment probes and a few blocks. */
export const MIN_DEVICE_BYTES = 64 * 1024;
const FILL_CHUNK = 1 << 20;

/** Parses a byte size: an integer with an optional K, M, G or T suffix (powers of 1024; "KiB", "KB" too). */
export function parseByteSize(text: string, what = '--size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (m === null) throw usageError(`${what} must be a byte count like 1073741824, 512M or 1G, got "${text}"`);
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase()] ?? 1;
  const bytes = Math.round(Number(m[1]) * scale);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw usageError(`${what} must be positive, got "${text}"`);
  return bytes;
}

/** Opens (creating where needed) every named device; on any failure closes what it opened. */
export function openDevices(paths: readonly string[], options: OpenDevicesOptions = {}): RealDevice[] {
  if (paths.length === 0) throw usageError('--devices must name at least one file or block device');
  const seen = new Map<string, string>();
  for (const path of paths) {
    const key = existsSync(path) ? realpathSync(path) : resolve(path);
    const other = seen.get(key);
    if (other !== undefined) throw usageError(`--devices names ${other} and ${path}: the same device twice`);
    seen.set(key, path);
  }
  const opened: RealDevice[] = [];
  try {
    paths.forEach((path, index) => {
      opened.push(openDevice(path, index, options));
    });
  } catch (error) {
    for (const d of opened) d.close();
    throw error;
  }
  return opened;
}

export function closeDevices(devices: readonly RealDevice[]): void {
  for (const d of devices) d.close();
}

function openDevice(path: string, index: number, options: OpenDevicesOptions): RealDevice {
  const warn = options.onWarning ?? (() => undefined);
  let created = false;
  if (!existsSync(path)) {
    if (options.sizeBytes === undefined)
      throw usageError(`${path} does not exist: give --size to create it as an image file`);
    createImage(path, options.sizeBytes, options.fill ?? true);
    created = true;
  }
  const stats = statSync(path);
  let kind: 'file' | 'block';
  let capacityBytes: number;
  let backing: BackingDevice | undefined;
  if (stats.isFile()) {
    kind = 'file';
    capacityBytes = stats.size;
    if (options.sizeBytes !== undefined && stats.size !== options.sizeBytes) {
      throw usageError(
        `${path} exists with ${stats.size} bytes, not --size ${options.sizeBytes}: lake never resizes an existing file (remove it, or drop --size)`,
      );
    }
    if (!created && stats.blocks * 512 < stats.size * 0.9)
      warn(`${path} is sparse: reads of its holes never reach the disk and measure nothing`);
    backing = splitDev(stats.dev);
  } else if (stats.isBlockDevice()) {
    kind = 'block';
    backing = splitDev(stats.rdev);
    capacityBytes = blockDeviceBytes(path, backing);
    if (options.sizeBytes !== undefined) {
      if (options.sizeBytes > capacityBytes)
        throw usageError(`${path} holds ${capacityBytes} bytes, less than --size ${options.sizeBytes}`);
      capacityBytes = options.sizeBytes;
    }
    if (options.write === true) checkBlockWritable(path, backing, options.allowBlockWrites === true);
  } else {
    throw usageError(`${path} is neither a regular file nor a block device`);
  }
  if (capacityBytes < MIN_DEVICE_BYTES)
    throw usageError(`${path} has ${capacityBytes} bytes: a device needs at least ${MIN_DEVICE_BYTES}`);

  const write = options.write === true;
  const mode = options.direct ?? 'auto';
  const access = write ? 'r+' : 'r';
  let fd: number;
  let direct = false;
  if (mode !== 'off' && O_DIRECT !== undefined) {
    try {
      fd = openSync(path, (write ? openFlags.rw : openFlags.ro) | O_DIRECT);
      direct = true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EINVAL' || mode === 'on') throw openError(path, error);
      fd = openSync(path, access);
    }
  } else {
    if (mode === 'on') throw usageError(`${path}: O_DIRECT is not available on this platform`);
    fd = openSafely(path, access);
  }
  try {
    let blockBytes = 512;
    if (direct) {
      const probed = probeDirect(fd, path, capacityBytes);
      if (probed === undefined) {
        if (mode === 'on') throw usageError(`${path}: the file system refuses O_DIRECT transfers`);
        closeSync(fd);
        fd = openSync(path, access);
        direct = false;
      } else {
        blockBytes = probed;
      }
    }
    if (!direct && mode !== 'off')
      warn(
        `${path}: O_DIRECT is not supported here (tmpfs?); replaying with buffered I/O, latencies are the page cache's`,
      );
    capacityBytes -= capacityBytes % blockBytes;
    return new RealDevice({
      index,
      path,
      kind,
      fd,
      capacityBytes,
      blockBytes,
      direct,
      writable: write,
      created,
      backing,
    });
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

const openFlags = {
  ro: 0, // O_RDONLY
  rw: 2, // O_RDWR
};

function openSafely(path: string, access: 'r' | 'r+'): number {
  try {
    return openSync(path, access);
  } catch (error) {
    throw openError(path, error);
  }
}

function openError(path: string, error: unknown): LakeError {
  return new LakeError('LAKE_E_IO', `${path}: cannot open: ${(error as Error).message}`, { cause: error });
}

/**
 * The logical block size O_DIRECT transfers need on `fd`, or undefined when the file system accepted the
 * open but refuses O_DIRECT transfers (EINVAL at every alignment).
 */
function probeDirect(fd: number, path: string, capacityBytes: number): number | undefined {
  const io = nativeIo();
  if (io !== undefined) {
    const read = (offset: number, size: number): 'ok' | 'EINVAL' => {
      const [res] = io.pread(fd, offset, size, 4096);
      if (res >= 0) return 'ok';
      if (res === -22) return 'EINVAL';
      throw new LakeError('LAKE_E_IO', `${path}: probing O_DIRECT: errno ${-res}`);
    };
    if (read(0, 4096) === 'EINVAL') return undefined;
    return probeBlockBytes(read, capacityBytes);
  }
  let buffer: Buffer;
  try {
    buffer = probeAlignedBuffer(fd, 8192, 8192, path);
  } catch (error) {
    if (error instanceof LakeError && /EINVAL at every offset/.test(error.message)) return undefined;
    throw error;
  }
  return probeBlockBytes((offset, size) => {
    try {
      readSync(fd, buffer, 0, size, offset);
      return 'ok';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EINVAL') return 'EINVAL';
      throw new LakeError('LAKE_E_IO', `${path}: probing O_DIRECT: ${(error as Error).message}`);
    }
  }, capacityBytes);
}

let temporaryCounter = 0;

/** Creates `path` with `sizeBytes` bytes of data, atomically: it appears complete or not at all. */
function createImage(path: string, sizeBytes: number, fill: boolean): void {
  if (sizeBytes < MIN_DEVICE_BYTES)
    throw usageError(`--size ${sizeBytes} is too small: a device needs at least ${MIN_DEVICE_BYTES} bytes`);
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${temporaryCounter++}.tmp`);
  let fd: number;
  try {
    fd = openSync(temporary, 'wx');
  } catch (error) {
    throw new LakeError('LAKE_E_IO', `${path}: cannot create ${temporary}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    const chunk = Buffer.alloc(FILL_CHUNK);
    fillPattern(chunk, sizeBytes % 65521);
    let written = 0;
    let n = 0;
    while (written < sizeBytes) {
      const bytes = Math.min(FILL_CHUNK, sizeBytes - written);
      // A different first word in every 4 KiB block, so no two blocks of the image are equal.
      for (let i = 0; i < bytes; i += 4096) chunk.writeUInt32LE((n * 256 + i / 4096) >>> 0, i);
      if (fill || written + bytes === sizeBytes) writeAll(fd, chunk, bytes, written);
      written += bytes;
      n++;
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    linkSync(temporary, path);
  } catch (error) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(temporary);
    } catch {
      // already gone
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw usageError(`${path} appeared while lake was creating it: not touched`);
    throw new LakeError('LAKE_E_IO', `${path}: cannot create the image: ${(error as Error).message}`, {
      cause: error,
    });
  }
  unlinkSync(temporary);
}

function writeAll(fd: number, buffer: Buffer, bytes: number, position: number): void {
  let done = 0;
  while (done < bytes) done += writeSync(fd, buffer, done, bytes - done, position + done);
}

/** Linux dev_t -> major:minor (glibc's encoding). */
export function splitDev(dev: number): BackingDevice {
  const high = Math.floor(dev / 2 ** 32);
  const low = dev >>> 0;
  return {
    major: ((low >>> 8) & 0xfff) | ((high & 0xfffff000) >>> 0),
    minor: (low & 0xff) | ((low >>> 12) & 0xfff00),
  };
}

function blockDeviceBytes(path: string, dev: BackingDevice): number {
  try {
    const sectors = Number(readFileSync(`/sys/dev/block/${dev.major}:${dev.minor}/size`, 'utf8').trim());
    if (Number.isSafeInteger(sectors) && sectors > 0) return sectors * 512;
  } catch {
    // fall through to the error
  }
  throw new LakeError(
    'LAKE_E_IO',
    `${path}: cannot read its size from /sys/dev/block/${dev.major}:${dev.minor}/size`,
  );
}

/** Refuses writes to block devices unless allowed, and always while the device or a partition is in use. */
function checkBlockWritable(path: string, dev: BackingDevice, allowed: boolean): void {
  if (!allowed) {
    throw usageError(
      `${path} is a block device and the workload writes: its data would be overwritten. Pass --allow-block-writes to agree`,
    );
  }
  const ids = new Set<string>([`${dev.major}:${dev.minor}`]);
  const sys = `/sys/dev/block/${dev.major}:${dev.minor}`;
  try {
    const name = basename(realpathSync(sys));
    for (const entry of readdirSync(sys)) {
      if (!entry.startsWith(name)) continue;
      try {
        ids.add(readFileSync(join(sys, entry, 'dev'), 'utf8').trim());
      } catch {
        // not a partition
      }
    }
  } catch {
    // no sysfs: check the device itself only
  }
  const busy: string[] = [];
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const fields = line.split(' ');
      if (fields[2] !== undefined && ids.has(fields[2])) busy.push(`mounted on ${fields[4]}`);
    }
  } catch {
    // no procfs
  }
  try {
    for (const line of readFileSync('/proc/swaps', 'utf8').split('\n').slice(1)) {
      const device = line.split(/\s+/)[0];
      if (device === undefined || device === '') continue;
      try {
        const s: Stats = statSync(device);
        if (s.isBlockDevice()) {
          const d = splitDev(s.rdev);
          if (ids.has(`${d.major}:${d.minor}`)) busy.push('used for swap');
        }
      } catch {
        // gone
      }
    }
  } catch {
    // no procfs
  }
  if (busy.length > 0)
    throw usageError(`${path} (or a partition of it) is ${busy.join(', ')}: lake never writes to it`);
}
