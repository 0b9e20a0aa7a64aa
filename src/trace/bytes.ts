/**
 * A trace file's bytes for one sequential pass, inflated on the fly when the file is gzip. gzip is
 * recognised by its magic bytes (1f 8b, RFC 1952), whatever the file is called: traces are often kept
 * compressed, and a renamed one should read the same. Inflation streams (node:zlib), so memory stays at
 * one inflated chunk however large the trace.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import { LakeError } from '../errors.js';

const GZIP_ID1 = 0x1f;
const GZIP_ID2 = 0x8b;
/** Inflated bytes per chunk handed out by zlib. */
const INFLATE_CHUNK_BYTES = 256 << 10;

/** Whether bytes start as a gzip member does. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_ID1 && bytes[1] === GZIP_ID2;
}

/** The bytes of a file, read front to back; `close()` must be called once done (also after an error). */
export interface ByteSource {
  /** The file as named. */
  readonly path: string;
  /** Whether the file is gzip (and the bytes read are its inflated content). */
  readonly compressed: boolean;
  /** Reads up to `length` bytes into `into` at `offset`; 0 at the end. */
  read(into: Uint8Array, offset: number, length: number): Promise<number>;
  close(): Promise<void>;
}

/** Opens a file for one pass; LAKE_E_IO naming the file when it cannot be opened. */
export async function openByteSource(path: string): Promise<ByteSource> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new LakeError('LAKE_E_IO', `${path}: cannot open: ${(cause as Error).message}`, { cause });
  }
  try {
    const magic = Buffer.alloc(2);
    // A positional read: the file position stays at 0 for the plain reader.
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    if (isGzip(magic.subarray(0, bytesRead))) return new GzipSource(path, handle);
    return new PlainSource(path, handle);
  } catch (cause) {
    await handle.close();
    throw new LakeError('LAKE_E_IO', `${path}: cannot read: ${(cause as Error).message}`, { cause });
  }
}

class PlainSource implements ByteSource {
  readonly path: string;
  readonly compressed = false;
  readonly #handle: FileHandle;

  constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.#handle = handle;
  }

  async read(into: Uint8Array, offset: number, length: number): Promise<number> {
    try {
      return (await this.#handle.read(into, offset, length, null)).bytesRead;
    } catch (cause) {
      throw new LakeError('LAKE_E_IO', `${this.path}: cannot read: ${(cause as Error).message}`, {
        cause,
      });
    }
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}

class GzipSource implements ByteSource {
  readonly path: string;
  readonly compressed = true;
  readonly #handle: FileHandle;
  readonly #raw: Readable;
  readonly #inflated: Gunzip;
  readonly #chunks: AsyncIterator<Buffer>;
  /** The unread rest of the last inflated chunk. */
  #left: Buffer = Buffer.alloc(0);
  #ended = false;

  constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.#handle = handle;
    this.#raw = handle.createReadStream({ start: 0, autoClose: false });
    this.#inflated = createGunzip({ chunkSize: INFLATE_CHUNK_BYTES });
    // pipeline carries a read error of the file into the inflater, where the iterator sees it.
    pipeline(this.#raw, this.#inflated, () => {});
    this.#chunks = this.#inflated[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async read(into: Uint8Array, offset: number, length: number): Promise<number> {
    while (this.#left.length === 0) {
      if (this.#ended) return 0;
      let next: IteratorResult<Buffer>;
      try {
        next = await this.#chunks.next();
      } catch (cause) {
        throw this.#error(cause);
      }
      if (next.done === true) {
        this.#ended = true;
        return 0;
      }
      this.#left = next.value;
    }
    const n = Math.min(length, this.#left.length);
    into.set(this.#left.subarray(0, n), offset);
    this.#left = this.#left.subarray(n);
    return n;
  }

  #error(cause: unknown): LakeError {
    const error = cause as NodeJS.ErrnoException;
    // zlib's failures carry Z_* codes (Z_DATA_ERROR, Z_BUF_ERROR for a cut-off stream); the rest is I/O.
    if (typeof error.code === 'string' && error.code.startsWith('Z_')) {
      const reason =
        error.code === 'Z_BUF_ERROR' ? 'the compressed data ends early (truncated?)' : error.message;
      return new LakeError('LAKE_E_TRACE_FORMAT', `${this.path}: corrupt gzip data: ${reason}`, { cause });
    }
    return new LakeError('LAKE_E_IO', `${this.path}: cannot read: ${error.message}`, { cause });
  }

  async close(): Promise<void> {
    this.#inflated.destroy();
    this.#raw.destroy();
    await this.#handle.close();
  }
}
