/**
 * Creating the image files lake replays on. An image is filled with data (reads of a sparse file's holes
 * never reach the disk), built under a temporary name beside its path, marked (src/files/image-mark.ts) and
 * then linked into place, so it appears complete and marked or not at all. The fill is written in awaited
 * chunks: an interrupt (SIGINT/SIGTERM) is handled between two of them and removes the temporary
 * (src/files/temporary.ts). Before anything is written, the file systems must have room for every image
 * asked for, with a margin left free.
 */
import { type BigIntStats, linkSync, rmSync, statfsSync, statSync } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { LakeError, usageError } from '../errors.js';
import { imageMarkFor, imageMarkPath, readImageMark, writeImageMark } from '../files/image-mark.js';
import { type TrackedPath, temporaryPathFor, trackTemporary } from '../files/temporary.js';
import { createProgress, type Progress } from '../report/progress.js';
import { fillPattern } from './device.js';

/** The smallest device lake replays on: room for alignment probes and a few blocks. */
export const MIN_DEVICE_BYTES = 64 * 1024;
const FILL_CHUNK = 1 << 20;
/** Free space left on a file system after its images: 5% of it, at most 1 GiB. */
const MARGIN_FRACTION = 0.05;
const MARGIN_MAX_BYTES = 1 << 30;
/** Creation shows a progress bar once it has run this long. */
const PROGRESS_AFTER_MS = 500;

export interface CreateImageOptions {
  /** Write every byte (default); false writes only the last chunk (a sparse image, for tests). */
  fill?: boolean;
  /** No progress bar (the CLI's --json). */
  quiet?: boolean;
}

/** An image this run created: its file and mark stay registered as temporaries until `keep` is called. */
export interface CreatedImage {
  path: string;
  /** The image and its mark are the user's now: an interrupt no longer removes them. */
  keep(): void;
  /** Remove the image and its mark (an open that failed after creating it). */
  remove(): void;
}

/** The room a file system must keep free beside `needed` bytes of images. */
export function freeSpaceMargin(fileSystemBytes: number): number {
  return Math.min(MARGIN_MAX_BYTES, Math.floor(fileSystemBytes * MARGIN_FRACTION));
}

/**
 * Refuses a set of images the file systems they go to cannot hold (summed per file system), and a path whose
 * directory does not exist, before any of them is written.
 */
