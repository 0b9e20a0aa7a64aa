import { type DecodedEntry, decodeEntry } from './decode.js';
import { PtxFault } from './fault.js';
import { type PtxModule, parsePtx } from './parse.js';
import {
  GlobalMemory,
  type GlobalRegion,
  type Machine,
  SharedMemory,
  type ThreadState,
  WAIT_BARRIER,
  WAIT_SHUFFLE,
} from './state.js';

/**
 * SIMT execution of a launch: blocks one after another (they share only global memory and atomics);
 * inside a block each thread runs on its own registers and pc until it reaches bar.sync, shfl.sync or
 * ret. When every live thread is parked, shuffles whose member lanes have all arrived at the same
 * instruction exchange values, else, when every live thread waits at bar.sync, the barrier opens (and the
 * race tracker starts a new interval). Anything else (a shuffle lane that exited, waits elsewhere or at
 * another shuffle; a barrier some threads can never reach) is a fault: hardware would hang or be undefined.
 */
export type KernelArgValue =
  | { readonly type: 'u64'; readonly value: bigint }
  | { readonly type: 'u32'; readonly value: number }
  | { readonly type: 'f64'; readonly value: number };

export interface LaunchOptions {
  readonly gridX: number;
  readonly blockX: number;
  /** Dynamic shared memory per block, in bytes. */
  readonly sharedBytes: number;
  readonly args: readonly KernelArgValue[];
  /** The device allocations (every global access must fall inside one). */
  readonly memory: readonly GlobalRegion[];
  /** Instructions a launch may run in all before it is deemed runaway (default 200 million). */
  readonly stepLimit?: number;
}

export interface LaunchReport {
  /** Instructions executed (guarded-off ones included). */
  readonly steps: number;
  readonly barriers: number;
  readonly shuffles: number;
}

const STATE_RUN = 0;
const STATE_BARRIER = 1;
const STATE_SHUFFLE = 2;
const STATE_EXITED = 3;

/** A parsed PTX module whose entries are decoded on first use. */
export class PtxProgram {
  readonly module: PtxModule;
  readonly #decoded = new Map<string, DecodedEntry>();

  constructor(text: string) {
    this.module = parsePtx(text);
    // Decode every entry now: an unsupported instruction is reported when the module loads.
    for (const name of this.module.entries.keys()) this.#entry(name);
  }

  #entry(name: string): DecodedEntry {
    let decoded = this.#decoded.get(name);
    if (decoded === undefined) {
      const entry = this.module.entries.get(name);
      if (entry === undefined) throw new PtxFault('launch', 0, `PTX module has no entry ${name}`);
      const machine: Machine = {
        gridX: 0,
        blockX: 0,
        block: 0,
        params: new DataView(new ArrayBuffer(0)),
        shared: new SharedMemory(0),
        global: new GlobalMemory([]),
      };
      decoded = decodeEntry(this.module, entry, machine);
      this.#decoded.set(name, decoded);
    }
    return decoded;
  }

  launch(name: string, options: LaunchOptions): LaunchReport {
    const entry = this.#entry(name);
    const m = entry.machine;
    checkShape(entry, options);
    m.gridX = options.gridX;
    m.blockX = options.blockX;
    m.params = packParams(entry, options.args);
    m.shared = new SharedMemory(options.sharedBytes);
    m.global = new GlobalMemory(options.memory);
    const threads = makeThreads(entry, options.blockX);
    const report = { steps: 0, barriers: 0, shuffles: 0, limit: options.stepLimit ?? 200_000_000 };
    for (let block = 0; block < options.gridX; block++) {
      m.block = block;
      m.shared.reset();
      startBlock(entry, threads, options, block);
      runBlock(entry, threads, report);
    }
    return { steps: report.steps, barriers: report.barriers, shuffles: report.shuffles };
  }
}

function checkShape(entry: DecodedEntry, o: LaunchOptions): void {
  const bad = (why: string): PtxFault => new PtxFault('launch', 0, `launch of ${entry.name}: ${why}`);
  if (!Number.isInteger(o.gridX) || o.gridX < 1) throw bad(`grid ${o.gridX} is not a positive integer`);
  if (!Number.isInteger(o.blockX) || o.blockX < 1 || o.blockX > 1024)
    throw bad(`block ${o.blockX} is not 1..1024`);
  if (!Number.isInteger(o.sharedBytes) || o.sharedBytes < 0) throw bad(`shared bytes ${o.sharedBytes}`);
  if (o.args.length !== entry.params.length)
    throw bad(`${o.args.length} arguments for ${entry.params.length} parameters`);
}

