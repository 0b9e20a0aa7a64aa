import { PtxFault, type PtxFaultKind } from './fault.js';
import { decodeArithmetic } from './ops-arith.js';
import { decodeMemory } from './ops-memory.js';
import type { PtxEntry, PtxInstruction, PtxModule } from './parse.js';
import { RegisterLayout, type Slot } from './registers.js';
import { EXITED, type Machine, type ThreadState, WAIT_BARRIER, WAIT_SHUFFLE } from './state.js';

/**
 * An entry decoded once into closures over slot indices: each takes a thread, does the instruction and
 * returns the next pc (or WAIT_BARRIER / WAIT_SHUFFLE / EXITED). Type and operand checks happen here, so
 * an unsupported instruction or a misused register is reported for its line before anything runs.
 */
export type Op = (t: ThreadState) => number;

export interface ParamLayout {
  readonly name: string;
  readonly type: 'u32' | 'u64' | 'f64';
  readonly offset: number;
}

export interface DecodedEntry {
  readonly name: string;
  readonly layout: RegisterLayout;
  readonly params: readonly ParamLayout[];
  readonly paramBytes: number;
  readonly ops: readonly Op[];
  readonly instructions: readonly PtxInstruction[];
  /** Per pc: the shuffle's destination slot for a shfl.sync, else undefined. */
  readonly shuffleDestinations: readonly (Slot | undefined)[];
  /** The machine the closures read: the launcher points it at the launch and block in hand. */
  readonly machine: Machine;
}

/** What every instruction decoder gets: the layout, the machine, and how to report a fault at run time. */
export interface DecodeContext {
  readonly layout: RegisterLayout;
  readonly machine: Machine;
  readonly params: ReadonlyMap<string, ParamLayout>;
  readonly sharedSymbols: readonly string[];
  readonly labels: ReadonlyMap<string, number>;
  readonly pc: number;
  readonly ins: PtxInstruction;
  /** A run-time fault at this instruction, naming the block and thread. */
  fault(kind: PtxFaultKind, t: ThreadState, message: string): PtxFault;
  /** Where this instruction runs for thread t (for messages). */
  where(t: ThreadState): string;
  /** A decode-time rejection of this instruction. */
  reject(why: string): PtxFault;
}

export function decodeEntry(module: PtxModule, entry: PtxEntry, machine: Machine): DecodedEntry {
  const layout = new RegisterLayout(entry.registers);
  let paramBytes = 0;
  const params = entry.params.map((p): ParamLayout => {
    const type = p.type;
    if (type !== 'u32' && type !== 'u64' && type !== 'f64')
      throw new PtxFault(
        'unsupported',
        p.line,
        `PTX line ${p.line}: parameters of type .${p.type} are not supported`,
      );
    const size = type === 'u32' ? 4 : 8;
    paramBytes = Math.ceil(paramBytes / size) * size;
    const param: ParamLayout = { name: p.name, type, offset: paramBytes };
    paramBytes += size;
    return param;
  });
  const paramMap = new Map(params.map((p) => [p.name, p]));
  const ops: Op[] = [];
  const shuffleDestinations: (Slot | undefined)[] = [];
  entry.instructions.forEach((ins, pc) => {
    const where = (t: ThreadState): string =>
      `PTX line ${ins.line} ('${ins.text}'), block ${machine.block} thread ${t.tid}`;
    const context: DecodeContext = {
      layout,
      machine,
      params: paramMap,
      sharedSymbols: module.sharedSymbols,
      labels: entry.labels,
      pc,
      ins,
      where,
      fault: (kind, t, message) => new PtxFault(kind, ins.line, `${where(t)}: ${message}`),
      reject: (why) => new PtxFault('unsupported', ins.line, `PTX line ${ins.line}: '${ins.text}': ${why}`),
    };
    const decoded = decodeInstruction(context);
    ops.push(withGuard(context, decoded.op));
    shuffleDestinations.push(decoded.shuffleDestination);
  });
  ops.push((t) => {
    throw new PtxFault(
      'launch',
      0,
      `entry ${entry.name}: thread ${t.tid} of block ${machine.block} ran past the last instruction without ret`,
    );
  });
  return {
    name: entry.name,
    layout,
    params,
    paramBytes,
    ops,
    instructions: entry.instructions,
    shuffleDestinations: [...shuffleDestinations, undefined],
    machine,
  };
}

