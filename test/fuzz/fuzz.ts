/**
 * What every fuzz test shares: one seed, the per-input budget, the outcome check (a value, or a LakeError
 * with one of the codes the reader documents; never a TypeError or RangeError, never a message echoing raw
 * control characters), and byte-level mutations of valid inputs.
 *
 * Every run is deterministic: fast-check draws from FUZZ_SEED, and a failure prints the seed and path that
 * replay it (`fc.assert(..., { seed, path })`).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LakeError, type LakeErrorCode } from '../../src/errors.js';
import { controlIn } from '../helpers/controls.js';

export const FUZZ_SEED = 0x1a4e_2025;

/**
 * The most one input may take. Readers do work linear in their input, microseconds for the few hundred
 * bytes a case holds: an input over this budget is a hang in the making (a super-linear path such as a
 * backtracking regular expression, or a loop driven by a corrupt count), not a slow machine.
 */
export const INPUT_BUDGET_MS = 1000;

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: LakeError };

function checkThrown(thrown: unknown, codes: readonly LakeErrorCode[]): LakeError {
  if (!(thrown instanceof LakeError)) {
    // Not a coded error: the reader crashed. Rethrow so fast-check shrinks and reports the input.
    throw thrown;
  }
  assert.ok(
    codes.includes(thrown.code),
    `code ${thrown.code} not among ${codes.join(', ')}: ${thrown.message}`,
  );
  assert.ok(thrown.message.length > 0, 'empty message');
  const control = controlIn(thrown.message);
  assert.equal(control, undefined, `raw ${control} in message ${JSON.stringify(thrown.message)}`);
  return thrown;
}

function checkBudget(started: number, what: string): void {
  const took = performance.now() - started;
  assert.ok(took <= INPUT_BUDGET_MS, `${what} took ${took.toFixed(0)} ms on one input`);
}

/** Runs a reader on one input: its value, or the coded LakeError it threw. */
export function outcomeOf<T>(codes: readonly LakeErrorCode[], run: () => T, what = 'reader'): Outcome<T> {
  const started = performance.now();
  let result: Outcome<T>;
  try {
    const value = run();
    assert.notEqual(value, undefined, `${what} returned undefined`);
    result = { ok: true, value };
  } catch (thrown) {
    result = { ok: false, error: checkThrown(thrown, codes) };
  }
  checkBudget(started, what);
  return result;
}

/** outcomeOf for an async reader. */
export async function outcomeOfAsync<T>(
  codes: readonly LakeErrorCode[],
  run: () => Promise<T>,
  what = 'reader',
): Promise<Outcome<T>> {
  const started = performance.now();
  let result: Outcome<T>;
  try {
    const value = await run();
    assert.notEqual(value, undefined, `${what} returned undefined`);
    result = { ok: true, value };
  } catch (thrown) {
    result = { ok: false, error: checkThrown(thrown, codes) };
  }
  checkBudget(started, what);
  return result;
}

/** Field values that break parsers: signs, non-finite spellings, limits of doubles and integers, junk. */
export const NASTY_FIELDS = [
  '',
  ' ',
  '-1',
  '-0',
  '0',
  '00',
  'NaN',
  'nan',
  'Infinity',
  '-Infinity',
  'inf',
  '1e308',
  '1e309',
  '-1e309',
  '4e-324',
  '1e-400',
  '9007199254740991',
  '9007199254740993',
  '18446744073709551616',
  '340282366920938463463374607431768211456',
  '0x1f',
  '1_000',
  '1.5',
  '.',
  '..',
  '1e',
  '1e+',
  '+',
  '-',
  '--1',
  '1.2.3',
  '\u0000',
  '\u001b[31m',
  '\u009b2J',
  '\u007f',
  '\u0663',
  '\uff11',
  'Read',
  'Write',
  'read',
  'WRITE',
  '\ud83d\udca5',
  'x'.repeat(200),
  '9'.repeat(400),
];

const encoder = new TextEncoder();
const NASTY_BYTES = NASTY_FIELDS.map((f) => encoder.encode(f));
/** Bytes a mutation inserts: separators, line breaks, NUL, ESC, invalid UTF-8, a gzip magic. */
const INSERTS = [
  ',',
  ' ',
  '\t',
  '\n',
  '\r\n',
  '\r',
  '\n\n\n',
  '\u0000',
  '\u001b',
  '{',
  '}',
  '"',
  '[',
  ';',
].map((s) => encoder.encode(s));
INSERTS.push(Uint8Array.of(0xff), Uint8Array.of(0xc3), Uint8Array.of(0x1f, 0x8b), Uint8Array.of(0x80, 0x80));

