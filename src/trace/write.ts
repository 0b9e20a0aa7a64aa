/**
 * Streaming, atomic trace writers: records are formatted as the original tools print them, buffered into
 * large strings, written to a temporary file in the target's directory and renamed over the target only
 * once everything is on disk. A failed write leaves the target untouched.
 */
import { LakeError } from '../errors.js';
import { openAtomic } from '../files/atomic.js';
import { type TraceFormat, type TraceRecord, traceFormats } from './types.js';

/** Characters buffered before each write to the file. */
const FLUSH_CHARS = 1 << 18;

/**
 * The start of the MSR Cambridge traces (2007-02-22 17:00 UTC) as a Windows filetime, split into whole
 * seconds and 100 ns ticks: MSR timestamps pass 2^53, so they are written from two exact parts.
 */
export const MSR_EPOCH_SECONDS = 12816637200;

export interface WriteTraceOptions<R extends TraceRecord = TraceRecord> {
  /** linnos-input: decimals of ts_ms; default the shortest text that reads back to the same number. */
  tsDecimals?: number;
  /** msr: the Hostname column (default "lake"). */
  hostname?: string;
  /** msr: Timestamp of arrivalMs = 0, in whole seconds of Windows filetime (default MSR_EPOCH_SECONDS). */
  msrEpochSeconds?: number;
  /**
   * linnos-output: the io_index column (the I/O's index in the replayed input, shared by the devices it
   * went to). Default: the record's position in the output.
   */
  ioIndex?: (record: R, position: number) => number;
}

export interface WriteSummary {
  file: string;
  format: TraceFormat;
  records: number;
}

type Formatter<R extends TraceRecord> = (record: R, position: number) => string;

/**
 * Write records (any Iterable or AsyncIterable) to `path` in `format`, atomically.
 * Formats with a latency column need `latencyUs` on every record; a missing `submitMs` is written as the
 * arrival time. Offsets and sizes must be integers (size > 0), times finite and >= 0.
 */
export async function writeTrace<R extends TraceRecord>(
  path: string,
  records: Iterable<R> | AsyncIterable<R>,
  format: TraceFormat,
  options: WriteTraceOptions<R> = {},
): Promise<WriteSummary> {
  const formatter = createFormatter(format, options);
  const file = await openAtomic(path);
  let count = 0;
  let text = '';
  try {
    const add = async (record: R): Promise<void> => {
      checkRecord(path, record, count, format);
      text += formatter(record, count);
      count++;
      if (text.length >= FLUSH_CHARS) {
        await file.write(text);
        text = '';
      }
    };
    if (Symbol.iterator in records) {
      // A synchronous source: only await when a buffer is full.
      for (const record of records) {
        checkRecord(path, record, count, format);
        text += formatter(record, count);
        count++;
        if (text.length >= FLUSH_CHARS) {
          await file.write(text);
          text = '';
        }
      }
    } else {
      for await (const record of records) await add(record);
    }
    if (text.length > 0) await file.write(text);
  } catch (error) {
    await file.abort();
    if (error instanceof LakeError) throw error;
    throw new LakeError('LAKE_E_IO', `${path}: write failed: ${(error as Error).message}`, { cause: error });
  }
  await file.commit();
  return { file: path, format, records: count };
}

function checkRecord(path: string, r: TraceRecord, index: number, format: TraceFormat): void {
  let problem: string | undefined;
  if (!(Number.isFinite(r.arrivalMs) && r.arrivalMs >= 0))
    problem = `arrivalMs must be finite and >= 0, got ${r.arrivalMs}`;
  else if (!(Number.isSafeInteger(r.size) && r.size > 0))
    problem = `size must be an integer > 0, got ${r.size}`;
  else if (!(Number.isSafeInteger(r.offset) && r.offset >= 0))
    problem = `offset must be an integer >= 0, got ${r.offset}`;
  else if (!(Number.isSafeInteger(r.device) && r.device >= 0))
    problem = `device must be an integer >= 0, got ${r.device}`;
  else if (format !== 'linnos-input') {
    const latency = r.latencyUs;
    if (latency === undefined) problem = `format ${format} records latency, but latencyUs is missing`;
    else if (!(Number.isFinite(latency) && latency >= 0))
      problem = `latencyUs must be finite and >= 0, got ${latency}`;
    else if (r.submitMs !== undefined && !(Number.isFinite(r.submitMs) && r.submitMs >= 0)) {
      problem = `submitMs must be finite and >= 0, got ${r.submitMs}`;
    }
  }
  if (problem !== undefined) throw new LakeError('LAKE_E_USAGE', `${path}: record ${index}: ${problem}`);
}

