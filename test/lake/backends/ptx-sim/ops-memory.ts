import type { DecodeContext, Op } from './decode.js';
import type { PtxFaultKind } from './fault.js';
import type { PtxOperand } from './parse.js';
import type { RegisterKind, Slot } from './registers.js';
import type { ThreadState } from './state.js';

/**
 * ld / st / red / cvta. Loads into a register wider than the type extend as PTX says (signed types sign-,
 * unsigned and bit types zero-extend); stores of a narrower type keep the low bytes. Every access is
 * checked: inside a driver allocation (global), inside the launch's dynamic shared bytes (shared),
 * inside the parameters (param), naturally aligned; shared accesses go through the race tracker.
 */
type Space = 'param' | 'global' | 'shared';

const SIZES: Readonly<Record<string, number>> = {
  u8: 1,
  s8: 1,
  b8: 1,
  u16: 2,
  s16: 2,
  b16: 2,
  u32: 4,
  s32: 4,
  b32: 4,
  f32: 4,
  u64: 8,
  s64: 8,
  b64: 8,
  f64: 8,
};

/** A compiled address: (thread) => byte address in its space; the thread's fault if a base is unwritten. */
type AddressOf = (t: ThreadState) => number;

const TWO_32 = 4294967296;

function addressOf(c: DecodeContext, space: Space): AddressOf {
  const operand = c.ins.operands.find((o) => o.kind === 'address');
  if (operand?.kind !== 'address') throw c.reject('no [address] operand');
  const offset = operand.offset;
  if (!operand.base.startsWith('%')) {
    if (space === 'param') {
      const param = c.params.get(operand.base);
      if (param === undefined) throw c.reject(`${operand.base} is not a parameter of this entry`);
      const at = param.offset + offset;
      return () => at;
    }
    if (space === 'shared' && c.sharedSymbols.includes(operand.base)) return () => offset;
    throw c.reject(`${operand.base} is not a ${space} symbol`);
  }
  if (space === 'param') throw c.reject('parameters are addressed by name');
  const base = c.layout.named(operand.base);
  if (base === undefined) throw c.reject(`register ${operand.base} is not declared`);
  const { slot, ord } = base;
  const unwritten = (t: ThreadState): never => {
    throw c.fault('uninitialised', t, `address register ${base.name} read before it was written`);
  };
  if (base.kind === 'b64') {
    return (t) => {
      if (t.written[ord] === 0) unwritten(t);
      return (t.ints[slot + 1]! >>> 0) * TWO_32 + (t.ints[slot]! >>> 0) + offset;
    };
  }
  if (base.kind === 'b32' && space === 'shared') {
    return (t) => {
      if (t.written[ord] === 0) unwritten(t);
      return (t.ints[slot]! >>> 0) + offset;
    };
  }
  throw c.reject(`${operand.base} (.${base.kind}) cannot address ${space} memory`);
}

/** Locates `size` bytes at `address` of `space`: sets `located.view` and `located.at`, or faults. */
interface Located {
  view: DataView;
  at: number;
}

function locator(
  c: DecodeContext,
  space: Space,
  size: number,
  write: boolean,
): (t: ThreadState, a: number) => Located {
  const m = c.machine;
  const located: Located = { view: m.params, at: 0 };
  const fail = (t: ThreadState, kind: PtxFaultKind, what: string): never => {
    throw c.fault(kind, t, what);
  };
  const misaligned = (t: ThreadState, a: number): void => {
    if (a % size !== 0) fail(t, 'misaligned', `${space} address ${a} is not aligned to ${size} bytes`);
  };
  if (space === 'param') {
    return (t, a) => {
      if (a < 0 || a + size > m.params.byteLength)
        fail(t, 'bounds', `param offset ${a} is outside the parameters`);
      misaligned(t, a);
      located.view = m.params;
      located.at = a;
      return located;
    };
  }
  if (space === 'shared') {
    return (t, a) => {
      if (a < 0 || a + size > m.shared.size)
        fail(
          t,
          'bounds',
          `shared access of ${size} bytes at ${a} is beyond the launch's ${m.shared.size} shared bytes`,
        );
      misaligned(t, a);
      if (!write) m.shared.read(t, a, size, c.ins.line, c.where);
      located.view = m.shared.view;
      located.at = a;
      return located;
    };
  }
  return (t, a) => {
    const view = m.global.locate(a, size);
    if (view === undefined)
      fail(t, 'bounds', `global access of ${size} bytes at 0x${a.toString(16)} is outside every allocation`);
    misaligned(t, a);
    located.view = view!;
    located.at = m.global.offset;
    return located;
  };
}

