/**
 * Typed errors with stable codes (after undici). The CLI maps each code to an exit status in
 * src/cli/exit-codes.ts; across threads send `{ code, message }` and rebuild with `fromCode`.
 */
export type LakeErrorCode =
  | 'LAKE_E_USAGE'
  | 'LAKE_E_TRACE_PARSE'
  | 'LAKE_E_TRACE_FORMAT'
  | 'LAKE_E_IO'
  | 'LAKE_E_MODEL_FORMAT'
  | 'LAKE_E_MODEL_CHECKSUM'
  | 'LAKE_E_WASM_UNAVAILABLE'
  | 'LAKE_E_WORKER_CRASH'
  | 'LAKE_E_SHM_EXHAUSTED'
  | 'LAKE_E_BUSY'
  | 'LAKE_E_INTERNAL';

export class LakeError extends Error {
  readonly code: LakeErrorCode;
  constructor(code: LakeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LakeError';
    this.code = code;
  }
}

/** Where in a text input a value was bad: `file:line: field <name>: <reason>`. */
export interface InputLocation {
  readonly file: string;
  readonly line: number;
  readonly field: string;
}

export class TraceParseError extends LakeError {
  readonly file: string;
  readonly line: number;
  readonly field: string;
  constructor(where: InputLocation, reason: string) {
    super('LAKE_E_TRACE_PARSE', `${where.file}:${where.line}: field ${where.field}: ${reason}`);
    this.name = 'TraceParseError';
    this.file = where.file;
    this.line = where.line;
    this.field = where.field;
  }
}

export function usageError(message: string): LakeError {
  return new LakeError('LAKE_E_USAGE', message);
}

/** Normalise anything thrown into an Error (tinybench's toError). */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}

export function fromCode(code: LakeErrorCode, message: string): LakeError {
  return new LakeError(code, message);
}

/** The most characters of user input a message echoes (longer input is cut, with "..."). */
export const MAX_ECHO_CHARS = 80;

/**
 * A whole message made safe for a terminal: control characters escaped as in escapeInput, except the line
 * breaks and tabs a message may hold on purpose; nothing cut. The CLI's last line of defence for echoes
 * that no reader escaped.
 */
export function escapeControls(text: string): string {
  return escapeChars(text, (c) => c === 0x0a || c === 0x09);
}

/**
 * User input (a trace line, a field, a model file's value, a flag) as a message may echo it: C0 and C1
 * control characters and DEL become `\xNN`, so that a terminal escape in a file cannot act on the terminal
 * that prints the error, and the text is cut to `maxChars` characters of input. Every message that quotes
 * input goes through here.
 */
export function escapeInput(text: string, maxChars = MAX_ECHO_CHARS): string {
  const cut = text.length > maxChars;
  const shown = escapeChars(cut ? text.slice(0, Math.max(0, maxChars - 3)) : text, () => false);
  return cut ? `${shown}...` : shown;
}

/** C0 and C1 controls and DEL as `\xNN`, but those `keep` lets through. */
function escapeChars(text: string, keep: (code: number) => boolean): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 || (c >= 0x7f && c <= 0x9f)) && !keep(c)) {
      out += `${text.slice(from, i)}\\x${c.toString(16).padStart(2, '0')}`;
      from = i + 1;
    }
  }
  return out + text.slice(from);
}
