import { PtxFault } from './fault.js';

/**
 * A PTX module parsed into directives, entries, register declarations, labels and instructions: a
 * tokenizer (words, numbers, punctuation, comments skipped, each token with its line) and a
 * recursive-descent parser over the module grammar lake's generator uses. Meaning (types, operand kinds)
 * is checked later, when instructions are decoded.
 */
export type PtxOperand =
  /** A register or special register (`%acc`, `%tid.x`). */
  | { readonly kind: 'reg'; readonly name: string }
  /** An integer immediate (exact, any width), or a float one (`0d` f64 / `0f` f32 bit patterns). */
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'float'; readonly value: number }
  /** `[base]` or `[base+offset]`; base is a register or a symbol (a parameter). */
  | { readonly kind: 'address'; readonly base: string; readonly offset: number }
  /** A label or a symbol used as a value (`lake_smem`). */
  | { readonly kind: 'symbol'; readonly name: string };

export interface PtxInstruction {
  readonly line: number;
  /** The statement as written (for messages). */
  readonly text: string;
  readonly guard: { readonly register: string; readonly negated: boolean } | undefined;
  readonly opcode: string;
  readonly operands: readonly PtxOperand[];
}

export interface PtxDeclaration {
  readonly name: string;
  /** The declared type without its dot (`u64`, `b32`, `pred`, `f64`). */
  readonly type: string;
  readonly line: number;
}

export interface PtxEntry {
  readonly name: string;
  readonly line: number;
  readonly params: readonly PtxDeclaration[];
  readonly registers: readonly PtxDeclaration[];
  readonly instructions: readonly PtxInstruction[];
  /** Label name to the index of the instruction it precedes. */
  readonly labels: ReadonlyMap<string, number>;
}

export interface PtxModule {
  readonly version: string;
  readonly target: readonly string[];
  readonly addressSize: number;
  /** `.extern .shared` arrays: all start at the dynamic shared window's address 0. */
  readonly sharedSymbols: readonly string[];
  readonly entries: ReadonlyMap<string, PtxEntry>;
}

interface Token {
  readonly kind: 'word' | 'number' | 'punct';
  readonly text: string;
  readonly line: number;
}

const WORD_START = /[A-Za-z_$%.]/;
const WORD_PART = /[A-Za-z0-9_$.]/;
const PUNCT = new Set([',', ';', ':', '[', ']', '(', ')', '{', '}', '+', '-', '@', '!', '<', '>']);

function tokenize(text: string): { tokens: Token[]; lines: readonly string[] } {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new PtxFault('syntax', line, `PTX line ${line}: unterminated /* comment`);
      for (let k = i; k < end; k++) if (text[k] === '\n') line++;
      i = end + 2;
    } else if (WORD_START.test(c)) {
      let j = i + 1;
      while (j < text.length && WORD_PART.test(text[j]!)) j++;
      tokens.push({ kind: 'word', text: text.slice(i, j), line });
      i = j;
    } else if (c >= '0' && c <= '9') {
      let j = i + 1;
      while (j < text.length && /[0-9A-Za-z.]/.test(text[j]!)) j++;
      tokens.push({ kind: 'number', text: text.slice(i, j), line });
      i = j;
    } else if (PUNCT.has(c)) {
      tokens.push({ kind: 'punct', text: c, line });
      i++;
    } else throw new PtxFault('syntax', line, `PTX line ${line}: unexpected character '${c}'`);
  }
  return { tokens, lines: text.split('\n') };
}