function spaceOf(c: DecodeContext, part: string | undefined, allowed: readonly Space[]): Space {
  const space = allowed.find((s) => s === part);
  if (space === undefined)
    throw c.reject(`state space .${part ?? ''} is not supported here (${allowed.join(', ')})`);
  return space;
}

export function decodeMemory(c: DecodeContext, parts: readonly string[]): Op {
  const base = parts[0];
  if (base === 'cvta') {
    if (parts.join('.') !== 'cvta.to.global.u64') throw c.reject('only cvta.to.global.u64 is supported');
    const d = c.layout.destination(c.ins.operands[0], 'b64', c.ins);
    const a = c.layout.operand(c.ins.operands[1]!, 'b64', c.ins);
    const next = c.pc + 1;
    return (t) => {
      if (t.written[a.ord] === 0) throw c.fault('uninitialised', t, `${a.name} read before it was written`);
      t.ints[d.slot] = t.ints[a.slot]!;
      t.ints[d.slot + 1] = t.ints[a.slot + 1]!;
      t.written[d.ord] = 1;
      return next;
    };
  }
  if (parts.length !== 3 && !(base === 'red' && parts.length === 4))
    throw c.reject(`${c.ins.opcode}: expected ${base}.space.type`);
  if (base === 'ld') return decodeLoad(c, parts);
  if (base === 'st') return decodeStore(c, parts);
  return decodeReduction(c, parts);
}

function decodeLoad(c: DecodeContext, parts: readonly string[]): Op {
  const space = spaceOf(c, parts[1], ['param', 'global', 'shared']);
  const type = parts[2]!;
  const size = SIZES[type];
  if (size === undefined) throw c.reject(`.${type} loads are not supported`);
  if (c.ins.operands.length !== 2 || c.ins.operands[1]?.kind !== 'address')
    throw c.reject('ld takes d, [address]');
  const signed = type.startsWith('s');
  const target = c.ins.operands[0];
  const kind = registerKind(c, type, size, target);
  const d = c.layout.destination(target, kind, c.ins);
  const address = addressOf(c, space);
  const locate = locator(c, space, size, false);
  const next = c.pc + 1;
  const read = intReader(type);
  const { slot, ord } = d;
  if (kind === 'f32' || kind === 'f64') {
    return (t) => {
      const { view, at } = locate(t, address(t));
      t.floats[slot] = kind === 'f32' ? view.getFloat32(at, true) : view.getFloat64(at, true);
      t.written[ord] = 1;
      return next;
    };
  }
  if (size === 8) {
    return (t) => {
      const { view, at } = locate(t, address(t));
      t.ints[slot] = view.getInt32(at, true);
      t.ints[slot + 1] = view.getInt32(at + 4, true);
      t.written[ord] = 1;
      return next;
    };
  }
  const wide = kind === 'b64';
  return (t) => {
    const { view, at } = locate(t, address(t));
    const value = read(view, at);
    t.ints[slot] = value;
    if (wide) t.ints[slot + 1] = signed ? value >> 31 : 0;
    t.written[ord] = 1;
    return next;
  };
}

/**
 * The register kind a load fills or a store reads: the float's own, b64 for 8-byte integers, and for
 * narrower integers the register's declared width (a u32 load may fill a b64 register, zero-extended).
 */
