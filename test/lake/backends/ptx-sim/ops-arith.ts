import type { DecodeContext, Op } from './decode.js';
import { kindOfType, type RegisterKind, type Slot } from './registers.js';
import type { ThreadState } from './state.js';

/**
 * Register-to-register instructions: mov, add/sub, mul (.lo, .wide, .rn), mad.lo, div.rn, shl/shr,
 * and/or/xor, min/max, setp, selp, cvt. b32 values are held as int32 (unsigned ops reinterpret with
 * >>> 0), b64 as two int32 words; every result wraps to its width as PTX's integer arithmetic does. f32
 * results round with Math.fround (round to nearest even), f64 arithmetic is JS's IEEE double (.rn).
 */
const TWO_32 = 4294967296;

/** Faults if a read slot was never written. Specialised by count: this runs on every instruction. */
function readCheck(c: DecodeContext, reads: readonly Slot[]): (t: ThreadState) => void {
  const fail = (t: ThreadState): never => {
    const r = reads.find((s) => t.written[s.ord] === 0)!;
    throw c.fault('uninitialised', t, `register ${r.name} read before it was written`);
  };
  const [a, b, d] = reads.map((s) => s.ord);
  if (reads.length === 1) return (t) => void (t.written[a!] === 0 && fail(t));
  if (reads.length === 2) return (t) => void ((t.written[a!] === 0 || t.written[b!] === 0) && fail(t));
  if (reads.length === 3)
    return (t) => void ((t.written[a!] === 0 || t.written[b!] === 0 || t.written[d!] === 0) && fail(t));
  return () => {};
}

/** An op from a body that computes on slots; reads are checked first, the destination marked written. */
function op(c: DecodeContext, reads: readonly Slot[], dest: Slot, body: (t: ThreadState) => void): Op {
  const check = readCheck(c, reads);
  const next = c.pc + 1;
  const ord = dest.ord;
  return (t) => {
    check(t);
    body(t);
    t.written[ord] = 1;
    return next;
  };
}

function typeKind(c: DecodeContext, type: string | undefined): RegisterKind {
  const kind = type === undefined ? undefined : kindOfType(type);
  if (kind === undefined) throw c.reject(`type .${type ?? ''} is not supported`);
  return kind;
}

/** Operands: d then sources, each read as `kinds[i]`. */
function slots(c: DecodeContext, count: number, kinds: readonly RegisterKind[]): Slot[] {
  if (c.ins.operands.length !== count) throw c.reject(`${c.ins.opcode} takes ${count} operands`);
  return c.ins.operands.map((o, i) =>
    i === 0
      ? c.layout.destination(o, kinds[0]!, c.ins)
      : c.layout.operand(o, kinds[i] ?? kinds[kinds.length - 1]!, c.ins),
  );
}

export function decodeArithmetic(c: DecodeContext, parts: readonly string[]): Op {
  switch (parts[0]) {
    case 'mov':
      return decodeMov(c, parts);
    case 'add':
    case 'sub':
      return decodeAddSub(c, parts);
    case 'mul':
    case 'mad':
    case 'div':
      return decodeMul(c, parts);
    case 'shl':
    case 'shr':
      return decodeShift(c, parts);
    case 'and':
    case 'or':
    case 'xor':
    case 'min':
    case 'max':
      return decodeBitwiseMinMax(c, parts);
    case 'setp':
      return decodeSetp(c, parts);
    case 'selp':
      return decodeSelp(c, parts);
    case 'cvt':
      return decodeCvt(c, parts);
    default:
      throw c.reject(`unknown or unsupported instruction '${c.ins.opcode}'`);
  }
}

function decodeMov(c: DecodeContext, parts: readonly string[]): Op {
  if (parts.length !== 2) throw c.reject('mov takes one type');
  const kind = typeKind(c, parts[1]);
  const source = c.ins.operands[1];
  // A shared symbol's value is its address in the shared window: every .extern .shared array starts at 0.
  if (kind === 'b32' && source?.kind === 'symbol' && c.sharedSymbols.includes(source.name)) {
    const d = c.layout.destination(c.ins.operands[0], kind, c.ins);
    const zero = c.layout.constant32(0);
    return op(c, [], d, (t) => {
      t.ints[d.slot] = t.ints[zero.slot]!;
    });
  }
  const [d, a] = slots(c, 2, [kind, kind]) as [Slot, Slot];
  if (kind === 'f32' || kind === 'f64')
    return op(c, [a], d, (t) => {
      t.floats[d.slot] = t.floats[a.slot]!;
    });
  if (kind === 'b64') {
    return op(c, [a], d, (t) => {
      t.ints[d.slot] = t.ints[a.slot]!;
      t.ints[d.slot + 1] = t.ints[a.slot + 1]!;
    });
  }
  return op(c, [a], d, (t) => {
    t.ints[d.slot] = t.ints[a.slot]!;
  });
}