/** An integer (decimal, 0x hex) or float bit pattern (0d f64, 0f f32) immediate. */
export function parseNumber(text: string, line: number): PtxOperand {
  const bad = (): PtxFault => new PtxFault('syntax', line, `PTX line ${line}: bad number '${text}'`);
  if (/^0[dD][0-9a-fA-F]{16}$/.test(text)) {
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, BigInt(`0x${text.slice(2)}`));
    return { kind: 'float', value: view.getFloat64(0) };
  }
  if (/^0[fF][0-9a-fA-F]{8}$/.test(text)) {
    const view = new DataView(new ArrayBuffer(4));
    view.setUint32(0, Number.parseInt(text.slice(2), 16));
    return { kind: 'float', value: view.getFloat32(0) };
  }
  if (/^0[xX][0-9a-fA-F]+U?$/.test(text)) return { kind: 'int', value: BigInt(text.replace(/U$/, '')) };
  if (/^[0-9]+U?$/.test(text)) return { kind: 'int', value: BigInt(text.replace(/U$/, '')) };
  throw bad();
}

class Parser {
  #at = 0;
  readonly #tokens: Token[];
  readonly #lines: readonly string[];

  constructor(text: string) {
    const { tokens, lines } = tokenize(text);
    this.#tokens = tokens;
    this.#lines = lines;
  }

  get done(): boolean {
    return this.#at >= this.#tokens.length;
  }

  peek(offset = 0): Token | undefined {
    return this.#tokens[this.#at + offset];
  }

