/**
 * Outputs written whole or not at all: data goes to a temporary file beside the target (registered, so an
 * interrupt removes it), is synced, and is renamed over the target. A reader never sees a half-written file,
 * and a failed or interrupted run leaves the previous file in place.
 */
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { LakeError } from '../errors.js';
import { temporaryPathFor, trackTemporary } from './temporary.js';

/** A file being written atomically: `write` as often as needed, then `commit` (or `abort`). */
export interface AtomicFile {
  /** The target path. */
  readonly path: string;
  write(data: string | Uint8Array): Promise<void>;
  /** Sync, close and rename into place. */
  commit(): Promise<void>;
  /** Close and remove the temporary; the target is untouched. Idempotent, never throws. */
  abort(): Promise<void>;
}

/** Starts writing `path` atomically (the temporary is created now, exclusively). */
export async function openAtomic(path: string): Promise<AtomicFile> {
  const temporary = temporaryPathFor(path);
  const tracked = trackTemporary(temporary);
  let handle: FileHandle;
  try {
    handle = await open(temporary, 'wx');
  } catch (cause) {
    tracked.release();
    throw new LakeError('LAKE_E_IO', `${path}: cannot write: ${messageOf(cause)}`, { cause });
  }
  let finished = false;
  const abort = async (): Promise<void> => {
    if (finished) return;
    finished = true;
    await handle.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    tracked.release();
  };
  return {
    path,
    async write(data: string | Uint8Array): Promise<void> {
      try {
        if (typeof data === 'string') await handle.write(data);
        else await handle.write(data);
      } catch (cause) {
        await abort();
        throw new LakeError('LAKE_E_IO', `${path}: write failed: ${messageOf(cause)}`, { cause });
      }
    },
    async commit(): Promise<void> {
      if (finished) throw new LakeError('LAKE_E_INTERNAL', `${path}: already committed or aborted`);
      try {
        await handle.sync();
        await handle.close();
        await rename(temporary, path);
      } catch (cause) {
        await abort();
        throw new LakeError('LAKE_E_IO', `${path}: cannot write: ${messageOf(cause)}`, { cause });
      }
      finished = true;
      tracked.release();
    },
    abort,
  };
}

/** Writes `data` to `path` atomically; on failure the temporary is removed and a LAKE_E_IO error thrown. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const file = await openAtomic(path);
  await file.write(data);
  await file.commit();
}

function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
