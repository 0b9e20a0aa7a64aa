/**
 * Streaming trace readers. `openTrace` yields batches of records (the fast path: one await per batch),
 * `readTrace` yields single records, `readTraceAll` collects a small file. Memory stays at one read
 * buffer plus one chunk's records, whatever the file's length.
 */
import { LakeError, TraceParseError } from '../errors.js';
import { detectLineFormat, detectTraceFormat } from './detect.js';
import { latin1 } from './fields.js';
import { DEFAULT_CHUNK_BYTES, forEachLine, readLineChunks } from './lines.js';
import { createLineParser } from './parse.js';
import { type TraceFormat, type TraceRecord, traceFormats } from './types.js';

export const DEFAULT_BATCH_SIZE = 4096;
/** With skipBad, how many error messages are kept (all bad lines are counted). */
export const DEFAULT_KEPT_ERRORS = 10;

export interface ReadTraceOptions {
  /** The file's format; detected from its first lines when absent. */
  format?: TraceFormat;
  /** Skip and count bad lines instead of throwing TraceParseError on the first. */
  skipBad?: boolean;
  /** Records per batch (default 4096). */
  batchSize?: number;
  /** Bytes per file read (default 1 MiB); small values exercise chunk boundaries in tests. */
  chunkBytes?: number;
  /** With skipBad, how many error messages to keep (default 10). */
  keptErrors?: number;
}

/** What a read went through: known once iteration has finished. */
export interface ReadSummary {
  file: string;
  /** Given, or detected when iteration started; undefined before that. */
  format: TraceFormat | undefined;
  /** Records produced. */
  records: number;
  /** Bad lines skipped (skipBad only). */
  skipped: number;
  /** The first few skipped lines' messages, `file:line: field NAME: reason`. */
  errors: string[];
  /** Lines in the file, blank ones included. */
  lines: number;
}

/** A trace file opened for one pass, as batches of records. */
export class TraceReader implements AsyncIterable<TraceRecord[]> {
  readonly path: string;
  readonly #options: Required<Omit<ReadTraceOptions, 'format'>> & { format: TraceFormat | undefined };
  #format: TraceFormat | undefined;
  #records = 0;
  #skipped = 0;
  #lines = 0;
  readonly #errors: string[] = [];
  #started = false;

  constructor(path: string, options: ReadTraceOptions = {}) {
    validateReadOptions(options);
    this.path = path;
    this.#format = options.format;
    this.#options = {
      format: options.format,
      skipBad: options.skipBad ?? false,
      batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
      chunkBytes: options.chunkBytes ?? DEFAULT_CHUNK_BYTES,
      keptErrors: options.keptErrors ?? DEFAULT_KEPT_ERRORS,
    };
  }

  /** The format, once known (given, or detected when iteration starts). */
  get format(): TraceFormat | undefined {
    return this.#format;
  }

  /** Counts so far; complete once iteration has finished. */
  get summary(): ReadSummary {
    return {
      file: this.path,
      format: this.#format,
      records: this.#records,
      skipped: this.#skipped,
      errors: [...this.#errors],
      lines: this.#lines,
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<TraceRecord[]> {
    if (this.#started)
      throw new LakeError('LAKE_E_USAGE', `${this.path}: a TraceReader can be iterated only once`);
    this.#started = true;
    return this.#batches();
  }

  async *#batches(): AsyncGenerator<TraceRecord[]> {
    const { skipBad, batchSize, chunkBytes, keptErrors } = this.#options;
    let headerLine: number | undefined;
    if (this.#format === undefined) {
      const detection = await detectTraceFormat(this.path);
      this.#format = detection.format;
      headerLine = detection.headerLine;
    }
    const parser = createLineParser(this.#format, this.path);
    const ready: TraceRecord[][] = [];
    let batch: TraceRecord[] = [];
    let first = true;
    const onLine = (buf: Uint8Array, start: number, end: number, line: number): void => {
      if (line === headerLine) return;
      const isFirst = first;
      first = false;
      try {
        batch.push(parser.parse(buf, start, end, line));
      } catch (error) {
        // A header line (column names) is skipped even when the format was given rather than detected.
        if (
          isFirst &&
          error instanceof TraceParseError &&
          detectLineFormat(latin1(buf, start, end)) === 'header'
        )
          return;
        if (!skipBad || !(error instanceof TraceParseError)) throw error;
        this.#skipped++;
        if (this.#errors.length < keptErrors) this.#errors.push(error.message);
        return;
      }
      if (batch.length === batchSize) {
        ready.push(batch);
        batch = [];
      }
    };
    let next = 1;
    for await (const chunk of readLineChunks(this.path, chunkBytes)) {
      next = forEachLine(chunk, next, (start, end, line) => onLine(chunk, start, end, line));
      this.#lines = next - 1;
      for (const full of ready) {
        this.#records += full.length;
        yield full;
      }
      ready.length = 0;
    }
    if (batch.length > 0) {
      this.#records += batch.length;
      yield batch;
    }
  }
}

function validateReadOptions(options: ReadTraceOptions): void {
  if (options.format !== undefined && !traceFormats.includes(options.format)) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `options.format must be one of ${traceFormats.join(', ')}, got ${JSON.stringify(options.format)}`,
    );
  }
  for (const key of ['batchSize', 'chunkBytes'] as const) {
    const value = options[key];
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
      throw new LakeError('LAKE_E_USAGE', `options.${key} must be a positive integer, got ${value}`);
    }
  }
  if (
    options.keptErrors !== undefined &&
    !(Number.isSafeInteger(options.keptErrors) && options.keptErrors >= 0)
  ) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `options.keptErrors must be a non-negative integer, got ${options.keptErrors}`,
    );
  }
}

/** Open a trace for one streaming pass in batches (about 4096 records each). */
export function openTrace(path: string, options: ReadTraceOptions = {}): TraceReader {
  return new TraceReader(path, options);
}

/** Stream a trace record by record. */
export async function* readTrace(path: string, options: ReadTraceOptions = {}): AsyncGenerator<TraceRecord> {
  for await (const batch of openTrace(path, options)) yield* batch;
}

export interface ReadAllResult {
  /** Every record, in file order. */
  records: TraceRecord[];
  format: TraceFormat;
  skipped: number;
  errors: string[];
  lines: number;
}

/**
 * Read a whole (small) trace into memory. For large files use openTrace: ten million records take
 * about a gigabyte as objects.
 */
export async function readTraceAll(path: string, options: ReadTraceOptions = {}): Promise<ReadAllResult> {
  const reader = openTrace(path, options);
  const records: TraceRecord[] = [];
  for await (const batch of reader) for (const record of batch) records.push(record);
  const { skipped, errors, lines } = reader.summary;
  // Iteration has run, so the format was given or detected.
  return { records, format: reader.format!, skipped, errors, lines };
}
