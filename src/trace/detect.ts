/**
 * Trace format detection from the first non-blank lines: separator, column count and the shape of the
 * values. Detection is lenient (the first line that identifies a format wins); parsing is strict.
 */
import { escapeInput, LakeError } from '../errors.js';
import { latin1 } from './fields.js';
import { forEachLine, readLineChunks } from './lines.js';
import type { TraceFormat } from './types.js';

/** Lines looked at before giving up. */
const DETECT_LINES = 16;
const DETECT_CHUNK_BYTES = 64 << 10;
// One way to match each number (digits, then an optional fraction): an ambiguous pattern such as
// \d+\.?\d* backtracks quadratically on a long run of digits that does not match.
const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
const OP_WORD = /^(read|write)$/i;
const HAS_LETTER = /[A-Za-z]/;

export interface FormatDetection {
  format: TraceFormat;
  /** Line number of a header line to skip (only ever the first non-blank line), if there is one. */
  headerLine: number | undefined;
}

/** What one line looks like: a format, a header line of column names, or nothing known. */
export function detectLineFormat(line: string): TraceFormat | 'header' | undefined {
  if (line.includes(',')) {
    const fields = line.split(',').map((field) => field.trim());
    const n = fields.length;
    if (n === 7) {
      if (isNumber(fields[0]) && OP_WORD.test(fields[3] ?? '')) return 'msr';
      if (fields.every(isNumber)) return 'heimdall';
    }
    if ((n === 9 || n === 10) && fields.every(isNumber)) return 'linnos-output';
    if ((n === 7 || n === 9 || n === 10) && fields.every((field) => HAS_LETTER.test(field))) return 'header';
    return undefined;
  }
  const fields = line.trim().split(/\s+/);
  if (fields.length === 5 && fields.every(isNumber)) return 'linnos-input';
  return undefined;
}

function isNumber(text: string | undefined): boolean {
  return text !== undefined && NUMBER.test(text);
}

/** Detect the format of a trace file; throws LAKE_E_TRACE_FORMAT naming the file when it cannot. */
export async function detectTraceFormat(path: string): Promise<FormatDetection> {
  const seen: { line: number; text: string }[] = [];
  let next = 1;
  for await (const chunk of readLineChunks(path, DETECT_CHUNK_BYTES)) {
    next = forEachLine(chunk, next, (start, end, line) => {
      if (seen.length < DETECT_LINES) seen.push({ line, text: latin1(chunk, start, end) });
    });
    if (seen.length >= DETECT_LINES) break;
  }
  let headerLine: number | undefined;
  for (const [i, { line, text }] of seen.entries()) {
    const kind = detectLineFormat(text);
    if (kind === 'header') {
      if (i === 0) headerLine = line;
      continue;
    }
    if (kind !== undefined) return { format: kind, headerLine };
  }
  const first = seen[0];
  const shown =
    first === undefined
      ? 'it has no non-blank line'
      : `line ${first.line} reads "${escapeInput(first.text)}"`;
  throw new LakeError(
    'LAKE_E_TRACE_FORMAT',
    `${path}: cannot detect the trace format (${shown}); expected linnos-input ("ts_ms devno offset_B size_B rw"), ` +
      'linnos-output (9 or 10 CSV columns), heimdall (7 numeric CSV columns) or msr ' +
      '(Timestamp,Hostname,DiskNumber,Read|Write,Offset,Size,ResponseTime); name one with the format option',
  );
}