/** The text of one record (with its line break) in `format`; `index` is its position in the output. */
export function createFormatter<R extends TraceRecord = TraceRecord>(
  format: TraceFormat,
  options: WriteTraceOptions<R> = {},
): Formatter<R> {
  if (!traceFormats.includes(format)) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `format must be one of ${traceFormats.join(', ')}, got ${JSON.stringify(format)}`,
    );
  }
  switch (format) {
    case 'linnos-input': {
      const decimals = options.tsDecimals;
      if (decimals !== undefined && !(Number.isInteger(decimals) && decimals >= 0 && decimals <= 20)) {
        throw new LakeError(
          'LAKE_E_USAGE',
          `options.tsDecimals must be an integer in 0..20, got ${decimals}`,
        );
      }
      const ts = decimals === undefined ? String : (ms: number) => ms.toFixed(decimals);
      return (r) => `${ts(r.arrivalMs)} ${r.device} ${r.offset} ${r.size} ${r.read ? 1 : 0}\n`;
    }
    case 'linnos-output': {
      // replay_failover.c: "%d,%d,%.3f,%d,%d,%ld,%ld,%.3f,%d".
      const ioIndex = options.ioIndex ?? ((_record: R, position: number) => position);
      return (r, i) =>
        `${ioIndex(r, i)},${r.device},${r.arrivalMs.toFixed(3)},${Math.round(r.latencyUs!)},${r.read ? 1 : 0},${r.size},` +
        `${r.offset},${(r.submitMs ?? r.arrivalMs).toFixed(3)},1\n`;
    }
    case 'heimdall':
      // io_replayer.c: ts_record(ms),latency(us),io_type,size,offset,ts_submit(ms),size_after_replay
      return (r) =>
        `${r.arrivalMs.toFixed(3)},${Math.round(r.latencyUs!)},${r.read ? 1 : 0},${r.size},${r.offset},` +
        `${(r.submitMs ?? r.arrivalMs).toFixed(3)},${r.size}\n`;
    case 'msr': {
      const hostname = options.hostname ?? 'lake';
      if (hostname.length === 0 || /[,\r\n]/.test(hostname)) {
        throw new LakeError(
          'LAKE_E_USAGE',
          `options.hostname must be non-empty without commas or line breaks`,
        );
      }
      const epoch = options.msrEpochSeconds ?? MSR_EPOCH_SECONDS;
      if (!(Number.isSafeInteger(epoch) && epoch > 0)) {
        throw new LakeError(
          'LAKE_E_USAGE',
          `options.msrEpochSeconds must be a positive integer, got ${epoch}`,
        );
      }
      return (r) =>
        `${filetime(epoch, r.arrivalMs)},${hostname},${r.device},${r.read ? 'Read' : 'Write'},${r.offset},${r.size},` +
        `${Math.round(r.latencyUs! * 10)}\n`;
    }
  }
}

/** Windows filetime text of `epochSeconds` + `ms`, exact beyond 2^53 (seconds and 7 tick digits apart). */
function filetime(epochSeconds: number, ms: number): string {
  const ticks = Math.round(ms * 1e4);
  const seconds = epochSeconds + Math.floor(ticks / 1e7);
  const rest = ticks % 1e7;
  return `${seconds}${String(rest).padStart(7, '0')}`;
}