  get line(): number {
    return (this.peek() ?? this.#tokens[this.#tokens.length - 1])?.line ?? 1;
  }

  fail(message: string, line = this.line): PtxFault {
    const source = this.#lines[line - 1]?.trim() ?? '';
    return new PtxFault('syntax', line, `PTX line ${line}: ${message} (in '${source}')`);
  }

  next(): Token {
    const token = this.#tokens[this.#at];
    if (token === undefined) throw this.fail('unexpected end of text');
    this.#at++;
    return token;
  }

  is(text: string): boolean {
    return this.peek()?.text === text;
  }

  expect(text: string): Token {
    const token = this.next();
    if (token.text !== text) throw this.fail(`expected '${text}', found '${token.text}'`, token.line);
    return token;
  }

  word(what: string): Token {
    const token = this.next();
    if (token.kind !== 'word') throw this.fail(`expected ${what}, found '${token.text}'`, token.line);
    return token;
  }

  sourceLine(line: number): string {
    return this.#lines[line - 1]?.trim() ?? '';
  }
}

/** Parses a PTX module; a construct outside the grammar is a 'syntax' PtxFault naming its line. */
export function parsePtx(text: string): PtxModule {
  const p = new Parser(text);
  let version = '';
  let addressSize = 0;
  const target: string[] = [];
  const sharedSymbols: string[] = [];
  const entries = new Map<string, PtxEntry>();
  while (!p.done) {
    const token = p.word('a directive');
    if (token.text === '.version') version = p.next().text;
    else if (token.text === '.target') {
      target.push(p.word('a target').text);
      while (p.is(',')) {
        p.next();
        target.push(p.word('a target').text);
      }
    } else if (token.text === '.address_size') addressSize = Number(p.next().text);
    else if (token.text === '.extern') sharedSymbols.push(parseExternShared(p));
    else if (token.text === '.visible' || token.text === '.entry') {
      if (token.text === '.visible') p.expect('.entry');
      const entry = parseEntry(p);
      if (entries.has(entry.name)) throw p.fail(`entry ${entry.name} defined twice`, entry.line);
      entries.set(entry.name, entry);
    } else throw p.fail(`unknown module directive '${token.text}'`, token.line);
  }
  if (addressSize !== 64)
    throw new PtxFault('unsupported', 1, 'PTX module: only .address_size 64 is supported');
  return { version, target, addressSize, sharedSymbols, entries };
}

/** `.extern .shared .align N .b8 name[];` */
function parseExternShared(p: Parser): string {
  p.expect('.shared');
  if (p.is('.align')) {
    p.next();
    p.next();
  }
  const type = p.word('a type');
  if (type.text !== '.b8') throw p.fail(`extern shared arrays of ${type.text} are not supported`, type.line);
  const name = p.word('a symbol').text;
  p.expect('[');
  p.expect(']');
  p.expect(';');
  return name;
}

function parseEntry(p: Parser): PtxEntry {
  const nameToken = p.word('an entry name');
  const params: PtxDeclaration[] = [];
  p.expect('(');
  while (!p.is(')')) {
    const space = p.word('.param');
    if (space.text !== '.param') throw p.fail(`expected .param, found '${space.text}'`, space.line);
    const type = p.word('a parameter type');
    const name = p.word('a parameter name');
    params.push({ name: name.text, type: type.text.slice(1), line: name.line });
    if (!p.is(')')) p.expect(',');
  }
  p.expect(')');
  p.expect('{');
  const registers: PtxDeclaration[] = [];
  const instructions: PtxInstruction[] = [];
  const labels = new Map<string, number>();
  while (!p.is('}')) {
    const first = p.peek()!;
    if (first.text === '.reg') registers.push(...parseRegisters(p));
    else if (first.kind === 'word' && p.peek(1)?.text === ':' && !first.text.startsWith('.')) {
      p.next();
      p.next();
      if (labels.has(first.text)) throw p.fail(`label ${first.text} defined twice`, first.line);
      labels.set(first.text, instructions.length);
    } else instructions.push(parseInstruction(p));
  }
  p.expect('}');
  return { name: nameToken.text, line: nameToken.line, params, registers, instructions, labels };
}

/** `.reg .type %a, %b;` or `.reg .type %r<N>;` (registers %r0 .. %r(N-1)). */
function parseRegisters(p: Parser): PtxDeclaration[] {
  p.expect('.reg');
  const type = p.word('a register type');
  const out: PtxDeclaration[] = [];
  for (;;) {
    const name = p.word('a register name');
    if (!name.text.startsWith('%')) throw p.fail(`register names start with %: '${name.text}'`, name.line);
    if (p.is('<')) {
      p.next();
      const count = Number(p.next().text);
      p.expect('>');
      for (let i = 0; i < count; i++)
        out.push({ name: `${name.text}${i}`, type: type.text.slice(1), line: name.line });
    } else out.push({ name: name.text, type: type.text.slice(1), line: name.line });
    if (p.is(';')) break;
    p.expect(',');
  }
  p.expect(';');
  return out;
}

function parseInstruction(p: Parser): PtxInstruction {
  const line = p.line;
  let guard: PtxInstruction['guard'];
  if (p.is('@')) {
    p.next();
    const negated = p.is('!');
    if (negated) p.next();
    guard = { register: p.word('a predicate').text, negated };
  }
  const opcode = p.word('an instruction');
  if (opcode.text.startsWith('.'))
    throw p.fail(`unknown directive '${opcode.text}' in an entry`, opcode.line);
  const operands: PtxOperand[] = [];
  while (!p.is(';')) {
    operands.push(parseOperand(p));
    if (!p.is(';')) p.expect(',');
  }
  p.expect(';');
  return { line, text: p.sourceLine(line), guard, opcode: opcode.text, operands };
}

function parseOperand(p: Parser): PtxOperand {
  const token = p.next();
  if (token.text === '[') {
    const base = p.word('an address base');
    let offset = 0;
    if (p.is('+') || p.is('-')) {
      const sign = p.next().text === '-' ? -1 : 1;
      const value = parseNumber(p.next().text, token.line);
      if (value.kind !== 'int') throw p.fail('an address offset must be an integer', token.line);
      offset = sign * Number(value.value);
    }
    p.expect(']');
    return { kind: 'address', base: base.text, offset };
  }
  if (token.text === '-') {
    const value = parseNumber(p.next().text, token.line);
    if (value.kind !== 'int') throw p.fail('only integer immediates take a minus sign', token.line);
    return { kind: 'int', value: -value.value };
  }
  if (token.kind === 'number') return parseNumber(token.text, token.line);
  if (token.kind === 'word')
    return token.text.startsWith('%')
      ? { kind: 'reg', name: token.text }
      : { kind: 'symbol', name: token.text };
  throw p.fail(`unexpected '${token.text}' as an operand`, token.line);
}
