/**
 * blkparse's default text output, read into the same events as a binary blktrace file
 * (src/trace/blktrace.ts), so that one capture read either way gives identical records. A line is
 *
 *   maj,min cpu sequence seconds.nanoseconds pid action rwbs details
 *     8,0    3        7     0.000023456   697  D   W 223490 + 8 [kworker/u8:0]
 *     8,0    0        9     0.000234567     0  C   W 223490 + 8 [0]
 *
 * ("%3d,%-3d %2d %8d %5d.%09lu %5u %2s %3s " then, for issues and completions, "sector + sectors" and the
 * process name, or for completions the error, in brackets; `blkparse -t` adds an elapsed time in
 * parentheses, which is skipped). Every other line (per-CPU summaries, messages, passthrough requests) is
 * ignored. rwbs is blkparse's summary of the categories: an optional F (flush), then D (discard), W, R or N,
 * then F (FUA), A (readahead), S (sync), M (metadata).
 */
import { LakeError, TraceParseError } from '../errors.js';
import {
  BLK_TA,
  BLK_TC,
  type BlkPairing,
  type BlkTraceEvent,
  blkAction,
  devMajor,
  devMinor,
  MAX_SECTOR,
  makeDev,
  pairBlkEvents,
  tcAct,
} from './blktrace.js';
import { forEachLine, readLineChunks } from './lines.js';

/** blkparse's action letters (for the events pairing uses, and the ones it prints most). */
const ACTION_CODES: Record<string, number> = {
  Q: BLK_TA.QUEUE,
  M: BLK_TA.BACKMERGE,
  F: BLK_TA.FRONTMERGE,
  G: BLK_TA.GETRQ,
  S: BLK_TA.SLEEPRQ,
  R: BLK_TA.REQUEUE,
  D: BLK_TA.ISSUE,
  C: BLK_TA.COMPLETE,
  P: BLK_TA.PLUG,
  U: BLK_TA.UNPLUG_IO,
  UT: BLK_TA.UNPLUG_TIMER,
  I: BLK_TA.INSERT,
  X: BLK_TA.SPLIT,
  B: BLK_TA.BOUNCE,
  A: BLK_TA.REMAP,
};
const ACTION_LETTERS = new Map(Object.entries(ACTION_CODES).map(([letter, code]) => [code, letter]));

const U32 = 0xffff_ffff;
/** A kernel dev_t holds a 12-bit major and a 20-bit minor. */
const MAX_MAJOR = 0xfff;
const MAX_MINOR = 0xfffff;

const EVENT_LINE =
  /^\s*(\d+),(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\.(\d{9})\s+(\d+)\s+([A-Za-z]{1,2})\s+([A-Z]+)\s+(.*)$/;
const SECTORS = /^(\d+) \+ (\d+)(?: \(\s*\d+\))? \[(.*)\]\s*$/;

/** The category bits rwbs stands for. */
export function rwbsCategories(rwbs: string): number {
  let categories = 0;
  let i = 0;
  if (rwbs[0] === 'F' && rwbs.length > 1 && 'DWRN'.includes(rwbs[1]!)) {
    categories |= BLK_TC.FLUSH;
    i = 1;
  }
  const op = rwbs[i];
  if (op === 'D') categories |= BLK_TC.DISCARD;
  else if (op === 'W') categories |= BLK_TC.WRITE;
  else if (op === 'R') categories |= BLK_TC.READ;
  for (const c of rwbs.slice(i + 1)) {
    if (c === 'F') categories |= BLK_TC.FUA;
    else if (c === 'A') categories |= BLK_TC.AHEAD;
    else if (c === 'S') categories |= BLK_TC.SYNC;
    else if (c === 'M') categories |= BLK_TC.META;
  }
  return categories;
}

/** blkparse's rwbs of an event (its fill_rwbs). */
export function rwbsOf(e: BlkTraceEvent): string {
  const has = (c: number): boolean => (e.action & tcAct(c)) !== 0;
  let s = '';
  if (has(BLK_TC.FLUSH)) s += 'F';
  if (has(BLK_TC.DISCARD)) s += 'D';
  else if (has(BLK_TC.WRITE)) s += 'W';
  else if (e.bytes > 0) s += 'R';
  else s += 'N';
  if (has(BLK_TC.FUA)) s += 'F';
  if (has(BLK_TC.AHEAD)) s += 'A';
  if (has(BLK_TC.SYNC)) s += 'S';
  if (has(BLK_TC.META)) s += 'M';
  return s;
}

/**
 * Incremental parser of blkparse text: issue, completion and requeue events with a sector range (what
 * pairing needs); other lines are counted and ignored.
 */
export class BlkparseParser {
  readonly file: string;
  /** Lines that were events of any kind. */
  eventLines = 0;
  /** Lines that were not events (summaries, blank lines). */
  otherLines = 0;
  #line = 0;
  readonly #out: BlkTraceEvent[];

  constructor(file: string, out: BlkTraceEvent[]) {
    this.file = file;
    this.#out = out;
  }

  /** One line; `lineNumber` defaults to the line after the last one seen (pass it when blank lines are skipped). */
  line(text: string, lineNumber = this.#line + 1): void {
    this.#line = lineNumber;
    const m = EVENT_LINE.exec(text);
    if (m === null) {
      this.otherLines++;
      return;
    }
    this.eventLines++;
    const code = ACTION_CODES[m[8]!];
    if (code !== BLK_TA.ISSUE && code !== BLK_TA.COMPLETE && code !== BLK_TA.REQUEUE) return;
    const detail = SECTORS.exec(m[10]!);
    if (detail === null) return; // passthrough (PC) requests and requests without data
    const categories = rwbsCategories(m[9]!);
    const error = code === BLK_TA.COMPLETE ? Number(detail[3]) : 0;
    // Each number must fit the binary event's field (blkparse prints them from one), or it would wrap or round.
    const major = this.#bounded('major', m[1]!, MAX_MAJOR);
    const minor = this.#bounded('minor', m[2]!, MAX_MINOR);
    this.#out.push({
      sequence: this.#bounded('sequence', m[4]!, U32),
      timeNs: BigInt(m[5]!) * 1_000_000_000n + BigInt(m[6]!),
      sector: this.#bounded('sector', detail[1]!, MAX_SECTOR),
      bytes: this.#bounded('sectors', detail[2]!, Math.floor(U32 / 512)) * 512,
      action: blkAction(
        code,
        categories,
        code === BLK_TA.ISSUE ? BLK_TC.ISSUE : code === BLK_TA.COMPLETE ? BLK_TC.COMPLETE : BLK_TC.REQUEUE,
      ),
      pid: this.#bounded('pid', m[7]!, U32),
      device: makeDev(major, minor),
      cpu: this.#bounded('cpu', m[3]!, U32),
      // A completion's bracket holds its error number (a u16); anything else marks it failed.
      error: Number.isInteger(error) && error >= 0 && error <= 0xffff ? error : 1,
    });
  }

  /** A decimal field of an event line as a number no larger than `max`; TraceParseError naming it otherwise. */
  #bounded(field: string, digits: string, max: number): number {
    const value = Number(digits);
    if (!(value <= max)) {
      throw new TraceParseError(
        { file: this.file, line: this.#line, field },
        `${digits.length > 20 ? `${digits.slice(0, 20)}...` : digits} is out of range (at most ${max})`,
      );
    }
    return value;
  }

  /** The line number of the last line seen. */
  get lineNumber(): number {
    return this.#line;
  }
}

