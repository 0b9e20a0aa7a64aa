import { PtxFault } from './fault.js';
import type { PtxDeclaration, PtxInstruction, PtxOperand } from './parse.js';

/**
 * Where an entry's values live in a thread: every declared register, every immediate and every special
 * register gets a slot (ints for b32/pred one slot and b64 two; floats for f32/f64) and an ordinal for the
 * written-before-read check. Immediates and special registers are constants (written at thread start),
 * so an instruction only ever reads slots.
 */
export type RegisterKind = 'pred' | 'b32' | 'b64' | 'f32' | 'f64';

export interface Slot {
  readonly kind: RegisterKind;
  /** Index in ints (b32, pred, b64 low word) or floats (f32, f64). */
  readonly slot: number;
  readonly ord: number;
  /** As written in the PTX (register name or immediate). */
  readonly name: string;
}

/** Special registers: per thread (%tid.x, %laneid) or per launch and block. */
export type SpecialRegister = '%tid.x' | '%ntid.x' | '%ctaid.x' | '%nctaid.x' | '%laneid';
const SPECIALS: readonly SpecialRegister[] = ['%tid.x', '%ntid.x', '%ctaid.x', '%nctaid.x', '%laneid'];

const KIND_OF_TYPE: Readonly<Record<string, RegisterKind>> = {
  pred: 'pred',
  b32: 'b32',
  u32: 'b32',
  s32: 'b32',
  b64: 'b64',
  u64: 'b64',
  s64: 'b64',
  f32: 'f32',
  f64: 'f64',
};

export function kindOfType(type: string): RegisterKind | undefined {
  return KIND_OF_TYPE[type];
}

export class RegisterLayout {
  readonly #named = new Map<string, Slot>();
  readonly #constants = new Map<string, Slot>();
  /** Constant slots and their values (b64: [low, high]; floats: [value]). */
  readonly constants: { slot: Slot; values: readonly number[] }[] = [];
  readonly specials: { slot: Slot; special: SpecialRegister }[] = [];
  intSlots = 0;
  floatSlots = 0;
  ordinals = 0;

  constructor(declarations: readonly PtxDeclaration[]) {
    for (const d of declarations) {
      const kind = kindOfType(d.type);
      if (kind === undefined)
        throw new PtxFault(
          'unsupported',
          d.line,
          `PTX line ${d.line}: registers of type .${d.type} are not supported`,
        );
      if (this.#named.has(d.name))
        throw new PtxFault('syntax', d.line, `PTX line ${d.line}: register ${d.name} declared twice`);
      this.#named.set(d.name, this.#allocate(kind, d.name));
    }
  }

  #allocate(kind: RegisterKind, name: string): Slot {
    const float = kind === 'f32' || kind === 'f64';
    const slot = float ? this.floatSlots++ : this.intSlots;
    if (!float) this.intSlots += kind === 'b64' ? 2 : 1;
    return { kind, slot, ord: this.ordinals++, name };
  }

  /**
   * The slot an operand reads as `kind`: a declared register of that kind, a special register (b32), or an
   * immediate turned into a constant (integers must fit the width, signed or unsigned).
   */
  operand(operand: PtxOperand, kind: RegisterKind, ins: PtxInstruction): Slot {
    const bad = (why: string): PtxFault =>
      new PtxFault('unsupported', ins.line, `PTX line ${ins.line}: '${ins.text}': ${why}`);
    if (operand.kind === 'reg') {
      const special = SPECIALS.find((s) => s === operand.name);
      if (special !== undefined) {
        if (kind !== 'b32') throw bad(`${operand.name} is a 32-bit special register, used as .${kind}`);
        return this.#special(special);
      }
      const slot = this.#named.get(operand.name);
      if (slot === undefined) {
        throw new PtxFault(
          'syntax',
          ins.line,
          `PTX line ${ins.line}: '${ins.text}': register ${operand.name} is not declared`,
        );
      }
      if (slot.kind !== kind) throw bad(`${operand.name} is .${slot.kind}, the instruction needs .${kind}`);
      return slot;
    }
    if (operand.kind === 'int') {
      if (kind === 'b32') {
        if (operand.value < -(2n ** 31n) || operand.value >= 2n ** 32n)
          throw bad(`${operand.value} does not fit 32 bits`);
        return this.#constant(kind, [Number(BigInt.asIntN(32, operand.value))]);
      }
      if (kind === 'b64') {
        if (operand.value < -(2n ** 63n) || operand.value >= 2n ** 64n)
          throw bad(`${operand.value} does not fit 64 bits`);
        const bits = BigInt.asUintN(64, operand.value);
        return this.#constant(kind, [
          Number(BigInt.asIntN(32, bits)),
          Number(BigInt.asIntN(32, bits >> 32n)),
        ]);
      }
      if (kind === 'pred') throw bad('a predicate operand must be a register');
      throw bad(`the integer ${operand.value} where a .${kind} value is needed`);
    }
    if (operand.kind === 'float') {
      if (kind === 'f64') return this.#constant(kind, [operand.value]);
      if (kind === 'f32' && Math.fround(operand.value) === operand.value)
        return this.#constant(kind, [operand.value]);
      throw bad(`a float immediate where a .${kind} value is needed`);
    }
    throw bad(`'${operand.kind === 'symbol' ? operand.name : operand.kind}' is not a .${kind} value`);
  }

  /** A predicate register (guards and predicate destinations). */
  predicate(name: string, ins: PtxInstruction): Slot {
    return this.operand({ kind: 'reg', name }, 'pred', ins);
  }

  /** A register written by an instruction: declared, of the kind, not a constant. */
  destination(operand: PtxOperand | undefined, kind: RegisterKind, ins: PtxInstruction): Slot {
    if (operand?.kind !== 'reg' || SPECIALS.some((s) => s === operand.name))
      throw new PtxFault(
        'syntax',
        ins.line,
        `PTX line ${ins.line}: '${ins.text}': the destination must be a register`,
      );
    return this.operand(operand, kind, ins);
  }

  /** The declared register named `name`, whatever its kind (addresses take b32 or b64). */
  named(name: string): Slot | undefined {
    return this.#named.get(name);
  }

  /** A constant slot holding `value` (the shared window address of a shared symbol). */
  constant32(value: number): Slot {
    return this.#constant('b32', [value | 0]);
  }

  #constant(kind: RegisterKind, values: readonly number[]): Slot {
    const key = `${kind}:${values.map((v) => (Object.is(v, -0) ? '-0' : String(v))).join(',')}`;
    let slot = this.#constants.get(key);
    if (slot === undefined) {
      slot = this.#allocate(kind, key);
      this.#constants.set(key, slot);
      this.constants.push({ slot, values });
    }
    return slot;
  }

  #special(special: SpecialRegister): Slot {
    let found = this.specials.find((s) => s.special === special);
    if (found === undefined) {
      found = { slot: this.#allocate('b32', special), special };
      this.specials.push(found);
    }
    return found.slot;
  }
}
