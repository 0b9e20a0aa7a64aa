/**
 * Binary blktrace files (`struct blk_io_trace`, what `blktrace -d /dev/X` writes per CPU, or one merged file
 * from `blkparse -d`), read and written, and the pairing of each request's issue (D) and completion (C)
 * into one TraceRecord with its latency. blkparse text output (src/trace/blkparse.ts) parses into the same
 * events, so both inputs of one capture give identical records.
 *
 * Each event is 48 bytes in the tracing machine's byte order (detected from the magic), followed by
 * `pdu_len` bytes of payload (process names of notify events, remap data, cgroup ids), which are skipped:
 *
 *   u32 magic (0x65617400 | version 7)   u32 sequence   u64 time (ns)   u64 sector   u32 bytes
 *   u32 action   u32 pid   u32 device (kernel dev_t: major << 20 | minor)   u32 cpu   u16 error   u16 pdu_len
 *
 * Records: one per paired read or write request (discards, flushes without data and passthrough requests
 * are skipped): arrivalMs = submitMs = its issue time in ms after the capture's first issue, latencyUs =
 * completion - issue, offset = sector * 512, size = the issued bytes, device = the rank of its device
 * number among the capture's devices (so device 0 is the lowest major:minor).
 */
import { LakeError, TraceParseError } from '../errors.js';
import { openByteSource } from './bytes.js';
import type { TraceRecord } from './types.js';

export const BLK_IO_TRACE_MAGIC = 0x65617400;
export const BLK_IO_TRACE_VERSION = 0x07;
export const BLK_IO_TRACE_BYTES = 48;
/** The last sector whose byte offset (sector * 512) is an exact double: 8 PiB, beyond any device. */
export const MAX_SECTOR = Math.floor(Number.MAX_SAFE_INTEGER / 512);
const MAX_SECTOR_BIG = BigInt(MAX_SECTOR);

/** Trace categories (the action's upper 16 bits), from linux/blktrace_api.h. */
export const BLK_TC = {
  READ: 1 << 0,
  WRITE: 1 << 1,
  FLUSH: 1 << 2,
  SYNC: 1 << 3,
  QUEUE: 1 << 4,
  REQUEUE: 1 << 5,
  ISSUE: 1 << 6,
  COMPLETE: 1 << 7,
  FS: 1 << 8,
  PC: 1 << 9,
  NOTIFY: 1 << 10,
  AHEAD: 1 << 11,
  META: 1 << 12,
  DISCARD: 1 << 13,
  DRV_DATA: 1 << 14,
  FUA: 1 << 15,
} as const;
export const BLK_TC_SHIFT = 16;

/** Action codes (the action's low byte). */
export const BLK_TA = {
  QUEUE: 1,
  BACKMERGE: 2,
  FRONTMERGE: 3,
  GETRQ: 4,
  SLEEPRQ: 5,
  REQUEUE: 6,
  ISSUE: 7,
  COMPLETE: 8,
  PLUG: 9,
  UNPLUG_IO: 10,
  UNPLUG_TIMER: 11,
  INSERT: 12,
  SPLIT: 13,
  BOUNCE: 14,
  REMAP: 15,
  ABORT: 16,
  DRV_DATA: 17,
} as const;
/** Set in the action of events that carry a cgroup id (in their payload). */
export const BLK_TA_CGROUP = 1 << 8;

/** The category bits as they sit in an action word. */
export function tcAct(category: number): number {
  return (category << BLK_TC_SHIFT) >>> 0;
}

/** A full action word: an action code and categories (as the kernel builds it, e.g. BLK_TA_ISSUE | WRITE). */
export function blkAction(code: number, ...categories: number[]): number {
  let action = code;
  for (const c of categories) action = (action | tcAct(c)) >>> 0;
  return action >>> 0;
}

export interface BlkTraceEvent {
  sequence: number;
  /** Nanoseconds (absolute in a binary file, from the first event in blkparse output). */
  timeNs: bigint;
  sector: number;
  bytes: number;
  action: number;
  pid: number;
  /** Kernel dev_t: major << 20 | minor. */
  device: number;
  cpu: number;
  error: number;
  /** Payload bytes after the event (kept only when writing; the pairing ignores them). */
  pdu?: Uint8Array;
}

