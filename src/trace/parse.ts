/**
 * One line parser per trace format, each mapping a line's columns to a TraceRecord. Column names are the
 * names errors report (`file:line: field size_B: ...`).
 */
import { FieldCursor, type Separator } from './fields.js';
import type { TraceFormat, TraceRecord } from './types.js';

/** The columns of each format, in file order, as errors name them. */
export const traceColumns: Readonly<Record<TraceFormat, readonly string[]>> = {
  'linnos-input': ['ts_ms', 'devno', 'offset_B', 'size_B', 'rw'],
  'linnos-output': [
    'io_index',
    'device_index',
    'sched_ts_ms',
    'latency_us',
    'rw',
    'size_B',
    'offset_B',
    'submit_ts_ms',
    'ret',
    'nr_fail',
  ],
  heimdall: ['ts_ms', 'latency_us', 'rw', 'size_B', 'offset_B', 'submit_ts_ms', 'size_after_replay'],
  msr: ['Timestamp', 'Hostname', 'DiskNumber', 'Type', 'Offset', 'Size', 'ResponseTime'],
};

/** Columns every line has; linnos-output may add nr_fail (the per-sub-I/O `_sub` variant). */
export const requiredColumns: Readonly<Record<TraceFormat, number>> = {
  'linnos-input': 5,
  'linnos-output': 9,
  heimdall: 7,
  msr: 7,
};

export const traceSeparators: Readonly<Record<TraceFormat, Separator>> = {
  'linnos-input': 'whitespace',
  'linnos-output': 'comma',
  heimdall: 'comma',
  msr: 'comma',
};

/** Parses one non-blank line (bytes [start, end) of buf, without its line break) into a record. */
export interface LineParser {
  parse(buf: Uint8Array, start: number, end: number, line: number): TraceRecord;
}

export function createLineParser(format: TraceFormat, file: string): LineParser {
  const cursor = new FieldCursor(
    file,
    traceColumns[format],
    traceSeparators[format],
    requiredColumns[format],
  );
  switch (format) {
    case 'linnos-input':
      return new LinnosInputParser(cursor);
    case 'linnos-output':
      return new LinnosOutputParser(cursor);
    case 'heimdall':
      return new HeimdallParser(cursor);
    case 'msr':
      return new MsrParser(cursor);
  }
}

/** `ts_ms devno offset_B size_B rw` */
class LinnosInputParser implements LineParser {
  readonly #c: FieldCursor;
  constructor(cursor: FieldCursor) {
    this.#c = cursor;
  }
  parse(buf: Uint8Array, start: number, end: number, line: number): TraceRecord {
    const c = this.#c;
    c.begin(buf, start, end, line);
    const arrivalMs = c.nextNonNegative();
    const device = c.nextCount();
    const offset = c.nextCount();
    const size = c.nextSize();
    const read = c.nextOpFlag();
    c.finish();
    return { arrivalMs, device, offset, size, read };
  }
}

/** `io_index,device_index,sched_ts_ms,latency_us,rw,size_B,offset_B,submit_ts_ms,ret[,nr_fail]` */
class LinnosOutputParser implements LineParser {
  readonly #c: FieldCursor;
  constructor(cursor: FieldCursor) {
    this.#c = cursor;
  }
  parse(buf: Uint8Array, start: number, end: number, line: number): TraceRecord {
    const c = this.#c;
    c.begin(buf, start, end, line);
    c.nextCount(); // io_index: the input I/O's index, shared by the devices it was replayed to
    const device = c.nextCount();
    const arrivalMs = c.nextNonNegative();
    const latencyUs = c.nextNonNegative();
    const read = c.nextOpFlag();
    const size = c.nextSize();
    const offset = c.nextCount();
    const submitMs = c.nextNonNegative();
    c.nextInteger(); // ret: the replayer's return state (1 = ok)
    if (c.hasMore()) c.nextCount(); // nr_fail, in the per-sub-I/O (_sub) variant
    c.finish();
    return { arrivalMs, device, offset, size, read, latencyUs, submitMs };
  }
}

/** `ts_ms,latency_us,rw,size_B,offset_B,submit_ts_ms,size_after_replay` */
class HeimdallParser implements LineParser {
  readonly #c: FieldCursor;
  constructor(cursor: FieldCursor) {
    this.#c = cursor;
  }
  parse(buf: Uint8Array, start: number, end: number, line: number): TraceRecord {
    const c = this.#c;
    c.begin(buf, start, end, line);
    const arrivalMs = c.nextNonNegative();
    const latencyUs = c.nextNonNegative();
    const read = c.nextOpFlag();
    const size = c.nextSize();
    const offset = c.nextCount();
    const submitMs = c.nextNonNegative();
    c.nextCount(); // size_after_replay: bytes actually transferred
    c.finish();
    return { arrivalMs, device: 0, offset, size, read, latencyUs, submitMs };
  }
}

/** 100 ns ticks per second: a filetime is split here to stay exact beyond 2^53. */
const TICKS_PER_SECOND_DIGITS = 7;
const TICKS_PER_SECOND = 1e7;
const TICKS_PER_MS = 1e4;

/**
 * `Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime`, with Timestamp a Windows filetime and
 * ResponseTime in 100 ns ticks. Arrival is relative to the first record parsed.
 */
class MsrParser implements LineParser {
  readonly #c: FieldCursor;
  #baseSeconds = -1;
  #baseTicks = 0;
  constructor(cursor: FieldCursor) {
    this.#c = cursor;
  }
  parse(buf: Uint8Array, start: number, end: number, line: number): TraceRecord {
    const c = this.#c;
    c.begin(buf, start, end, line);
    const [seconds, ticks] = c.nextSplitUnsigned(TICKS_PER_SECOND_DIGITS);
    c.nextPresent(); // Hostname
    const device = c.nextCount();
    const read = c.nextOpWord();
    const offset = c.nextCount();
    const size = c.nextSize();
    const responseTicks = c.nextNonNegative();
    c.finish();
    if (this.#baseSeconds < 0) {
      this.#baseSeconds = seconds;
      this.#baseTicks = ticks;
    }
    // One exact integer tick difference, then a single rounding division.
    const delta = (seconds - this.#baseSeconds) * TICKS_PER_SECOND + (ticks - this.#baseTicks);
    return { arrivalMs: delta / TICKS_PER_MS, device, offset, size, read, latencyUs: responseTicks / 10 };
  }
}