function decodeAddSub(c: DecodeContext, parts: readonly string[]): Op {
  const sub = parts[0] === 'sub';
  const rounding = parts.length === 3 ? parts[1] : undefined;
  const type = parts[parts.length - 1];
  const kind = typeKind(c, type);
  if (kind === 'f32' || kind === 'f64') {
    // Without .rn, ptxas may contract a mul and an add into an fma: results would depend on the compiler.
    if (rounding !== 'rn') throw c.reject(`${c.ins.opcode}: float add/sub must say .rn`);
    const [d, a, b] = slots(c, 3, [kind]) as [Slot, Slot, Slot];
    const round = kind === 'f32' ? Math.fround : (x: number): number => x;
    return op(c, [a, b], d, (t) => {
      const x = t.floats[a.slot]!;
      const y = t.floats[b.slot]!;
      t.floats[d.slot] = round(sub ? x - y : x + y);
    });
  }
  if (parts.length !== 2 || type === 'pred') throw c.reject(`${c.ins.opcode} is not supported`);
  const [d, a, b] = slots(c, 3, [kind]) as [Slot, Slot, Slot];
  if (kind === 'b32') {
    return op(
      c,
      [a, b],
      d,
      sub
        ? (t) => {
            t.ints[d.slot] = (t.ints[a.slot]! - t.ints[b.slot]!) | 0;
          }
        : (t) => {
            t.ints[d.slot] = (t.ints[a.slot]! + t.ints[b.slot]!) | 0;
          },
    );
  }
  return op(c, [a, b], d, (t) => {
    const ints = t.ints;
    const bLo = ints[b.slot]! >>> 0;
    const bHi = ints[b.slot + 1]!;
    // Subtraction adds the two's complement: ~b + 1.
    const yLo = sub ? (~bLo >>> 0) + 1 : bLo;
    const yHi = sub ? ~bHi + (yLo > 0xffffffff ? 1 : 0) : bHi;
    const lo = (ints[a.slot]! >>> 0) + (yLo >>> 0);
    ints[d.slot] = lo | 0;
    ints[d.slot + 1] = (ints[a.slot + 1]! + yHi + (lo > 0xffffffff ? 1 : 0)) | 0;
  });
}

/** Writes the 64-bit integer `value` (exact as a double, or as a bigint) into a b64 slot. */
function set64(t: ThreadState, slot: number, value: number | bigint): void {
  if (typeof value === 'number' && Number.isSafeInteger(value)) {
    t.ints[slot] = value >>> 0;
    t.ints[slot + 1] = Math.floor(value / TWO_32) | 0;
    return;
  }
  const bits = BigInt.asUintN(64, BigInt(value));
  t.ints[slot] = Number(BigInt.asIntN(32, bits));
  t.ints[slot + 1] = Number(BigInt.asIntN(32, bits >> 32n));
}

function get64(t: ThreadState, slot: number, signed: boolean): bigint {
  const bits = (BigInt(t.ints[slot + 1]! >>> 0) << 32n) | BigInt(t.ints[slot]! >>> 0);
  return signed ? BigInt.asIntN(64, bits) : bits;
}

function decodeMul(c: DecodeContext, parts: readonly string[]): Op {
  const [base, mode, type] = parts;
  if (parts.length !== 3) throw c.reject(`${c.ins.opcode} is not supported`);
  if (mode === 'rn' && (type === 'f64' || type === 'f32') && base !== 'mad') {
    const kind = type;
    const [d, a, b] = slots(c, 3, [kind]) as [Slot, Slot, Slot];
    const round = kind === 'f32' ? Math.fround : (x: number): number => x;
    const divide = base === 'div';
    return op(c, [a, b], d, (t) => {
      const x = t.floats[a.slot]!;
      const y = t.floats[b.slot]!;
      t.floats[d.slot] = round(divide ? x / y : x * y);
    });
  }
  if (base === 'div' || (type !== 'u32' && type !== 's32'))
    throw c.reject(`${c.ins.opcode} is not supported`);
  const signed = type === 's32';
  if (base === 'mul' && mode === 'wide') {
    const [d, a, b] = slots(c, 3, ['b64', 'b32', 'b32']) as [Slot, Slot, Slot];
    return op(c, [a, b], d, (t) => {
      const x = signed ? t.ints[a.slot]! : t.ints[a.slot]! >>> 0;
      const y = signed ? t.ints[b.slot]! : t.ints[b.slot]! >>> 0;
      const product = x * y;
      set64(t, d.slot, Number.isSafeInteger(product) ? product : BigInt(x) * BigInt(y));
    });
  }
  if (mode !== 'lo') throw c.reject(`${c.ins.opcode}: only .lo and .wide integer products are supported`);
  if (base === 'mul') {
    const [d, a, b] = slots(c, 3, ['b32']) as [Slot, Slot, Slot];
    return op(c, [a, b], d, (t) => {
      t.ints[d.slot] = Math.imul(t.ints[a.slot]!, t.ints[b.slot]!);
    });
  }
  const [d, a, b, e] = slots(c, 4, ['b32']) as [Slot, Slot, Slot, Slot];
  return op(c, [a, b, e], d, (t) => {
    t.ints[d.slot] = (Math.imul(t.ints[a.slot]!, t.ints[b.slot]!) + t.ints[e.slot]!) | 0;
  });
}