export function devMajor(device: number): number {
  return device >>> 20;
}

export function devMinor(device: number): number {
  return device & 0xfffff;
}

export function makeDev(major: number, minor: number): number {
  return ((major << 20) | minor) >>> 0;
}

/** Byte order of a blktrace buffer from its first event's magic; undefined when it is not one. */
export function blktraceEndianness(bytes: Uint8Array): 'little' | 'big' | undefined {
  if (bytes.length < 4) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if ((view.getUint32(0, true) & 0xffffff00) >>> 0 === BLK_IO_TRACE_MAGIC) return 'little';
  if ((view.getUint32(0, false) & 0xffffff00) >>> 0 === BLK_IO_TRACE_MAGIC) return 'big';
  return undefined;
}

/**
 * Incremental parser of one blktrace stream: feed it chunks in order, then end(). Errors name the file,
 * the event number (as the line) and the field.
 */
export class BlktraceParser {
  readonly file: string;
  littleEndian: boolean | undefined;
  #pending: Uint8Array = new Uint8Array(0);
  #index = 0;
  readonly #out: BlkTraceEvent[];
  readonly #keepPdu: boolean;

  constructor(file: string, out: BlkTraceEvent[], keepPdu = false) {
    this.file = file;
    this.#out = out;
    this.#keepPdu = keepPdu;
  }

