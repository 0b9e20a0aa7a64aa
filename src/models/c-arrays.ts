import { escapeInput, LakeError } from '../errors.js';

/**
 * Reads the initialised arrays of a C header such as the LinnOS weight headers: `long name[256*31] = {...};`,
 * `long name[256][2] = {{..},{..}};`, `char name[] = "text";`. Comments, preprocessor lines, any whitespace,
 * nested braces and trailing commas are accepted; values must be integer literals (optionally signed, with
 * integer suffixes). Errors are LAKE_E_MODEL_FORMAT naming `file:line` and the array.
 */
export interface CArray {
  name: string;
  /** The type words before the name, e.g. "long" or "static const int". */
  type: string;
  /** Declared dimensions; undefined for `[]`. */
  dims: (number | undefined)[];
  /** The integer values, flattened in row-major order (empty for a string initialiser). */
  values: number[];
  /** The string initialiser, if any. */
  text?: string;
  /** Line of the array's name. */
  line: number;
}

type TokenKind = 'word' | 'number' | 'string' | 'char' | 'punct';
interface Token {
  kind: TokenKind;
  text: string;
  line: number;
}

const PUNCTUATION = new Set(['[', ']', '{', '}', ',', ';', '=', '*', '+', '-', '(', ')']);

function formatError(file: string, line: number, message: string): LakeError {
  return new LakeError('LAKE_E_MODEL_FORMAT', `${file}:${line}: ${message}`);
}

function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let atLineStart = true;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '\n') {
      line++;
      atLineStart = true;
      i++;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\f' || ch === '\v') {
      i++;
      continue;
    }
    if (ch === '#' && atLineStart) {
      // A preprocessor line, with its backslash continuations.
      while (i < text.length && text[i] !== '\n') {
        if (text[i] === '\\' && text[i + 1] === '\n') {
          line++;
          i++;
        }
        i++;
      }
      continue;
    }
    atLineStart = false;
    if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw formatError(file, line, 'unterminated /* comment');
      for (let k = i; k < end; k++) if (text[k] === '\n') line++;
      i = end + 2;
      continue;
    }
    if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (ch === '"' || ch === "'") {
      let k = i + 1;
      while (k < text.length && text[k] !== ch && text[k] !== '\n') k += text[k] === '\\' ? 2 : 1;
      if (text[k] !== ch)
        throw formatError(file, line, `unterminated ${ch === '"' ? 'string' : 'character'} literal`);
      tokens.push({ kind: ch === '"' ? 'string' : 'char', text: text.slice(i + 1, k), line });
      i = k + 1;
      continue;
    }
    if (/[A-Za-z_]/.test(ch)) {
      let k = i + 1;
      while (k < text.length && /[A-Za-z0-9_]/.test(text[k]!)) k++;
      tokens.push({ kind: 'word', text: text.slice(i, k), line });
      i = k;
      continue;
    }
    if (/[0-9]/.test(ch)) {
      let k = i + 1;
      while (k < text.length && /[A-Za-z0-9_.]/.test(text[k]!)) k++;
      tokens.push({ kind: 'number', text: text.slice(i, k), line });
      i = k;
      continue;
    }
    if (PUNCTUATION.has(ch)) {
      tokens.push({ kind: 'punct', text: ch, line });
      i++;
      continue;
    }
    throw formatError(file, line, `unexpected character '${escapeInput(ch)}'`);
  }
  return tokens;
}

/** An integer literal: decimal, hex (0x) or octal (leading 0), with optional u/l suffixes. */
function integerLiteral(text: string): number | undefined {
  const match = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([uU]?[lL]{0,2}|[lL]{1,2}[uU])$/.exec(text);
  if (match === null) return undefined;
  const digits = match[1]!;
  let value: number;
  if (/^0[xX]/.test(digits)) value = Number.parseInt(digits.slice(2), 16);
  else if (digits.length > 1 && digits.startsWith('0')) value = Number.parseInt(digits, 8);
  else value = Number(digits);
  return Number.isSafeInteger(value) ? value : undefined;
}

class Parser {
  #tokens: Token[];
  #file: string;
  #at = 0;

  constructor(tokens: Token[], file: string) {
    this.#tokens = tokens;
    this.#file = file;
  }

  get done(): boolean {
    return this.#at >= this.#tokens.length;
  }

  peek(): Token | undefined {
    return this.#tokens[this.#at];
  }