/** Issue, completion and requeue events of blkparse text. */
export function parseBlkparse(text: string, file = '<text>'): BlkTraceEvent[] {
  const events: BlkTraceEvent[] = [];
  const parser = new BlkparseParser(file, events);
  for (const line of text.split('\n')) parser.line(line);
  if (parser.eventLines === 0 && text.trim() !== '')
    throw new LakeError(
      'LAKE_E_TRACE_FORMAT',
      `${file}: no blkparse event lines (expected "maj,min cpu seq time pid action rwbs ...")`,
    );
  return events;
}

/** Events of a blkparse output file, read in chunks. */
export async function readBlkparseEvents(path: string): Promise<BlkTraceEvent[]> {
  const events: BlkTraceEvent[] = [];
  const parser = new BlkparseParser(path, events);
  let line = 1;
  for await (const chunk of readLineChunks(path)) {
    line = forEachLine(chunk, line, (start, end, n) => parser.line(chunk.toString('latin1', start, end), n));
  }
  if (parser.eventLines === 0 && parser.lineNumber > 0)
    throw new LakeError(
      'LAKE_E_TRACE_FORMAT',
      `${path}: no blkparse event lines (is it blkparse's default output?)`,
    );
  return events;
}

/** Per-I/O records of a blkparse output file (issue and completion paired, as for binary files). */
export async function readBlkparseRecords(path: string): Promise<BlkPairing> {
  return pairBlkEvents(await readBlkparseEvents(path));
}

export interface FormatBlkparseOptions {
  /** Process names by pid (blkparse learns them from notify events); "[pid]" style numbers otherwise. */
  names?: ReadonlyMap<number, string>;
}

/**
 * blkparse's default output of events (binary events -> text, as `blkparse -i` prints them): times from
 * the earliest event. Notify events print nothing here; events blkparse prints differently (remaps, plugs,
 * passthrough) print the header and their sector range only.
 */
export function formatBlkparse(
  events: readonly BlkTraceEvent[],
  options: FormatBlkparseOptions = {},
): string {
  const sorted = [...events].sort((a, b) =>
    a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : a.cpu - b.cpu || a.sequence - b.sequence,
  );
  let genesis: bigint | undefined;
  for (const e of sorted) if (genesis === undefined || e.timeNs < genesis) genesis = e.timeNs;
  const lines: string[] = [];
  for (const e of sorted) {
    if ((e.action & tcAct(BLK_TC.NOTIFY)) !== 0) continue;
    const letter = ACTION_LETTERS.get(e.action & 0xff);
    if (letter === undefined) continue;
    const t = e.timeNs - (genesis ?? 0n);
    const seconds = t / 1_000_000_000n;
    const nanos = t % 1_000_000_000n;
    const header =
      `${String(devMajor(e.device)).padStart(3)},${String(devMinor(e.device)).padEnd(3)} ${String(e.cpu).padStart(2)} ` +
      `${String(e.sequence).padStart(8)} ${String(seconds).padStart(5)}.${String(nanos).padStart(9, '0')} ` +
      `${String(e.pid).padStart(5)} ${letter.padStart(2)} ${rwbsOf(e).padStart(3)} `;
    const bracket =
      (e.action & 0xff) === BLK_TA.COMPLETE ? String(e.error) : (options.names?.get(e.pid) ?? String(e.pid));
    // Requests without data (flushes) print no sector range.
    const range = e.bytes >= 512 ? `${e.sector} + ${Math.floor(e.bytes / 512)} ` : '';
    lines.push(`${header}${range}[${bracket}]`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
