/**
 * Option parsers shared by the commands. Each checks the text the user typed (not what Number() makes of
 * it: `1e30` is no integer seed, `0x10` no duration, an empty string no zero), names the flag as typed and
 * echoes the user's text verbatim, control characters escaped. Library messages name their options as
 * `options.x`; the CLI validates its flags here first so that a user never sees those names.
 */
import { escapeInput, usageError } from '../errors.js';
import { type TraceFormat, traceFormats } from '../trace/types.js';

/**
 * The largest seed. lake's generator (src/random.ts) takes its seed modulo 2^32, so a larger seed would
 * silently run as a smaller one; seeds outside 0..2^32-1 are refused instead.
 */
export const MAX_SEED = 2 ** 32 - 1;

const INTEGER_TEXT = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** The user's text as a message quotes it. */
export function echoOption(value: string): string {
  return `"${escapeInput(value)}"`;
}

/** An integer in min..max (inclusive), written as decimal digits. */
export function parseIntOption(name: string, value: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const text = value.trim();
  const n = Number(text);
  if (!INTEGER_TEXT.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    const bounded = max < Number.MAX_SAFE_INTEGER;
    const what =
      min === 0
        ? `a non-negative integer${bounded ? ` <= ${max}` : ''}`
        : `an integer ${bounded ? `in ${min}..${max}` : `>= ${min}`}`;
    throw usageError(`${name} must be ${what}, got ${echoOption(value)}`);
  }
  return n;
}

/** A seed: an integer in 0..MAX_SEED, used exactly as typed. */
export function parseSeedOption(name: string, value: string): number {
  return parseIntOption(name, value, 0, MAX_SEED);
}

/** Bounds of a number option: `min`/`max` inclusive, `above`/`below` exclusive. */
export interface NumberRange {
  min?: number;
  max?: number;
  above?: number;
  below?: number;
}

function describeRange(range: NumberRange): string {
  const { min, max, above, below } = range;
  if (above === 0 && min === undefined && max === undefined && below === undefined)
    return 'a positive number';
  const parts: string[] = [];
  if (range.min !== undefined) parts.push(`>= ${range.min}`);
  if (range.above !== undefined) parts.push(`> ${range.above}`);
  if (range.max !== undefined) parts.push(`<= ${range.max}`);
  if (range.below !== undefined) parts.push(`< ${range.below}`);
  return parts.length === 0 ? 'a finite number' : `a number ${parts.join(' and ')}`;
}

/**
 * A finite decimal number (`12`, `0.5`, `1e3`) within `range`; a bare number is the inclusive minimum
 * (the common `>= 0`).
 */
export function parseNumberOption(name: string, value: string, range: number | NumberRange = 0): number {
  const bounds: NumberRange = typeof range === 'number' ? { min: range } : range;
  const text = value.trim();
  const n = Number(text);
  const ok =
    DECIMAL_TEXT.test(text) &&
    Number.isFinite(n) &&
    (bounds.min === undefined || n >= bounds.min) &&
    (bounds.above === undefined || n > bounds.above) &&
    (bounds.max === undefined || n <= bounds.max) &&
    (bounds.below === undefined || n < bounds.below);
  if (!ok) throw usageError(`${name} must be ${describeRange(bounds)}, got ${echoOption(value)}`);
  return n;
}

export function parseFormatOption(value: string | undefined): TraceFormat | undefined {
  if (value === undefined) return undefined;
  const format = traceFormats.find((f) => f === value);
  if (format === undefined)
    throw usageError(`--format must be one of ${traceFormats.join(', ')}, got ${echoOption(value)}`);
  return format;
}

/** One of `allowed`, or a usage error naming the flag and the choices. */
export function parseChoiceOption<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined)
    throw usageError(`${name} must be one of ${allowed.join(', ')}, got ${echoOption(value)}`);
  return found;
}

export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