  push(chunk: Uint8Array): void {
    let data = chunk;
    if (this.#pending.length > 0) {
      data = new Uint8Array(this.#pending.length + chunk.length);
      data.set(this.#pending);
      data.set(chunk, this.#pending.length);
    }
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let at = 0;
    for (;;) {
      if (data.length - at < BLK_IO_TRACE_BYTES) break;
      if (this.littleEndian === undefined) {
        const order = blktraceEndianness(data.subarray(at));
        if (order === undefined)
          this.#fail(
            'magic',
            `not a blktrace file (no 0x${BLK_IO_TRACE_MAGIC.toString(16)} magic in either byte order)`,
          );
        this.littleEndian = order === 'little';
      }
      const le = this.littleEndian;
      const magic = view.getUint32(at, le);
      if ((magic & 0xffffff00) >>> 0 !== BLK_IO_TRACE_MAGIC)
        this.#fail('magic', `bad magic 0x${magic.toString(16)} (corrupt file, or events in two byte orders)`);
      if ((magic & 0xff) !== BLK_IO_TRACE_VERSION)
        this.#fail('magic', `blktrace version ${magic & 0xff}, lake reads version ${BLK_IO_TRACE_VERSION}`);
      const pduLen = view.getUint16(at + 46, le);
      if (data.length - at < BLK_IO_TRACE_BYTES + pduLen) break;
      const sectorBig = view.getBigUint64(at + 16, le);
      if (sectorBig > MAX_SECTOR_BIG)
        this.#fail('sector', `sector ${sectorBig} is out of range (its byte offset passes 2^53)`);
      const event: BlkTraceEvent = {
        sequence: view.getUint32(at + 4, le),
        timeNs: view.getBigUint64(at + 8, le),
        sector: Number(sectorBig),
        bytes: view.getUint32(at + 24, le),
        action: view.getUint32(at + 28, le),
        pid: view.getUint32(at + 32, le),
        device: view.getUint32(at + 36, le),
        cpu: view.getUint32(at + 40, le),
        error: view.getUint16(at + 44, le),
      };
      if (this.#keepPdu && pduLen > 0)
        event.pdu = data.slice(at + BLK_IO_TRACE_BYTES, at + BLK_IO_TRACE_BYTES + pduLen);
      this.#out.push(event);
      this.#index++;
      at += BLK_IO_TRACE_BYTES + pduLen;
    }
    this.#pending = data.slice(at);
  }

  end(): void {
    if (this.#pending.length > 0)
      this.#fail('pdu_len', `the file ends inside an event (${this.#pending.length} bytes left over)`);
  }

  #fail(field: string, reason: string): never {
    throw new TraceParseError({ file: this.file, line: this.#index + 1, field }, reason);
  }
}

/** Events of a blktrace buffer (one byte order, detected). */
export function parseBlktrace(bytes: Uint8Array, file = '<buffer>', keepPdu = false): BlkTraceEvent[] {
  const events: BlkTraceEvent[] = [];
  const parser = new BlktraceParser(file, events, keepPdu);
  parser.push(bytes);
  parser.end();
  return events;
}

const READ_CHUNK = 1 << 20;

/**
 * Events of blktrace files (per-CPU files of one capture, or merged ones), read in 1 MiB chunks; a gzip
 * file reads as its inflated content.
 */
export async function readBlktraceEvents(paths: string | readonly string[]): Promise<BlkTraceEvent[]> {
  const events: BlkTraceEvent[] = [];
  for (const path of typeof paths === 'string' ? [paths] : paths) {
    const source = await openByteSource(path);
    try {
      const parser = new BlktraceParser(path, events);
      const buffer = Buffer.allocUnsafe(READ_CHUNK);
      for (;;) {
        const bytesRead = await source.read(buffer, 0, READ_CHUNK);
        if (bytesRead === 0) break;
        parser.push(buffer.subarray(0, bytesRead));
      }
      parser.end();
    } finally {
      await source.close();
    }
  }
  return events;
}

/** Encodes events as a blktrace file in the given byte order (a writer for tests and conversions). */
export function encodeBlktrace(
  events: readonly BlkTraceEvent[],
  byteOrder: 'little' | 'big' = 'little',
): Uint8Array {
  let total = 0;
  for (const e of events) total += BLK_IO_TRACE_BYTES + (e.pdu?.length ?? 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const le = byteOrder === 'little';
  let at = 0;
  for (const e of events) {
    const pdu = e.pdu ?? new Uint8Array(0);
    if (pdu.length > 0xffff)
      throw new LakeError('LAKE_E_USAGE', `event ${e.sequence}: payload longer than 65535 bytes`);
    view.setUint32(at, (BLK_IO_TRACE_MAGIC | BLK_IO_TRACE_VERSION) >>> 0, le);
    view.setUint32(at + 4, e.sequence >>> 0, le);
    view.setBigUint64(at + 8, e.timeNs, le);
    view.setBigUint64(at + 16, BigInt(e.sector), le);
    view.setUint32(at + 24, e.bytes >>> 0, le);
    view.setUint32(at + 28, e.action >>> 0, le);
    view.setUint32(at + 32, e.pid >>> 0, le);
    view.setUint32(at + 36, e.device >>> 0, le);
    view.setUint32(at + 40, e.cpu >>> 0, le);
    view.setUint16(at + 44, e.error, le);
    view.setUint16(at + 46, pdu.length, le);
    out.set(pdu, at + BLK_IO_TRACE_BYTES);
    at += BLK_IO_TRACE_BYTES + pdu.length;
  }
  return out;
}

/** What pairing issues with completions went through. */
export interface BlkPairingStats {
  /** Issue (D) events of read/write requests with data. */
  issues: number;
  completions: number;
  /** Records produced (issue and completion paired, no error). */
  paired: number;
  /** Completions with no outstanding issue of their request (the capture started after the issue). */
  unmatchedCompletions: number;
  /** Issues never completed (the capture ended first, or the request was requeued and issued again). */
  unmatchedIssues: number;
  requeues: number;
  /** Paired requests that completed with an error (not recorded). */
  failed: number;
  /** D/C events skipped: discards, flushes without data, passthrough (PC) requests. */
  skipped: number;
  /** Device numbers (kernel dev_t) by the record device index they were given. */
  devices: number[];
}

export interface BlkPairing {
  records: TraceRecord[];
  stats: BlkPairingStats;
}

/** Whether an event is a read/write request with data (what pairing keeps). */
function isDataRequest(e: BlkTraceEvent): boolean {
  if ((e.action & tcAct(BLK_TC.PC | BLK_TC.DISCARD | BLK_TC.NOTIFY)) !== 0) return false;
  return e.bytes > 0;
}

const dNs = (a: bigint, b: bigint): number => Number(a - b);

/**
 * Pairs each request's issue (D) with its completion (C) by device and sector, first issued first
 * completed; a requeue (R) withdraws the oldest outstanding issue of its request (it is issued again).
 * Events may come from several per-CPU files in any order: they are put in time order first (ties by CPU,
 * then sequence, as blkparse sorts them).
 */
export function pairBlkEvents(events: readonly BlkTraceEvent[]): BlkPairing {
  const relevant = events.filter((e) => {
    const code = e.action & 0xff;
    return code === BLK_TA.ISSUE || code === BLK_TA.COMPLETE || code === BLK_TA.REQUEUE;
  });
  relevant.sort((a, b) =>
    a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : a.cpu - b.cpu || a.sequence - b.sequence,
  );
  const stats: BlkPairingStats = {
    issues: 0,
    completions: 0,
    paired: 0,
    unmatchedCompletions: 0,
    unmatchedIssues: 0,
    requeues: 0,
    failed: 0,
    skipped: 0,
    devices: [],
  };
  const deviceSet = new Set<number>();
  let base: bigint | undefined;
  for (const e of relevant) {
    if (!isDataRequest(e)) continue;
    deviceSet.add(e.device);
    if ((e.action & 0xff) === BLK_TA.ISSUE && (base === undefined || e.timeNs < base)) base = e.timeNs;
  }
  stats.devices = [...deviceSet].sort((a, b) => a - b);
  const deviceIndex = new Map(stats.devices.map((d, i) => [d, i]));
  const outstanding = new Map<string, BlkTraceEvent[]>();
  const paired: { issue: BlkTraceEvent; complete: BlkTraceEvent }[] = [];
  for (const e of relevant) {
    if (!isDataRequest(e)) {
      stats.skipped++;
      continue;
    }
    const key = `${e.device}:${e.sector}`;
    const code = e.action & 0xff;
    if (code === BLK_TA.ISSUE) {
      stats.issues++;
      const queue = outstanding.get(key);
      if (queue === undefined) outstanding.set(key, [e]);
      else queue.push(e);
    } else if (code === BLK_TA.REQUEUE) {
      stats.requeues++;
      const queue = outstanding.get(key);
      if (queue !== undefined && queue.length > 0) {
        queue.shift();
        stats.unmatchedIssues++;
      }
    } else {
      stats.completions++;
      const queue = outstanding.get(key);
      const issue = queue?.shift();
      if (issue === undefined) {
        stats.unmatchedCompletions++;
        continue;
      }
      if (e.error !== 0) {
        stats.failed++;
        continue;
      }
      paired.push({ issue, complete: e });
    }
  }
  for (const queue of outstanding.values()) stats.unmatchedIssues += queue.length;
  paired.sort(
    (a, b) =>
      (a.issue.timeNs < b.issue.timeNs ? -1 : a.issue.timeNs > b.issue.timeNs ? 1 : 0) ||
      a.issue.cpu - b.issue.cpu ||
      a.issue.sequence - b.issue.sequence,
  );
  const zero = base ?? 0n;
  const records: TraceRecord[] = paired.map(({ issue, complete }) => {
    const ms = dNs(issue.timeNs, zero) / 1e6;
    return {
      arrivalMs: ms,
      device: deviceIndex.get(issue.device)!,
      offset: issue.sector * 512,
      size: issue.bytes,
      read: (issue.action & tcAct(BLK_TC.WRITE)) === 0,
      latencyUs: dNs(complete.timeNs, issue.timeNs) / 1000,
      submitMs: ms,
    };
  });
  stats.paired = records.length;
  return { records, stats };
}

/** Per-I/O records of binary blktrace files (all per-CPU files of a capture together). */
export async function readBlktraceRecords(paths: string | readonly string[]): Promise<BlkPairing> {
  return pairBlkEvents(await readBlktraceEvents(paths));
}