function registerKind(
  c: DecodeContext,
  type: string,
  size: number,
  operand: PtxOperand | undefined,
): RegisterKind {
  if (type.startsWith('f')) return type === 'f32' ? 'f32' : 'f64';
  const declared = operand?.kind === 'reg' ? c.layout.named(operand.name) : undefined;
  return size === 8 || declared?.kind === 'b64' ? 'b64' : 'b32';
}

/** A ≤32-bit integer load as the int32 a b32 register holds (sign- or zero-extended). */
function intReader(type: string): (view: DataView, at: number) => number {
  switch (type) {
    case 'u8':
    case 'b8':
      return (v, at) => v.getUint8(at);
    case 's8':
      return (v, at) => v.getInt8(at);
    case 'u16':
    case 'b16':
      return (v, at) => v.getUint16(at, true);
    case 's16':
      return (v, at) => v.getInt16(at, true);
    default:
      return (v, at) => v.getInt32(at, true);
  }
}

function decodeStore(c: DecodeContext, parts: readonly string[]): Op {
  const space = spaceOf(c, parts[1], ['global', 'shared']);
  const type = parts[2]!;
  const size = SIZES[type];
  if (size === undefined) throw c.reject(`.${type} stores are not supported`);
  if (c.ins.operands.length !== 2 || c.ins.operands[0]?.kind !== 'address')
    throw c.reject('st takes [address], a');
  const source = c.ins.operands[1]!;
  const kind = registerKind(c, type, size, source);
  const a = c.layout.operand(source, kind, c.ins);
  const address = addressOf(c, space);
  const locate = locator(c, space, size, true);
  const scratch = new Uint8Array(8);
  const scratchView = new DataView(scratch.buffer);
  const next = c.pc + 1;
  const m = c.machine;
  return (t) => {
    if (t.written[a.ord] === 0) throw c.fault('uninitialised', t, `${a.name} read before it was written`);
    if (kind === 'f32') scratchView.setFloat32(0, t.floats[a.slot]!, true);
    else if (kind === 'f64') scratchView.setFloat64(0, t.floats[a.slot]!, true);
    else {
      scratchView.setInt32(0, t.ints[a.slot]!, true);
      scratchView.setInt32(4, kind === 'b64' ? t.ints[a.slot + 1]! : 0, true);
    }
    const where = address(t);
    const { view, at } = locate(t, where);
    if (space === 'shared') m.shared.write(t, at, scratch, size, c.ins.line, c.where);
    else for (let i = 0; i < size; i++) view.setUint8(at + i, scratch[i]!);
    return next;
  };
}

/** red.global.{min,max,add}.{s32,u32} [address], b: an atomic read-modify-write of global memory. */
function decodeReduction(c: DecodeContext, parts: readonly string[]): Op {
  spaceOf(c, parts[1], ['global']);
  const operation = parts[2]!;
  const type = parts[3]!;
  if (!['min', 'max', 'add'].includes(operation) || !['s32', 'u32'].includes(type))
    throw c.reject('only red.global.{min,max,add}.{s32,u32} is supported');
  if (c.ins.operands.length !== 2 || c.ins.operands[0]?.kind !== 'address')
    throw c.reject('red takes [address], b');
  const b: Slot = c.layout.operand(c.ins.operands[1]!, 'b32', c.ins);
  const address = addressOf(c, 'global');
  const locate = locator(c, 'global', 4, true);
  const unsigned = type === 'u32';
  const combine =
    operation === 'add'
      ? (x: number, y: number): number => (x + y) | 0
      : operation === 'min'
        ? unsigned
          ? (x: number, y: number): number => (x >>> 0 <= y >>> 0 ? x : y)
          : (x: number, y: number): number => Math.min(x, y)
        : unsigned
          ? (x: number, y: number): number => (x >>> 0 >= y >>> 0 ? x : y)
          : (x: number, y: number): number => Math.max(x, y);
  const next = c.pc + 1;
  return (t) => {
    if (t.written[b.ord] === 0) throw c.fault('uninitialised', t, `${b.name} read before it was written`);
    const { view, at } = locate(t, address(t));
    view.setInt32(at, combine(view.getInt32(at, true), t.ints[b.slot]!), true);
    return next;
  };
}

export type { Space };