/**
 * shl / shr: the amount is an unsigned 32-bit value, and PTX clamps amounts at or above the width (shl and
 * shr.u/.b give 0, shr.s fills with the sign), unlike JS's shifts, which take the amount modulo 32.
 */
function decodeShift(c: DecodeContext, parts: readonly string[]): Op {
  const left = parts[0] === 'shl';
  const type = parts[1];
  if (
    parts.length !== 2 ||
    !['b32', 'u32', 's32', 'b64', 'u64', 's64'].includes(type ?? '') ||
    (left && type![0] !== 'b')
  )
    throw c.reject(`${c.ins.opcode} is not supported`);
  const arithmetic = type![0] === 's';
  const kind = typeKind(c, type);
  const [d, a, n] = slots(c, 3, [kind, kind, 'b32']) as [Slot, Slot, Slot];
  if (kind === 'b32') {
    return op(c, [a, n], d, (t) => {
      const amount = t.ints[n.slot]! >>> 0;
      const x = t.ints[a.slot]!;
      if (left) t.ints[d.slot] = amount >= 32 ? 0 : x << amount;
      else if (arithmetic) t.ints[d.slot] = x >> Math.min(amount, 31);
      else t.ints[d.slot] = amount >= 32 ? 0 : (x >>> amount) | 0;
    });
  }
  return op(c, [a, n], d, (t) => {
    const amount = BigInt(Math.min(t.ints[n.slot]! >>> 0, 64));
    const x = get64(t, a.slot, arithmetic);
    set64(t, d.slot, left ? x << amount : x >> amount);
  });
}

function decodeBitwiseMinMax(c: DecodeContext, parts: readonly string[]): Op {
  const base = parts[0]!;
  const type = parts[1];
  if (parts.length !== 2) throw c.reject(`${c.ins.opcode} is not supported`);
  if (type === 'pred' && (base === 'and' || base === 'or' || base === 'xor')) {
    const [d, a, b] = slots(c, 3, ['pred']) as [Slot, Slot, Slot];
    const f =
      base === 'and'
        ? (x: number, y: number) => x & y
        : base === 'or'
          ? (x: number, y: number) => x | y
          : (x: number, y: number) => x ^ y;
    return op(c, [a, b], d, (t) => {
      t.ints[d.slot] = f(t.ints[a.slot]!, t.ints[b.slot]!);
    });
  }
  const bitwise = base === 'and' || base === 'or' || base === 'xor';
  if (bitwise ? type !== 'b32' : type !== 's32' && type !== 'u32')
    throw c.reject(`${c.ins.opcode} is not supported`);
  const [d, a, b] = slots(c, 3, ['b32']) as [Slot, Slot, Slot];
  const unsigned = type === 'u32';
  const f: (x: number, y: number) => number =
    base === 'and'
      ? (x, y) => x & y
      : base === 'or'
        ? (x, y) => x | y
        : base === 'xor'
          ? (x, y) => x ^ y
          : base === 'min'
            ? unsigned
              ? (x, y) => (x >>> 0 <= y >>> 0 ? x : y)
              : (x, y) => (x <= y ? x : y)
            : unsigned
              ? (x, y) => (x >>> 0 >= y >>> 0 ? x : y)
              : (x, y) => (x >= y ? x : y);
  return op(c, [a, b], d, (t) => {
    t.ints[d.slot] = f(t.ints[a.slot]!, t.ints[b.slot]!);
  });
}

