/**
 * Opening the devices a user names for a replay, with the safety rules of a tool that writes to disks:
 * - only the named paths are opened, and only they are ever written;
 * - a path that does not exist is created as an image of exactly `sizeBytes` (src/realdev/image.ts: filled
 *   with data, marked as lake's, linked into place complete; free space is checked for all of them first);
 * - an existing regular file is used only when it carries lake's mark (an image lake created), or with
 *   `allowExistingFiles` (the CLI's --allow-existing-files): anything else may be a user's data;
 * - an existing file is never extended or truncated: a different `sizeBytes` is an error;
 * - block devices are written only with `allowBlockWrites`, and never while they or one of their
 *   partitions are mounted or used for swap;
 * - O_DIRECT where the file system allows it; elsewhere (tmpfs) buffered I/O with a warning, or an error
 *   when direct I/O was demanded.
 */
import {
  closeSync,
  existsSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  type Stats,
  statSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { LakeError, toError, usageError } from '../errors.js';
import { imageMarkMismatch } from '../files/image-mark.js';
import { probeAlignedBuffer, probeBlockBytes } from './align.js';
import { type BackingDevice, O_DIRECT, RealDevice } from './device.js';
import { type CreatedImage, checkFreeSpace, createImage, MIN_DEVICE_BYTES } from './image.js';
import { nativeIo } from './native.js';

export { MIN_DEVICE_BYTES } from './image.js';

export type DirectMode = 'auto' | 'on' | 'off';

export interface OpenDevicesOptions {
  /** Size of files to create; when given, files that exist must have exactly this size. */
  sizeBytes?: number;
  /** Open for writing (the workload has writes). Read-only otherwise. */
  write?: boolean;
  /** Let writes reach block devices (never mounted ones). */
  allowBlockWrites?: boolean;
  /** Use existing regular files lake did not create (no valid mark); their data is overwritten by writes. */
  allowExistingFiles?: boolean;
  /** O_DIRECT: 'auto' (default) falls back to buffered I/O with a warning where the file system refuses it. */
  direct?: DirectMode;
  /** Fill created files with data (default true). */
  fill?: boolean;
  /** No progress bar while images are created (the CLI's --json). */
  quiet?: boolean;
  onWarning?: (message: string) => void;
}

/** Parses a byte size: an integer with an optional K, M, G or T suffix (powers of 1024; "KiB", "KB" too). */
export function parseByteSize(text: string, what = '--size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (m === null) throw usageError(`${what} must be a byte count like 1073741824, 512M or 1G, got "${text}"`);
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase()] ?? 1;
  const bytes = Math.round(Number(m[1]) * scale);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw usageError(`${what} must be positive, got "${text}"`);
  return bytes;
}

/**
 * Opens (creating where needed) every named device. Every path is checked before any image is created, and
 * the images of one call are created together or not at all: a failure, or an interrupt, removes the ones
 * this call made. On any failure the devices opened so far are closed.
 */
export async function openDevices(
  paths: readonly string[],
  options: OpenDevicesOptions = {},
): Promise<RealDevice[]> {
  if (paths.length === 0) throw usageError('--devices must name at least one file or block device');
  const seen = new Map<string, string>();
  for (const path of paths) {
    const key = existsSync(path) ? realpathSync(path) : resolve(path);
    const other = seen.get(key);
    if (other !== undefined) throw usageError(`--devices names ${other} and ${path}: the same device twice`);
    seen.set(key, path);
  }
  const missing = paths.filter((path) => !exists(path));
  for (const path of paths) if (!missing.includes(path)) checkExisting(path, options);
  if (missing.length > 0) {
    if (options.sizeBytes === undefined)
      throw usageError(`${missing[0]} does not exist: give --size to create it as an image file`);
    if (options.sizeBytes < MIN_DEVICE_BYTES)
      throw usageError(
        `--size ${options.sizeBytes} is too small: a device needs at least ${MIN_DEVICE_BYTES} bytes`,
      );
    const sizeBytes = options.sizeBytes;
    checkFreeSpace(missing.map((path) => ({ path, sizeBytes })));
  }
  const created: CreatedImage[] = [];
  const opened: RealDevice[] = [];
  try {
    for (const path of missing) {
      created.push(
        await createImage(path, options.sizeBytes!, {
          ...(options.fill !== undefined ? { fill: options.fill } : {}),
          ...(options.quiet !== undefined ? { quiet: options.quiet } : {}),
        }),
      );
    }
    paths.forEach((path, index) => {
      opened.push(openDevice(path, index, missing.includes(path), options));
    });
  } catch (error) {
    for (const d of opened) d.close();
    for (const image of created) image.remove();
    throw error;
  }
  for (const image of created) image.keep();
  return opened;
}

export function closeDevices(devices: readonly RealDevice[]): void {
  for (const d of devices) d.close();
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
  } catch {
    return false;
  }
  if (!existsSync(path))
    throw usageError(`${path} is a symbolic link to nothing: lake creates images only at a free path`);
  return true;
}

