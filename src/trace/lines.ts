/**
 * Chunked line reading: a file is read into one reused buffer, and each chunk handed out holds whole
 * lines only (the bytes after the last line break move to the front of the buffer for the next read).
 * No line is ever decoded to a string, and memory stays at one buffer however long the file is. A gzip
 * file reads as its inflated content (src/trace/bytes.ts).
 */
import { LakeError } from '../errors.js';
import { openByteSource } from './bytes.js';

const NEWLINE = 10;
const CARRIAGE_RETURN = 13;
const SPACE = 32;
const TAB = 9;

export const DEFAULT_CHUNK_BYTES = 1 << 20;
/** A single line longer than this is not a trace line; stop rather than grow without bound. */
const MAX_LINE_BYTES = 64 << 20;

/**
 * Yields views of a reused buffer, each ending at a line break (or at the end of the file). A view is
 * only valid until the next iteration step: consumers must parse it, not keep it.
 */
export async function* readLineChunks(
  path: string,
  chunkBytes = DEFAULT_CHUNK_BYTES,
): AsyncGenerator<Buffer> {
  const source = await openByteSource(path);
  try {
    let buf = Buffer.allocUnsafe(Math.max(1, chunkBytes));
    let filled = 0;
    for (;;) {
      if (filled === buf.length) {
        if (buf.length >= MAX_LINE_BYTES) {
          throw new LakeError('LAKE_E_TRACE_PARSE', `${path}: a line is longer than ${MAX_LINE_BYTES} bytes`);
        }
        const grown = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(grown, 0, 0, filled);
        buf = grown;
      }
      const bytesRead = await source.read(buf, filled, buf.length - filled);
      if (bytesRead === 0) {
        if (filled > 0) yield buf.subarray(0, filled);
        return;
      }
      const scanFrom = filled;
      filled += bytesRead;
      const last = buf.lastIndexOf(NEWLINE, filled - 1);
      if (last < scanFrom) continue; // no complete line yet: read more (growing if full)
      yield buf.subarray(0, last + 1);
      buf.copyWithin(0, last + 1, filled);
      filled -= last + 1;
    }
  } finally {
    await source.close();
  }
}

/**
 * Calls `onLine(start, end, lineNumber)` for each non-blank line of `chunk`, with surrounding spaces,
 * tabs and the CR of CRLF trimmed. `firstLine` is the number of the chunk's first line; returns the
 * number the next chunk starts with. Blank lines are skipped but counted.
 */
export function forEachLine(
  chunk: Uint8Array,
  firstLine: number,
  onLine: (start: number, end: number, line: number) => void,
): number {
  const length = chunk.length;
  let line = firstLine;
  let start = 0;
  while (start < length) {
    let end = chunk.indexOf(NEWLINE, start);
    const next = end < 0 ? length : end + 1;
    if (end < 0) end = length;
    let s = start;
    let e = end;
    while (s < e && isBlank(chunk[s]!)) s++;
    while (e > s && isBlank(chunk[e - 1]!)) e--;
    if (s < e) onLine(s, e, line);
    line++;
    start = next;
  }
  return line;
}

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB || c === CARRIAGE_RETURN;
}
