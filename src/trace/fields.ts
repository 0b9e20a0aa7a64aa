/**
 * Byte-level field scanning for trace lines. Trace files run to tens of millions of lines, so a line is
 * never turned into a string: fields are located and numbers parsed straight from the file's bytes.
 * Every failure is a TraceParseError naming the file, line and column.
 */
import { escapeInput, TraceParseError } from '../errors.js';

const COMMA = 44;
const SPACE = 32;
const TAB = 9;
const DOT = 46;
const MINUS = 45;
const PLUS = 43;
const ZERO = 48;
const NINE = 57;
const LOWER_E = 101;
const UPPER_E = 69;

/** Above this a mantissa times 10 plus a digit could pass 2^53, where the fast path stops being exact. */
const MANTISSA_LIMIT = 900719925474099;
/** 10^0..10^22 are exact doubles: one multiply or divide by them rounds correctly (Clinger's fast path). */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => 10 ** i);

/** How the columns of a line are separated. */
export type Separator = 'comma' | 'whitespace';

/**
 * Walks the columns of one line. `begin(...)` points it at a line; each `next*` call moves to the next
 * column (named by `columns`) and returns its value or throws a TraceParseError for that column.
 */
export class FieldCursor {
  readonly file: string;
  readonly columns: readonly string[];
  /** Columns every line must have (trailing optional ones beyond this). */
  readonly required: number;
  readonly #comma: boolean;
  #buf: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #end = 0;
  #line = 0;
  #column = 0;
  #start = 0;
  #stop = 0;

  constructor(file: string, columns: readonly string[], separator: Separator, required = columns.length) {
    this.file = file;
    this.columns = columns;
    this.required = required;
    this.#comma = separator === 'comma';
  }

  /** Point at bytes [start, end) of `buf`, which hold line number `line` without its line break. */
  begin(buf: Uint8Array, start: number, end: number, line: number): void {
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
    this.#line = line;
    this.#column = 0;
  }