function packParams(entry: DecodedEntry, args: readonly KernelArgValue[]): DataView {
  const view = new DataView(new ArrayBuffer(entry.paramBytes));
  entry.params.forEach((param, i) => {
    const arg = args[i]!;
    if (arg.type !== param.type)
      throw new PtxFault(
        'launch',
        0,
        `launch of ${entry.name}: argument ${i} is .${arg.type}, ${param.name} is .${param.type}`,
      );
    if (arg.type === 'u64') view.setBigUint64(param.offset, BigInt.asUintN(64, arg.value), true);
    else if (arg.type === 'u32') view.setUint32(param.offset, arg.value >>> 0, true);
    else view.setFloat64(param.offset, arg.value, true);
  });
  return view;
}

interface SimThread extends ThreadState {
  state: number;
}

function makeThreads(entry: DecodedEntry, blockX: number): SimThread[] {
  const layout = entry.layout;
  return Array.from({ length: blockX }, (_, tid) => ({
    tid,
    ints: new Int32Array(layout.intSlots),
    floats: new Float64Array(layout.floatSlots),
    written: new Uint8Array(layout.ordinals),
    pc: 0,
    state: STATE_RUN,
    shuffleValue: 0,
    shuffleDelta: 0,
    shuffleClamp: 0,
    shuffleMask: 0,
  }));
}

/** Fresh registers (unwritten), constants and special registers for a block. */
function startBlock(entry: DecodedEntry, threads: SimThread[], o: LaunchOptions, block: number): void {
  const layout = entry.layout;
  for (const t of threads) {
    t.written.fill(0);
    t.ints.fill(0);
    t.floats.fill(0);
    t.pc = 0;
    t.state = STATE_RUN;
    for (const { slot, values } of layout.constants) {
      const target = slot.kind === 'f32' || slot.kind === 'f64' ? t.floats : t.ints;
      values.forEach((v, i) => {
        target[slot.slot + i] = v;
      });
      t.written[slot.ord] = 1;
    }
    for (const { slot, special } of layout.specials) {
      const value =
        special === '%tid.x'
          ? t.tid
          : special === '%laneid'
            ? t.tid & 31
            : special === '%ntid.x'
              ? o.blockX
              : special === '%ctaid.x'
                ? block
                : o.gridX;
      t.ints[slot.slot] = value;
      t.written[slot.ord] = 1;
    }
  }
}

interface Counters {
  steps: number;
  barriers: number;
  shuffles: number;
  readonly limit: number;
}

function runBlock(entry: DecodedEntry, threads: SimThread[], counters: Counters): void {
  const ops = entry.ops;
  for (;;) {
    for (const t of threads) {
      if (t.state !== STATE_RUN) continue;
      let pc = t.pc;
      let steps = 0;
      for (;;) {
        const next = ops[pc]!(t);
        steps++;
        if (next >= 0) {
          pc = next;
          if (steps > 1_000_000) {
            counters.steps += steps;
            steps = 0;
            if (counters.steps > counters.limit) {
              t.pc = pc;
              throw runaway(entry, t, counters.limit);
            }
          }
          continue;
        }
        // A negative result parks the thread: WAIT_BARRIER, WAIT_SHUFFLE or EXITED (ret).
        t.pc = pc;
        t.state =
          next === WAIT_BARRIER ? STATE_BARRIER : next === WAIT_SHUFFLE ? STATE_SHUFFLE : STATE_EXITED;
        break;
      }
      counters.steps += steps;
      if (counters.steps > counters.limit) throw runaway(entry, t, counters.limit);
    }
    if (resolveShuffles(entry, threads, counters)) continue;
    let live = 0;
    for (const t of threads) if (t.state !== STATE_EXITED) live++;
    if (live === 0) {
      entry.machine.shared.endInterval();
      return;
    }
    // Every live thread waits at a barrier (an unresolved shuffle faulted in resolveShuffles).
    checkAlignedBarrier(entry, threads);
    counters.barriers++;
    entry.machine.shared.barrier();
    for (const t of threads) {
      if (t.state === STATE_BARRIER) {
        t.state = STATE_RUN;
        t.pc++;
      }
    }
  }
}

/**
 * bar.sync is barrier.sync.aligned: every thread of the block must execute the same bar instruction
 * (threads waiting at different ones is undefined behaviour, whatever the hardware happens to do).
 */