/** The rules for a path that exists, checked before anything is created. */
function checkExisting(path: string, options: OpenDevicesOptions): void {
  const stats = statSync(path);
  if (stats.isBlockDevice()) return; // openDevice's rules (--allow-block-writes, never mounted)
  if (!stats.isFile()) throw usageError(`${path} is neither a regular file nor a block device`);
  if (options.sizeBytes !== undefined && stats.size !== options.sizeBytes) {
    throw usageError(
      `${path} exists with ${stats.size} bytes, not --size ${options.sizeBytes}: lake never resizes an existing file (remove it, or drop --size)`,
    );
  }
  if (options.allowExistingFiles === true) return;
  const mismatch = imageMarkMismatch(path);
  if (mismatch === undefined) return;
  const consequence =
    options.write === true
      ? "the trace's writes would overwrite its data"
      : 'lake replays only on images it created';
  throw usageError(
    `${path} is not an image lake created (${mismatch}): ${consequence}. Pass --allow-existing-files to replay on it anyway, or name a path that does not exist to let lake create an image there`,
  );
}

function openDevice(path: string, index: number, created: boolean, options: OpenDevicesOptions): RealDevice {
  const warn = options.onWarning ?? (() => undefined);
  const stats = statSync(path);
  let kind: 'file' | 'block';
  let capacityBytes: number;
  let backing: BackingDevice | undefined;
  if (stats.isFile()) {
    kind = 'file';
    capacityBytes = stats.size;
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

/** What the block-device safety check reads of the system: sysfs and procfs (injected in tests). */
export interface SystemFiles {
  readText(file: string): string;
  readDir(dir: string): string[];
  realPath(path: string): string;
  /** A path's block device number as `major:minor`, undefined when it is not a block device. */
  blockDeviceId(path: string): string | undefined;
}

const systemFiles: SystemFiles = {
  readText: (file) => readFileSync(file, 'utf8'),
  readDir: (dir) => readdirSync(dir),
  realPath: (path) => realpathSync(path),
  blockDeviceId(path) {
    const s: Stats = statSync(path);
    if (!s.isBlockDevice()) return undefined;
    const d = splitDev(s.rdev);
    return `${d.major}:${d.minor}`;
  },
};

/**
 * Refuses writes to block devices unless allowed, and always while the device or a partition is in use
 * (mounted, or swap). A check that cannot read what it needs (sysfs for the partitions, /proc/self/mountinfo,
 * /proc/swaps) refuses too: not knowing whether a device is mounted is no reason to write to it.
 */
export function checkBlockWritable(
  path: string,
  dev: BackingDevice,
  allowed: boolean,
  files: SystemFiles = systemFiles,
): void {
  if (!allowed) {
    throw usageError(
      `${path} is a block device and the workload writes: its data would be overwritten. Pass --allow-block-writes to agree`,
    );
  }
  const unreadable = (what: string, file: string, cause: unknown): LakeError =>
    new LakeError(
      'LAKE_E_IO',
      `${path}: cannot tell whether ${what}: ${file} cannot be read (${toError(cause).message}); lake writes to a block device only when it can check`,
      { cause },
    );
  const ids = new Set<string>([`${dev.major}:${dev.minor}`]);
  const sys = `/sys/dev/block/${dev.major}:${dev.minor}`;
  let entries: string[];
  let name: string;
  try {
    name = basename(files.realPath(sys));
    entries = files.readDir(sys);
  } catch (cause) {
    throw unreadable('a partition of it is in use', sys, cause);
  }
  for (const entry of entries) {
    if (!entry.startsWith(name)) continue;
    try {
      ids.add(files.readText(join(sys, entry, 'dev')).trim());
    } catch {
      // not a partition
    }
  }
  const busy: string[] = [];
  let mounts: string;
  try {
    mounts = files.readText('/proc/self/mountinfo');
  } catch (cause) {
    throw unreadable('it is mounted', '/proc/self/mountinfo', cause);
  }
  for (const line of mounts.split('\n')) {
    const fields = line.split(' ');
    if (fields[2] !== undefined && ids.has(fields[2])) busy.push(`mounted on ${fields[4]}`);
  }
  let swaps: string;
  try {
    swaps = files.readText('/proc/swaps');
  } catch (cause) {
    throw unreadable('it is used for swap', '/proc/swaps', cause);
  }
  for (const line of swaps.split('\n').slice(1)) {
    const device = line.split(/\s+/)[0];
    if (device === undefined || device === '') continue;
    let id: string | undefined;
    try {
      id = files.blockDeviceId(device);
    } catch {
      // gone
    }
    if (id !== undefined && ids.has(id)) busy.push('used for swap');
  }
  if (busy.length > 0)
    throw usageError(`${path} (or a partition of it) is ${busy.join(', ')}: lake never writes to it`);
}