  /** A column's name for errors; columns past the format's own are "column N". */
  #name(column: number): string {
    return this.columns[column] ?? `column ${column + 1}`;
  }

  /** An error about the column just read. */
  fail(reason: string): TraceParseError {
    return new TraceParseError(
      { file: this.file, line: this.#line, field: this.#name(this.#column - 1) },
      reason,
    );
  }

  /** Whether another column follows (used for optional trailing columns). */
  hasMore(): boolean {
    if (this.#comma) return this.#pos <= this.#end && this.#column > 0;
    const buf = this.#buf;
    let p = this.#pos;
    while (p < this.#end && (buf[p] === SPACE || buf[p] === TAB)) p++;
    return p < this.#end;
  }

  /** Throw if columns remain after the last expected one. */
  finish(): void {
    if (!this.hasMore()) return;
    const expected = this.#column;
    let count = expected;
    while (this.hasMore()) {
      this.#advance();
      count++;
    }
    throw new TraceParseError(
      { file: this.file, line: this.#line, field: this.#name(expected) },
      `unexpected extra column: expected ${expected} columns, got ${count}`,
    );
  }

  /** Move to the next column; a missing one means the line was cut short. */
  #advance(): void {
    const buf = this.#buf;
    const end = this.#end;
    const column = this.#column;
    if (this.#comma) {
      // After the last column #pos sits one past the end of the line.
      if (this.#pos > end) this.#truncated();
      let p = this.#pos;
      while (p < end && buf[p] !== COMMA) p++;
      let s = this.#pos;
      let e = p;
      while (s < e && (buf[s] === SPACE || buf[s] === TAB)) s++;
      while (e > s && (buf[e - 1] === SPACE || buf[e - 1] === TAB)) e--;
      this.#start = s;
      this.#stop = e;
      this.#pos = p + 1;
    } else {
      let p = this.#pos;
      while (p < end && (buf[p] === SPACE || buf[p] === TAB)) p++;
      if (p >= end) this.#truncated();
      const s = p;
      while (p < end && buf[p] !== SPACE && buf[p] !== TAB) p++;
      this.#start = s;
      this.#stop = p;
      this.#pos = p;
    }
    this.#column = column + 1;
  }

  #truncated(): never {
    const expected = this.required;
    throw new TraceParseError(
      { file: this.file, line: this.#line, field: this.#name(this.#column) },
      `line truncated: ${this.#column} of ${expected} columns`,
    );
  }

  /** The current field's text (for non-numeric columns). */
  text(): string {
    return latin1(this.#buf, this.#start, this.#stop);
  }

  /** The current field's text as a message may echo it (controls escaped, cut short). */
  shown(): string {
    return escapeInput(this.text());
  }

  /** Skip a column whose content does not matter, but which must be present and non-empty. */
  nextPresent(): void {
    this.#advance();
    if (this.#start === this.#stop) throw this.fail('missing value');
  }

  /** Any finite decimal number. */
  nextNumber(): number {
    this.#advance();
    return this.#number();
  }

  /** A finite number >= 0. */
  nextNonNegative(): number {
    const v = this.nextNumber();
    if (v < 0) throw this.fail(`must be >= 0, got ${this.shown()}`);
    return v === 0 ? 0 : v; // no -0
  }

  /** An integer >= 0 (device numbers, offsets, counters). */
  nextCount(): number {
    const v = this.nextNumber();
    if (!Number.isSafeInteger(v)) throw this.fail(`not an integer: "${this.shown()}"`);
    if (v < 0) throw this.fail(`must be >= 0, got ${this.shown()}`);
    return v === 0 ? 0 : v; // no -0
  }

  /** An integer of any sign. */
  nextInteger(): number {
    const v = this.nextNumber();
    if (!Number.isSafeInteger(v)) throw this.fail(`not an integer: "${this.shown()}"`);
    return v;
  }

  /** A size in bytes: an integer > 0. */
  nextSize(): number {
    const v = this.nextNumber();
    if (!Number.isSafeInteger(v)) throw this.fail(`not an integer: "${this.shown()}"`);
    if (v <= 0) throw this.fail(`size must be > 0, got ${this.shown()}`);
    return v;
  }

  /** The numeric op flag of the LinnOS and Heimdall formats: 1 = read, 0 = write. */
  nextOpFlag(): boolean {
    this.#advance();
    const buf = this.#buf;
    if (this.#stop - this.#start === 1) {
      const c = buf[this.#start];
      if (c === ZERO + 1) return true;
      if (c === ZERO) return false;
    }
    if (this.#start === this.#stop) throw this.fail('missing value');
    throw this.fail(`unknown op "${this.shown()}" (expected 1 = read or 0 = write)`);
  }

  /** The word op of MSR traces: Read or Write (any case). */
  nextOpWord(): boolean {
    this.#advance();
    const s = this.#start;
    const n = this.#stop - s;
    const buf = this.#buf;
    if (n === 4 && matchesLower(buf, s, 'read')) return true;
    if (n === 5 && matchesLower(buf, s, 'write')) return false;
    if (n === 0) throw this.fail('missing value');
    throw this.fail(`unknown op "${this.shown()}" (expected Read or Write)`);
  }

  /**
   * A long unsigned integer split at its last `lowDigits` digits, for values beyond 2^53 such as Windows
   * filetimes (about 1.3e17): returns [high, low] with value = high * 10^lowDigits + low.
   */
  nextSplitUnsigned(lowDigits: number): [number, number] {
    this.#advance();
    const buf = this.#buf;
    const s = this.#start;
    const e = this.#stop;
    if (s === e) throw this.fail('missing value');
    for (let p = s; p < e; p++) {
      const c = buf[p]!;
      if (c < ZERO || c > NINE) throw this.fail(`not an unsigned integer: "${this.shown()}"`);
    }
    const split = Math.max(s, e - lowDigits);
    const high = digitsValue(buf, s, split);
    if (!Number.isSafeInteger(high)) throw this.fail(`too large: "${this.shown()}"`);
    return [high, digitsValue(buf, split, e)];
  }

  #number(): number {
    const v = parseDecimal(this.#buf, this.#start, this.#stop);
    if (Number.isFinite(v)) return v;
    if (this.#start === this.#stop) throw this.fail('missing value');
    const text = this.text();
    if (Number.isNaN(v) && !/^[-+]?(nan|inf(inity)?)$/i.test(text))
      throw this.fail(`not a number: "${escapeInput(text)}"`);
    throw this.fail(`not a finite number: "${escapeInput(text)}"`);
  }
}

function matchesLower(buf: Uint8Array, s: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) if ((buf[s + i]! | 0x20) !== word.charCodeAt(i)) return false;
  return true;
}

function digitsValue(buf: Uint8Array, s: number, e: number): number {
  let v = 0;
  for (let p = s; p < e; p++) v = v * 10 + (buf[p]! - ZERO);
  return v;
}

export function latin1(buf: Uint8Array, s: number, e: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('latin1');
}

/**
 * Parse a decimal number ([+-]digits[.digits][e[+-]digits]) from bytes [s, e). NaN for anything else
 * (including an empty field, "NaN" and "Infinity"); +-Infinity when the exponent overflows. Exact: short
 * mantissas use one correctly rounded multiply or divide by an exact power of ten, longer ones go through
 * Number(), which rounds correctly.
 */
export function parseDecimal(buf: Uint8Array, s: number, e: number): number {
  let p = s;
  let negative = false;
  const first = buf[p];
  if (first === MINUS) {
    negative = true;
    p++;
  } else if (first === PLUS) {
    p++;
  }
  let mantissa = 0;
  let digits = 0;
  let fractionDigits = 0;
  let exact = true;
  while (p < e) {
    const c = buf[p]!;
    if (c < ZERO || c > NINE) break;
    if (mantissa >= MANTISSA_LIMIT) exact = false;
    mantissa = mantissa * 10 + (c - ZERO);
    digits++;
    p++;
  }
  if (p < e && buf[p] === DOT) {
    p++;
    while (p < e) {
      const c = buf[p]!;
      if (c < ZERO || c > NINE) break;
      if (mantissa >= MANTISSA_LIMIT) exact = false;
      mantissa = mantissa * 10 + (c - ZERO);
      digits++;
      fractionDigits++;
      p++;
    }
  }
  if (digits === 0) return Number.NaN;
  let exponent = 0;
  if (p < e && (buf[p] === LOWER_E || buf[p] === UPPER_E)) {
    p++;
    let negativeExponent = false;
    if (buf[p] === MINUS) {
      negativeExponent = true;
      p++;
    } else if (buf[p] === PLUS) {
      p++;
    }
    const start = p;
    while (p < e) {
      const c = buf[p]!;
      if (c < ZERO || c > NINE) break;
      if (exponent < 100000) exponent = exponent * 10 + (c - ZERO);
      p++;
    }
    if (p === start) return Number.NaN;
    if (negativeExponent) exponent = -exponent;
  }
  if (p !== e) return Number.NaN;
  const power = exponent - fractionDigits;
  let value: number;
  if (exact && power >= 0 && power <= 22) value = mantissa * POWERS_OF_TEN[power]!;
  else if (exact && power < 0 && power >= -22) value = mantissa / POWERS_OF_TEN[-power]!;
  else value = Number(latin1(buf, negative || first === PLUS ? s + 1 : s, e));
  return negative ? -value : value;
}
