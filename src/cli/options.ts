import { escapeInput, usageError } from '../errors.js';
import { type TraceFormat, traceFormats } from '../trace/types.js';

/** Option parsers shared by the commands; each names the option in its error. */
export function parseIntOption(name: string, value: string, min = 0): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw usageError(`${name} must be an integer >= ${min}, got "${escapeInput(value)}"`);
  return n;
}

export function parseNumberOption(name: string, value: string, min = 0): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min)
    throw usageError(`${name} must be a number >= ${min}, got "${escapeInput(value)}"`);
  return n;
}

export function parseFormatOption(value: string | undefined): TraceFormat | undefined {
  if (value === undefined) return undefined;
  const format = traceFormats.find((f) => f === value);
  if (format === undefined)
    throw usageError(`--format must be one of ${traceFormats.join(', ')}, got "${escapeInput(value)}"`);
  return format;
}

export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