const COMPARE: Readonly<Record<string, (x: number, y: number) => boolean>> = {
  eq: (x, y) => x === y,
  // Float ne is ordered in PTX: false when either is NaN (JS's !== says true).
  ne: (x, y) => x !== y && !Number.isNaN(x) && !Number.isNaN(y),
  lt: (x, y) => x < y,
  le: (x, y) => x <= y,
  gt: (x, y) => x > y,
  ge: (x, y) => x >= y,
};

function decodeSetp(c: DecodeContext, parts: readonly string[]): Op {
  const [, cmp, type] = parts;
  const compare = COMPARE[cmp ?? ''];
  if (
    parts.length !== 3 ||
    compare === undefined ||
    !['u32', 's32', 'b32', 'f64', 'f32'].includes(type ?? '')
  )
    throw c.reject(`${c.ins.opcode} is not supported (setp.{eq,ne,lt,le,gt,ge}.{u32,s32,f32,f64})`);
  if (type === 'b32' && cmp !== 'eq' && cmp !== 'ne') throw c.reject('.b32 compares only eq and ne');
  const kind = typeKind(c, type);
  const [p, a, b] = slots(c, 3, ['pred', kind, kind]) as [Slot, Slot, Slot];
  if (kind === 'f32' || kind === 'f64')
    return op(c, [a, b], p, (t) => {
      t.ints[p.slot] = compare(t.floats[a.slot]!, t.floats[b.slot]!) ? 1 : 0;
    });
  if (type === 'u32')
    return op(c, [a, b], p, (t) => {
      t.ints[p.slot] = compare(t.ints[a.slot]! >>> 0, t.ints[b.slot]! >>> 0) ? 1 : 0;
    });
  return op(c, [a, b], p, (t) => {
    t.ints[p.slot] = compare(t.ints[a.slot]!, t.ints[b.slot]!) ? 1 : 0;
  });
}

function decodeSelp(c: DecodeContext, parts: readonly string[]): Op {
  const kind = typeKind(c, parts[1]);
  if (parts.length !== 2 || kind === 'pred' || kind === 'b64')
    throw c.reject(`${c.ins.opcode} is not supported`);
  const [d, a, b, p] = slots(c, 4, [kind, kind, kind, 'pred']) as [Slot, Slot, Slot, Slot];
  if (kind === 'b32')
    return op(c, [a, b, p], d, (t) => {
      t.ints[d.slot] = t.ints[p.slot] !== 0 ? t.ints[a.slot]! : t.ints[b.slot]!;
    });
  return op(c, [a, b, p], d, (t) => {
    t.floats[d.slot] = t.ints[p.slot] !== 0 ? t.floats[a.slot]! : t.floats[b.slot]!;
  });
}

/** cvt: u64/s64 from u32/s32 (extend), u32 from u64 (truncate), f64 from f32/s32/u32, f32 from f64 (.rn). */
function decodeCvt(c: DecodeContext, parts: readonly string[]): Op {
  const form = parts.slice(1).join('.');
  const cvt = (
    to: RegisterKind,
    from: RegisterKind,
    body: (t: ThreadState, d: Slot, a: Slot) => void,
  ): Op => {
    const [d, a] = slots(c, 2, [to, from]) as [Slot, Slot];
    return op(c, [a], d, (t) => body(t, d, a));
  };
  switch (form) {
    case 'u64.u32':
    case 's64.u32':
      return cvt('b64', 'b32', (t, d, a) => {
        t.ints[d.slot] = t.ints[a.slot]!;
        t.ints[d.slot + 1] = 0;
      });
    case 's64.s32':
    case 'u64.s32':
      return cvt('b64', 'b32', (t, d, a) => {
        t.ints[d.slot] = t.ints[a.slot]!;
        t.ints[d.slot + 1] = t.ints[a.slot]! >> 31;
      });
    case 'u32.u64':
    case 's32.s64':
    case 'u32.s64':
    case 's32.u64':
      return cvt('b32', 'b64', (t, d, a) => {
        t.ints[d.slot] = t.ints[a.slot]!;
      });
    case 'f64.f32':
      return cvt('f64', 'f32', (t, d, a) => {
        t.floats[d.slot] = t.floats[a.slot]!;
      });
    case 'rn.f32.f64':
      return cvt('f32', 'f64', (t, d, a) => {
        t.floats[d.slot] = Math.fround(t.floats[a.slot]!);
      });
    case 'rn.f64.s32':
      return cvt('f64', 'b32', (t, d, a) => {
        t.floats[d.slot] = t.ints[a.slot]!;
      });
    case 'rn.f64.u32':
      return cvt('f64', 'b32', (t, d, a) => {
        t.floats[d.slot] = t.ints[a.slot]! >>> 0;
      });
    default:
      throw c.reject(`cvt.${form} is not supported`);
  }
}