/** One change to a byte string, as data (so that a counterexample prints readably). */
export type Mutation =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; what: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'field'; index: number; value: number }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'duplicate-line'; index: number; times: number }
  | { kind: 'crlf' };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), what: fc.nat(INSERTS.length - 1) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('field' as const), index: fc.nat(), value: fc.nat(NASTY_BYTES.length - 1) }),
  fc.record({ kind: fc.constant('field' as const), index: fc.nat(), value: fc.nat(NASTY_BYTES.length - 1) }),
  fc.record({ kind: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({
    kind: fc.constant('duplicate-line' as const),
    index: fc.nat(),
    times: fc.integer({ min: 1, max: 3 }),
  }),
  fc.constant({ kind: 'crlf' as const }),
);

const SEPARATORS = new Set([44, 32, 9, 10, 13, 59, 123, 125]);

/** [start, end) of each field: runs of bytes between separators (commas, blanks, line breaks, braces). */
function fieldSpans(bytes: Uint8Array): [number, number][] {
  const spans: [number, number][] = [];
  let start = -1;
  for (let i = 0; i <= bytes.length; i++) {
    const separator = i === bytes.length || SEPARATORS.has(bytes[i]!);
    if (separator && start >= 0) {
      spans.push([start, i]);
      start = -1;
    } else if (!separator && start < 0) {
      start = i;
    }
  }
  return spans;
}

function lineSpans(bytes: Uint8Array): [number, number][] {
  const spans: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 10) {
      spans.push([start, i + 1]);
      start = i + 1;
    }
  }
  if (start < bytes.length) spans.push([start, bytes.length]);
  return spans;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function applyMutation(bytes: Uint8Array, m: Mutation): Uint8Array {
  const n = bytes.length;
  switch (m.kind) {
    case 'set': {
      if (n === 0) return bytes;
      const out = bytes.slice();
      out[m.at % n] = m.value;
      return out;
    }
    case 'truncate':
      return bytes.slice(0, m.at % (n + 1));
    case 'insert': {
      const at = m.at % (n + 1);
      return concat(bytes.subarray(0, at), INSERTS[m.what]!, bytes.subarray(at));
    }
    case 'delete': {
      if (n === 0) return bytes;
      const at = m.at % n;
      return concat(bytes.subarray(0, at), bytes.subarray(Math.min(n, at + m.length)));
    }
    case 'field': {
      const spans = fieldSpans(bytes);
      if (spans.length === 0) return bytes;
      const [s, e] = spans[m.index % spans.length]!;
      return concat(bytes.subarray(0, s), NASTY_BYTES[m.value]!, bytes.subarray(e));
    }
    case 'swap': {
      const spans = fieldSpans(bytes);
      if (spans.length < 2) return bytes;
      let [x, y] = [spans[m.a % spans.length]!, spans[m.b % spans.length]!];
      if (x[0] === y[0]) return bytes;
      if (x[0] > y[0]) [x, y] = [y, x];
      return concat(
        bytes.subarray(0, x[0]),
        bytes.subarray(y[0], y[1]),
        bytes.subarray(x[1], y[0]),
        bytes.subarray(x[0], x[1]),
        bytes.subarray(y[1]),
      );
    }
    case 'duplicate-line': {
      const spans = lineSpans(bytes);
      if (spans.length === 0) return bytes;
      const [s, e] = spans[m.index % spans.length]!;
      const line = bytes.subarray(s, e);
      const copies = Array.from({ length: m.times }, () => line);
      return concat(bytes.subarray(0, e), ...copies, bytes.subarray(e));
    }
    case 'crlf': {
      const parts: Uint8Array[] = [];
      let from = 0;
      for (let i = 0; i < n; i++) {
        if (bytes[i] === 10) {
          parts.push(bytes.subarray(from, i), Uint8Array.of(13, 10));
          from = i + 1;
        }
      }
      parts.push(bytes.subarray(from));
      return concat(...parts);
    }
  }
}

/** Valid inputs with one to four mutations applied. */
export function mutatedFrom(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(valid, fc.array(mutationArb, { minLength: 1, maxLength: 4 }))
    .map(([bytes, mutations]) => mutations.reduce(applyMutation, bytes));
}

/** Text made of a format's own tokens in random order: reaches deeper parser states than random bytes. */
export function tokenSoup(tokens: readonly string[], maxTokens = 60): fc.Arbitrary<Uint8Array> {
  return fc
    .array(fc.oneof(fc.constantFrom(...tokens), fc.constantFrom(...NASTY_FIELDS)), { maxLength: maxTokens })
    .map((parts) => encoder.encode(parts.join('')));
}

/** Any bytes at all, and any text. */
export const randomBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 400 }),
  fc.string({ unit: 'binary', maxLength: 200 }).map((s) => encoder.encode(s)),
);

export const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
export const utf8 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