function checkAlignedBarrier(entry: DecodedEntry, threads: readonly SimThread[]): void {
  const waiting = threads.filter((t) => t.state === STATE_BARRIER);
  const first = waiting[0]!;
  const other = waiting.find((t) => t.pc !== first.pc);
  if (other === undefined) return;
  const a = entry.instructions[first.pc]!;
  const b = entry.instructions[other.pc]!;
  throw new PtxFault(
    'barrier',
    b.line,
    `block ${entry.machine.block}: thread ${first.tid} waits at bar.sync on PTX line ${a.line}, thread ${other.tid} at the one on line ${b.line}: bar.sync is aligned, every thread of the block must reach the same one`,
  );
}

function runaway(entry: DecodedEntry, t: ThreadState, limit: number): PtxFault {
  const ins = entry.instructions[t.pc];
  return new PtxFault(
    'steps',
    ins?.line ?? 0,
    `launch of ${entry.name}: more than ${limit} instructions (a runaway loop?); block ${entry.machine.block} thread ${t.tid} was at PTX line ${ins?.line ?? '?'}`,
  );
}

/**
 * Exchanges the values of every warp whose shuffling lanes are all at the same shfl.sync with the same
 * member mask, every member lane among them. Returns whether any shuffle ran.
 */
function resolveShuffles(entry: DecodedEntry, threads: SimThread[], counters: Counters): boolean {
  let ran = false;
  for (let warp = 0; warp * 32 < threads.length; warp++) {
    const lanes = threads.slice(warp * 32, warp * 32 + 32);
    const waiting = lanes.filter((t) => t.state === STATE_SHUFFLE);
    if (waiting.length === 0) continue;
    const first = waiting[0]!;
    const ins = entry.instructions[first.pc]!;
    const fail = (why: string): PtxFault =>
      new PtxFault(
        'shuffle',
        ins.line,
        `PTX line ${ins.line} ('${ins.text}'), block ${entry.machine.block} warp ${warp}: ${why}`,
      );
    const mask = first.shuffleMask >>> 0;
    for (let lane = 0; lane < 32; lane++) {
      const t = lanes[lane];
      const member = ((mask >>> lane) & 1) === 1;
      if (t === undefined) {
        if (member) throw fail(`member lane ${lane} does not exist (block of ${threads.length} threads)`);
        continue;
      }
      if (t.state === STATE_SHUFFLE && (t.pc !== first.pc || t.shuffleMask >>> 0 !== mask)) {
        const other = entry.instructions[t.pc]!;
        throw fail(
          `lane ${lane} waits at another shuffle (line ${other.line}, mask 0x${(t.shuffleMask >>> 0).toString(16)}): lanes arrive at different shfl.sync sites`,
        );
      }
      if (!member) {
        if (t.state === STATE_SHUFFLE)
          throw fail(`lane ${lane} executes it but is not in membermask 0x${mask.toString(16)}`);
        continue;
      }
      if (t.state === STATE_EXITED)
        throw fail(`member lane ${lane} has exited: the shuffle would never complete`);
      if (t.state === STATE_BARRIER) {
        const at = entry.instructions[t.pc]!;
        throw fail(
          `member lane ${lane} waits at bar.sync (line ${at.line}): the shuffle and the barrier deadlock`,
        );
      }
    }
    const dest = entry.shuffleDestinations[first.pc]!;
    const values = lanes.map((t) => t.shuffleValue);
    for (const t of waiting) {
      const lane = t.tid & 31;
      // .down: source lane + delta, unless past the segment's clamp (then the lane keeps its own value).
      const clamp = t.shuffleClamp & 31;
      const segmentMask = (t.shuffleClamp >>> 8) & 31;
      const maxLane = (lane & segmentMask) | (clamp & ~segmentMask);
      const source = lane + (t.shuffleDelta >>> 0);
      const from = source <= maxLane ? source : lane;
      if (((mask >>> from) & 1) === 0)
        throw fail(`lane ${lane} reads lane ${from}, which is not in membermask`);
      t.ints[dest.slot] = values[from]!;
      t.written[dest.ord] = 1;
      t.state = STATE_RUN;
      t.pc++;
    }
    counters.shuffles++;
    ran = true;
  }
  return ran;
}

/** Parses and decodes PTX text (cached per text: a module is loaded many times in tests). */
const programs = new Map<string, PtxProgram>();
export function ptxProgram(text: string): PtxProgram {
  let program = programs.get(text);
  if (program === undefined) {
    program = new PtxProgram(text);
    programs.set(text, program);
  }
  return program;
}