/** `@%p` / `@!%p`: the instruction runs only where the predicate holds (is false). */
function withGuard(c: DecodeContext, op: Op): Op {
  const guard = c.ins.guard;
  if (guard === undefined) return op;
  const p = c.layout.predicate(guard.register, c.ins);
  const next = c.pc + 1;
  const negated = guard.negated;
  return (t) => {
    if (t.written[p.ord] === 0)
      throw c.fault('uninitialised', t, `guard ${p.name} read before it was written`);
    return (t.ints[p.slot] !== 0) !== negated ? op(t) : next;
  };
}

function decodeInstruction(c: DecodeContext): { op: Op; shuffleDestination?: Slot } {
  const parts = c.ins.opcode.split('.');
  const base = parts[0]!;
  switch (base) {
    case 'ld':
    case 'st':
    case 'red':
    case 'cvta':
      return { op: decodeMemory(c, parts) };
    case 'bra':
      return { op: decodeBranch(c, parts) };
    case 'ret':
    case 'exit':
      if (parts.length !== 1 || c.ins.operands.length !== 0)
        throw c.reject('ret takes no operands or modifiers');
      return { op: () => EXITED };
    case 'bar':
      return { op: decodeBarrier(c, parts) };
    case 'shfl':
      return decodeShuffle(c, parts);
    default:
      return { op: decodeArithmetic(c, parts) };
  }
}

function decodeBranch(c: DecodeContext, parts: readonly string[]): Op {
  if (parts.length > 2 || (parts.length === 2 && parts[1] !== 'uni'))
    throw c.reject('only bra and bra.uni are supported');
  const target = c.ins.operands[0];
  if (c.ins.operands.length !== 1 || target?.kind !== 'symbol') throw c.reject('bra takes one label');
  const pc = c.labels.get(target.name);
  if (pc === undefined) throw c.reject(`label ${target.name} is not defined in this entry`);
  return () => pc;
}

function decodeBarrier(c: DecodeContext, parts: readonly string[]): Op {
  const id = c.ins.operands[0];
  if (parts.join('.') !== 'bar.sync' || c.ins.operands.length !== 1 || id?.kind !== 'int' || id.value !== 0n)
    throw c.reject('only bar.sync 0 (every thread of the block) is supported');
  return () => WAIT_BARRIER;
}

/** shfl.sync.down.b32 d, a, delta, clamp, membermask: the thread waits; the launcher exchanges values. */
function decodeShuffle(c: DecodeContext, parts: readonly string[]): { op: Op; shuffleDestination: Slot } {
  if (parts.join('.') !== 'shfl.sync.down.b32' || c.ins.operands.length !== 5)
    throw c.reject('only shfl.sync.down.b32 d, a, b, c, membermask is supported');
  const [d, a, b, clamp, mask] = c.ins.operands.map((o, i) =>
    i === 0 ? c.layout.destination(o, 'b32', c.ins) : c.layout.operand(o, 'b32', c.ins),
  ) as [Slot, Slot, Slot, Slot, Slot];
  const reads = [a, b, clamp, mask];
  const op: Op = (t) => {
    for (const r of reads)
      if (t.written[r.ord] === 0) throw c.fault('uninitialised', t, `${r.name} read before it was written`);
    t.shuffleValue = t.ints[a.slot]!;
    t.shuffleDelta = t.ints[b.slot]!;
    t.shuffleClamp = t.ints[clamp.slot]!;
    t.shuffleMask = t.ints[mask.slot]!;
    return WAIT_SHUFFLE;
  };
  return { op, shuffleDestination: d };
}

export { WAIT_BARRIER, WAIT_SHUFFLE, EXITED };
