/**
 * lake's mark on the image files it creates: a small JSON file beside the image, `<image>.lake-image`,
 * written (atomically) before the image appears under its name, that records which file it vouches for
 * (device, inode, birth time and size). lake writes only into a regular file whose mark matches it; a user's
 * file has no mark, and a stale mark (the image removed and another file put at its path) names another
 * inode, so it blesses nothing.
 *
 * A sidecar rather than an extended attribute: it needs no native code, works on every file system (tmpfs
 * and some network file systems lack user xattrs), and a user sees it beside the image. Removing an image
 * means removing both files; moving one means moving both (a move to another file system changes the inode,
 * and the moved image is then refused until re-created).
 */
import { type BigIntStats, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';

export const IMAGE_MARK_SUFFIX = '.lake-image';
export const IMAGE_MARK_FORMAT = 'lake-image';
export const IMAGE_MARK_VERSION = 1;
/** A mark is a few hundred bytes; anything larger at the mark's path is not one. */
const MAX_MARK_BYTES = 4096;

export interface ImageMark {
  format: typeof IMAGE_MARK_FORMAT;
  version: typeof IMAGE_MARK_VERSION;
  /** The image's size when lake created it. */
  sizeBytes: number;
  /** st_dev, st_ino and the birth time (ns; 0 where the file system has none) of the image, as decimals. */
  dev: string;
  ino: string;
  birthtimeNs: string;
  /** When lake created it (ISO 8601), for the user. */
  createdAt: string;
}

/** Where the mark of `image` lives. */
export function imageMarkPath(image: string): string {
  return `${image}${IMAGE_MARK_SUFFIX}`;
}

/** The mark for a file with these stats (taken with `{ bigint: true }`). */
export function imageMarkFor(stats: BigIntStats, createdAt = new Date()): ImageMark {
  return {
    format: IMAGE_MARK_FORMAT,
    version: IMAGE_MARK_VERSION,
    sizeBytes: Number(stats.size),
    dev: String(stats.dev),
    ino: String(stats.ino),
    birthtimeNs: String(stats.birthtimeNs),
    createdAt: createdAt.toISOString(),
  };
}

/** Writes `mark` as the mark of `image` (atomically). */
export async function writeImageMark(image: string, mark: ImageMark): Promise<void> {
  await writeFileAtomic(imageMarkPath(image), `${JSON.stringify(mark, null, 2)}\n`);
}

/** What is at a mark's path: nothing, a mark, or something else (a user's file lake must not replace). */
export type MarkFile =
  | { kind: 'none' }
  | { kind: 'mark'; mark: ImageMark }
  | { kind: 'other'; reason: string };

export function readImageMark(image: string): MarkFile {
  const path = imageMarkPath(image);
  let size: number;
  try {
    const s = statSync(path);
    if (!s.isFile()) return { kind: 'other', reason: `${path} is not a regular file` };
    size = s.size;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'none' };
    return { kind: 'other', reason: `${path}: ${(error as Error).message}` };
  }
  if (size > MAX_MARK_BYTES)
    return { kind: 'other', reason: `${path} is not a lake image mark (${size} bytes)` };
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return { kind: 'other', reason: `${path} is not a lake image mark (not JSON)` };
  }
  const mark = asMark(value);
  if (mark === undefined) return { kind: 'other', reason: `${path} is not a lake image mark` };
  return { kind: 'mark', mark };
}

function asMark(value: unknown): ImageMark | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const decimal = (x: unknown): x is string => typeof x === 'string' && /^\d{1,40}$/.test(x);
  if (v['format'] !== IMAGE_MARK_FORMAT || v['version'] !== IMAGE_MARK_VERSION) return undefined;
  if (!(typeof v['sizeBytes'] === 'number' && Number.isSafeInteger(v['sizeBytes']) && v['sizeBytes'] >= 0))
    return undefined;
  if (!(decimal(v['dev']) && decimal(v['ino']) && decimal(v['birthtimeNs']))) return undefined;
  if (typeof v['createdAt'] !== 'string') return undefined;
  return {
    format: IMAGE_MARK_FORMAT,
    version: IMAGE_MARK_VERSION,
    sizeBytes: v['sizeBytes'],
    dev: v['dev'],
    ino: v['ino'],
    birthtimeNs: v['birthtimeNs'],
    createdAt: v['createdAt'],
  };
}

/** Why `image` (a regular file) is not one lake created, or undefined when its mark matches it. */
export function imageMarkMismatch(image: string): string | undefined {
  const found = readImageMark(image);
  if (found.kind === 'none') return `it has no ${imageMarkPath(image)} mark`;
  if (found.kind === 'other') return found.reason;
  const actual = imageMarkFor(statSync(image, { bigint: true }));
  const { mark } = found;
  if (mark.dev !== actual.dev || mark.ino !== actual.ino || mark.birthtimeNs !== actual.birthtimeNs)
    return `its mark ${imageMarkPath(image)} was written for another file (inode ${mark.ino}, this one is ${actual.ino}): the image was replaced since lake created it`;
  if (mark.sizeBytes !== actual.sizeBytes)
    return `its size changed since lake created it (${mark.sizeBytes} bytes then, ${actual.sizeBytes} now)`;
  return undefined;
}