  next(context: string): Token {
    const token = this.#tokens[this.#at++];
    if (token === undefined) {
      const last = this.#tokens[this.#tokens.length - 1];
      throw formatError(this.#file, last?.line ?? 1, `${context}: unexpected end of file (truncated?)`);
    }
    return token;
  }

  expect(text: string, context: string): Token {
    const token = this.next(context);
    if (token.text !== text || token.kind === 'string' || token.kind === 'char') {
      throw formatError(
        this.#file,
        token.line,
        `${context}: expected '${text}', got '${escapeInput(token.text)}'`,
      );
    }
    return token;
  }

  accept(text: string): boolean {
    const token = this.peek();
    if (token !== undefined && token.kind === 'punct' && token.text === text) {
      this.#at++;
      return true;
    }
    return false;
  }

  fail(line: number, message: string): never {
    throw formatError(this.#file, line, message);
  }
}

/** A dimension: integer literals joined by * and +, e.g. `256*31` or `1*256`. */
function parseDimension(parser: Parser, context: string): number | undefined {
  if (parser.accept(']')) return undefined;
  let total = 0;
  let product = 1;
  for (;;) {
    const token = parser.next(context);
    const value = token.kind === 'number' ? integerLiteral(token.text) : undefined;
    if (value === undefined)
      parser.fail(token.line, `${context}: dimension '${escapeInput(token.text)}' is not an integer`);
    product *= value;
    if (parser.accept('*')) continue;
    total += product;
    product = 1;
    if (parser.accept('+')) continue;
    parser.expect(']', context);
    return total;
  }
}

/**
 * Braces an initialiser may nest (C allows one level per dimension; LinnOS headers use two). The limit keeps
 * a hostile header from exhausting the stack of the recursive parse.
 */
export const MAX_BRACE_DEPTH = 32;

/** A brace initialiser, flattened: nested braces only group values. */
function parseInitializer(parser: Parser, context: string, values: number[], depth = 1): void {
  const open = parser.expect('{', context);
  if (depth > MAX_BRACE_DEPTH)
    parser.fail(open.line, `${context}: braces nested deeper than ${MAX_BRACE_DEPTH}`);
  for (;;) {
    if (parser.accept('}')) return;
    const first = parser.peek();
    if (first?.kind === 'punct' && first.text === '{') {
      parseInitializer(parser, context, values, depth + 1);
    } else {
      let sign = 1;
      for (;;) {
        if (parser.accept('-')) sign = -sign;
        else if (!parser.accept('+')) break;
      }
      const token = parser.next(context);
      const value = token.kind === 'number' ? integerLiteral(token.text) : undefined;
      if (value === undefined) {
        parser.fail(
          token.line,
          `${context}: value ${values.length}: expected an integer, got '${escapeInput(token.text)}'`,
        );
      }
      values.push(sign * value);
    }
    if (parser.accept('}')) return;
    const separator = parser.next(context);
    if (separator.text !== ',') {
      parser.fail(
        separator.line,
        `${context}: value ${values.length}: expected ',' or '}', got '${escapeInput(separator.text)}'`,
      );
    }
  }
}

/** Every array declared in `text`, by name. Declarations that are not arrays are skipped. */
export function parseCArrays(text: string, file: string): Map<string, CArray> {
  const parser = new Parser(tokenize(text, file), file);
  const arrays = new Map<string, CArray>();
  while (!parser.done) {
    // One declaration: type words, then a name, then dimensions, then an optional initialiser, then ';'.
    const words: Token[] = [];
    while (parser.peek()?.kind === 'word') words.push(parser.next('declaration'));
    const nameToken = words.pop();
    if (nameToken === undefined || !parser.accept('[')) {
      // Not an array: skip to the end of the statement.
      while (!parser.done && !parser.accept(';')) parser.next('declaration');
      continue;
    }
    const name = nameToken.text;
    const context = `array ${name}`;
    if (arrays.has(name)) parser.fail(nameToken.line, `${context} is declared twice`);
    const dims: (number | undefined)[] = [parseDimension(parser, context)];
    while (parser.accept('[')) dims.push(parseDimension(parser, context));
    const array: CArray = {
      name,
      type: words.map((w) => w.text).join(' '),
      dims,
      values: [],
      line: nameToken.line,
    };
    const initialised = parser.accept('=');
    if (initialised) {
      const next = parser.peek();
      if (next?.kind === 'string') array.text = parser.next(context).text;
      else parseInitializer(parser, context, array.values);
    }
    parser.expect(';', context);
    const declared = dims.every((d) => d !== undefined)
      ? dims.reduce<number>((a, d) => a * (d ?? 1), 1)
      : undefined;
    if (
      initialised &&
      declared !== undefined &&
      array.text === undefined &&
      array.values.length !== declared
    ) {
      parser.fail(
        nameToken.line,
        `${context}: ${array.values.length} values for declared size ${dims.map((d) => `[${d}]`).join('')} = ${declared}`,
      );
    }
    arrays.set(name, array);
  }
  return arrays;
}