export function checkFreeSpace(images: ReadonlyArray<{ path: string; sizeBytes: number }>): void {
  const byFileSystem = new Map<string, { dir: string; paths: string[]; bytes: number }>();
  for (const image of images) {
    const dir = dirname(resolve(image.path));
    let dev: bigint;
    try {
      const s = statSync(dir, { bigint: true });
      if (!s.isDirectory()) throw usageError(`${image.path}: ${dirname(image.path)} is not a directory`);
      dev = s.dev;
    } catch (error) {
      if (error instanceof LakeError) throw error;
      throw usageError(`${image.path}: its directory ${dirname(image.path)} does not exist`);
    }
    const group = byFileSystem.get(String(dev)) ?? { dir, paths: [], bytes: 0 };
    group.paths.push(image.path);
    group.bytes += image.sizeBytes;
    byFileSystem.set(String(dev), group);
  }
  for (const group of byFileSystem.values()) {
    let free: number;
    let total: number;
    try {
      const s = statfsSync(group.dir);
      free = s.bavail * s.bsize;
      total = s.blocks * s.bsize;
    } catch (error) {
      throw new LakeError(
        'LAKE_E_IO',
        `${group.dir}: cannot read its free space: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const margin = freeSpaceMargin(total);
    if (group.bytes + margin > free) {
      const named = group.paths.length === 1 ? group.paths[0] : `${group.paths.join(', ')} (together)`;
      throw new LakeError(
        'LAKE_E_IO',
        `${named}: not enough free space in ${group.dir}: ${group.paths.length === 1 ? 'the image needs' : 'the images need'} ${formatBytes(group.bytes)} and ${formatBytes(margin)} must stay free, but ${formatBytes(free)} is free (choose a smaller --size or another directory)`,
      );
    }
  }
}

/** Creates `path` with `sizeBytes` bytes of data and lake's mark, atomically: it appears complete or not at all. */
export async function createImage(
  path: string,
  sizeBytes: number,
  options: CreateImageOptions = {},
): Promise<CreatedImage> {
  if (sizeBytes < MIN_DEVICE_BYTES)
    throw usageError(`--size ${sizeBytes} is too small: a device needs at least ${MIN_DEVICE_BYTES} bytes`);
  const existingMark = readImageMark(path);
  if (existingMark.kind === 'other')
    throw usageError(
      `${path}: lake would write its mark to ${imageMarkPath(path)}, but ${existingMark.reason}: not touched`,
    );
  const temporary = temporaryPathFor(path);
  const tracked: TrackedPath[] = [trackTemporary(temporary)];
  let handle: FileHandle | undefined;
  let linked = false;
  try {
    try {
      handle = await open(temporary, 'wx');
    } catch (error) {
      throw new LakeError('LAKE_E_IO', `${path}: cannot create ${temporary}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    await fill(handle, path, sizeBytes, options);
    await handle.sync();
    const stats: BigIntStats = await handle.stat({ bigint: true });
    await handle.close();
    handle = undefined;
    // The mark first: the image never exists under its name without one.
    const markPath = imageMarkPath(path);
    tracked.push(trackTemporary(markPath));
    await writeImageMark(path, imageMarkFor(stats));
    tracked.push(trackTemporary(path));
    try {
      linkSync(temporary, path);
    } catch (error) {
      tracked.pop()?.release(); // not ours: never remove what is at `path`
      throw error;
    }
    linked = true;
    await unlink(temporary);
    tracked[0]!.release();
  } catch (error) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    // The temporary, and the mark if it was written (a mark for an inode that no longer exists blesses nothing).
    for (const t of tracked) t.remove();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && !linked)
      throw usageError(`${path} appeared while lake was creating it: not touched`);
    if (error instanceof LakeError) throw error;
    throw new LakeError('LAKE_E_IO', `${path}: cannot create the image: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const kept = tracked.slice(1);
  return {
    path,
    keep: () => {
      for (const t of kept) t.release();
    },
    remove: () => {
      for (const t of kept) t.remove();
    },
  };
}

/** Removes an image and its mark (what lake created at `path`); missing files are fine. */
export function removeImage(path: string): void {
  rmSync(path, { force: true });
  rmSync(imageMarkPath(path), { force: true });
}

async function fill(
  handle: FileHandle,
  path: string,
  sizeBytes: number,
  options: CreateImageOptions,
): Promise<void> {
  const started = performance.now();
  const chunk = Buffer.alloc(FILL_CHUNK);
  fillPattern(chunk, sizeBytes % 65521);
  const totalMiB = Math.ceil(sizeBytes / FILL_CHUNK);
  let progress: Progress | undefined;
  let written = 0;
  let n = 0;
  try {
    while (written < sizeBytes) {
      const bytes = Math.min(FILL_CHUNK, sizeBytes - written);
      // A different first word in every 4 KiB block, so no two blocks of the image are equal.
      for (let i = 0; i < bytes; i += 4096) chunk.writeUInt32LE((n * 256 + i / 4096) >>> 0, i);
      if (options.fill !== false || written + bytes === sizeBytes)
        await writeAll(handle, chunk, bytes, written);
      written += bytes;
      n++;
      if (progress === undefined && options.quiet !== true && performance.now() - started > PROGRESS_AFTER_MS)
        progress = createProgress({ label: `create ${basename(path)} (MiB)`, total: totalMiB });
      progress?.update(n);
    }
  } finally {
    progress?.stop();
  }
}

async function writeAll(handle: FileHandle, buffer: Buffer, bytes: number, position: number): Promise<void> {
  let done = 0;
  while (done < bytes) {
    const { bytesWritten } = await handle.write(buffer, done, bytes - done, position + done);
    done += bytesWritten;
  }
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]} (${bytes} bytes)`;
}
