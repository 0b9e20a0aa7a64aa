import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type LaunchOptions, PtxFault, type PtxFaultKind, PtxProgram } from './ptx-sim.js';

/**
 * The PTX interpreter on small hand-written kernels: PTX's value semantics (widths, extension on load,
 * wrap-around, shift clamping, f32 rounding, shuffle clamping) against values worked out here, and each
 * fault it exists to catch, named with its line.
 */
const OUT_BASE = 0x1000_0000;

/** A module with one entry `k(p_out)`: `.reg` lines and body lines as given. */
function kernel(registers: readonly string[], body: readonly string[]): string {
  return [
    '.version 7.0',
    '.target sm_70',
    '.address_size 64',
    '.extern .shared .align 16 .b8 smem[];',
    '.visible .entry k(',
    '\t.param .u64 p_out',
    ')',
    '{',
    ...registers.map((r) => `\t${r}`),
    '\tld.param.u64 %out, [p_out];',
    ...body.map((line) => (line.endsWith(':') ? line : `\t${line}`)),
    '\tret;',
    '}',
  ].join('\n');
}

function run(
  ptx: string,
  outBytes: number,
  shape: Partial<Pick<LaunchOptions, 'gridX' | 'blockX' | 'sharedBytes' | 'stepLimit'>> = {},
): DataView {
  const out = new Uint8Array(outBytes);
  new PtxProgram(ptx).launch('k', {
    gridX: shape.gridX ?? 1,
    blockX: shape.blockX ?? 1,
    sharedBytes: shape.sharedBytes ?? 0,
    stepLimit: shape.stepLimit,
    args: [{ type: 'u64', value: BigInt(OUT_BASE) }],
    memory: [{ base: OUT_BASE, bytes: out }],
  });
  return new DataView(out.buffer);
}

function lineOf(ptx: string, fragment: string): number {
  return ptx.split('\n').findIndex((l) => l.includes(fragment)) + 1;
}

function assertFault(work: () => unknown, kind: PtxFaultKind, line: number, pattern: RegExp): void {
  assert.throws(work, (error: unknown) => {
    assert.ok(error instanceof PtxFault, String(error));
    assert.equal(error.kind, kind, error.message);
    assert.equal(error.line, line, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

const REGS = [
  '.reg .pred %p;',
  '.reg .b32 %a, %b, %c;',
  '.reg .b64 %out, %x, %y;',
  '.reg .f64 %d, %e;',
  '.reg .f32 %f;',
];

describe('ptx-sim: value semantics', () => {
  test('32-bit integers: wrap-around, shift clamping, signed and unsigned compares, min/max, mad', () => {
    const results: [string[], number][] = [
      [['mov.u32 %a, 2147483647;', 'add.s32 %c, %a, 1;'], -2147483648],
      [['mov.u32 %a, 0;', 'sub.u32 %c, %a, 1;'], -1],
      [['mov.u32 %a, 1;', 'mov.u32 %b, 33;', 'shl.b32 %c, %a, %b;'], 0],
      [['mov.u32 %a, -8;', 'mov.u32 %b, 40;', 'shr.s32 %c, %a, %b;'], -1],
      [['mov.u32 %a, -8;', 'mov.u32 %b, 1;', 'shr.s32 %c, %a, %b;'], -4],
      [['mov.u32 %a, -8;', 'mov.u32 %b, 32;', 'shr.u32 %c, %a, %b;'], 0],
      [['mov.u32 %a, -8;', 'shr.u32 %c, %a, 28;'], 15],
      [['mov.u32 %a, -5;', 'min.s32 %c, %a, 3;'], -5],
      [['mov.u32 %a, -5;', 'min.u32 %c, %a, 3;'], 3],
      [['mov.u32 %a, 65536;', 'mad.lo.s32 %c, %a, %a, 7;'], 7],
      [['mov.u32 %a, -1;', 'setp.lt.u32 %p, %a, 1;', 'selp.u32 %c, 1, 2, %p;'], 2],
      [['mov.u32 %a, -1;', 'setp.lt.s32 %p, %a, 1;', 'selp.u32 %c, 1, 2, %p;'], 1],
      [['mov.u32 %a, 1000;', 'and.b32 %c, %a, -16;'], 992],
    ];
    const body = results.flatMap(([lines], i) => [...lines, `st.global.u32 [%out+${4 * i}], %c;`]);
    const out = run(kernel(REGS, body), 4 * results.length);
    results.forEach(([lines, expected], i) => {
      assert.equal(out.getInt32(4 * i, true), expected, lines.join(' '));
    });
  });

  test('loads extend to the register (s16 sign, u8 zero); narrow stores keep the low bytes', () => {
    const ptx = kernel(REGS, [
      'mov.u32 %a, 0x18001;',
      'st.global.u32 [%out], %a;',
      'ld.global.s16 %b, [%out];',
      'st.global.u32 [%out+4], %b;',
      'ld.global.u16 %b, [%out];',
      'st.global.u32 [%out+8], %b;',
      'mov.u32 %a, -1;',
      'st.global.u8 [%out+12], %a;',
      'ld.global.u8 %b, [%out+12];',
      'st.global.u32 [%out+16], %b;',
    ]);
    const out = run(ptx, 20);
    assert.equal(out.getInt32(4, true), -32767);
    assert.equal(out.getInt32(8, true), 0x8001);
    assert.equal(out.getUint8(12), 0xff);
    assert.equal(out.getUint8(13), 0, 'st.u8 wrote one byte');
    assert.equal(out.getInt32(16, true), 255);
  });

  test('64-bit: mul.wide past 2^53, add/sub carries and borrows, shifts, cvt extension', () => {
    const ptx = kernel(REGS, [
      'mov.u32 %a, -1;',
      'mul.wide.u32 %x, %a, %a;',
      'st.global.u64 [%out], %x;',
      'mul.wide.s32 %x, %a, 3;',
      'st.global.u64 [%out+8], %x;',
      'mov.u64 %x, 4294967295;',
      'add.u64 %y, %x, 1;',
      'st.global.u64 [%out+16], %y;',
      'sub.u64 %y, %y, 4294967297;',
      'st.global.u64 [%out+24], %y;',
      'mov.u32 %b, 63;',
      'shl.b64 %y, %x, %b;',
      'st.global.u64 [%out+32], %y;',
      'mov.u32 %a, -2;',
      'cvt.u64.u32 %x, %a;',
      'st.global.u64 [%out+40], %x;',
    ]);
    const out = run(ptx, 48);
    assert.equal(out.getBigUint64(0, true), 0xffff_ffffn * 0xffff_ffffn);
    assert.equal(out.getBigInt64(8, true), -3n);
    assert.equal(out.getBigUint64(16, true), 0x1_0000_0000n);
    assert.equal(out.getBigInt64(24, true), -1n);
    assert.equal(out.getBigUint64(32, true), 1n << 63n);
    assert.equal(out.getBigUint64(40, true), 0xffff_fffen);
  });

  test('floats: f64 arithmetic, f32 rounding to nearest even, s32 to f64, ordered compares', () => {
    const ptx = kernel(REGS, [
      // 1 + 2^-24 is halfway between two f32s: rounds to the even one, 1.
      'mov.f64 %d, 0d3FF0000010000000;',
      'cvt.rn.f32.f64 %f, %d;',
      'st.global.f32 [%out], %f;',
      // 1 + 3 * 2^-24 is halfway too: rounds up, to the even 1 + 2^-22.
      'mov.f64 %d, 0d3FF0000030000000;',
      'cvt.rn.f32.f64 %f, %d;',
      'st.global.f32 [%out+4], %f;',
      'mov.u32 %a, -7;',
      'cvt.rn.f64.s32 %d, %a;',
      'mov.f64 %e, 0d4008000000000000;',
      'div.rn.f64 %d, %d, %e;',
      'st.global.f64 [%out+8], %d;',
      'mul.rn.f64 %d, %d, %e;',
      'add.rn.f64 %d, %d, %e;',
      'st.global.f64 [%out+16], %d;',
      'div.rn.f64 %e, %e, 0d0000000000000000;',
      'sub.rn.f64 %e, %e, %e;',
      'setp.ne.f64 %p, %e, %e;',
      'selp.u32 %a, 1, 0, %p;',
      'st.global.u32 [%out+24], %a;',
    ]);
    const out = run(ptx, 28);
    assert.equal(out.getFloat32(0, true), 1);
    assert.equal(out.getFloat32(4, true), 1 + 2 ** -22);
    assert.equal(out.getFloat64(8, true), -7 / 3);
    assert.equal(out.getFloat64(16, true), (-7 / 3) * 3 + 3);
    assert.equal(out.getInt32(24, true), 0, 'NaN != NaN is false for the ordered setp.ne');
  });

  test('shfl.sync.down: lanes past the clamp keep their value; a tree sum over 32 lanes', () => {
    const ptx = kernel(REGS, [
      'mov.u32 %a, %tid.x;',
      'shfl.sync.down.b32 %b, %a, 20, 31, -1;',
      'mul.wide.u32 %x, %a, 4;',
      'add.u64 %x, %out, %x;',
      'st.global.u32 [%x], %b;',
      ...[16, 8, 4, 2, 1].flatMap((d) => [`shfl.sync.down.b32 %c, %a, ${d}, 31, -1;`, 'add.s32 %a, %a, %c;']),
      'setp.ne.u32 %p, %tid.x, 0;',
      '@%p bra $Lend;',
      'st.global.u32 [%out+128], %a;',
      '$Lend:',
    ]);
    const out = run(ptx, 132, { blockX: 32 });
    for (let lane = 0; lane < 32; lane++)
      assert.equal(out.getInt32(4 * lane, true), lane + 20 <= 31 ? lane + 20 : lane);
    assert.equal(out.getInt32(128, true), (31 * 32) / 2);
  });

  test('bar.sync orders shared memory: each thread reads what its neighbour wrote, in every block', () => {
    const ptx = kernel(REGS, [
      'mov.u32 %a, %tid.x;',
      'mov.u32 %b, smem;',
      'shl.b32 %c, %a, 2;',
      'add.u32 %c, %b, %c;',
      'add.u32 %b, %a, %ctaid.x;',
      'st.shared.u32 [%c], %b;',
      'bar.sync 0;',
      'add.u32 %b, %a, 1;',
      'setp.ge.u32 %p, %b, %ntid.x;',
      '@%p mov.u32 %b, 0;',
      'shl.b32 %b, %b, 2;',
      'ld.shared.u32 %b, [%b];',
      'mad.lo.u32 %a, %ctaid.x, %ntid.x, %a;',
      'mul.wide.u32 %x, %a, 4;',
      'add.u64 %x, %out, %x;',
      'st.global.u32 [%x], %b;',
    ]);
    const out = run(ptx, 4 * 2 * 64, { gridX: 2, blockX: 64, sharedBytes: 256 });
    for (let block = 0; block < 2; block++)
      for (let t = 0; t < 64; t++)
        assert.equal(out.getInt32(4 * (block * 64 + t), true), ((t + 1) % 64) + block);
  });
});

describe('ptx-sim: faults', () => {
  test('a register read before it is written', () => {
    const ptx = kernel(REGS, ['add.s32 %c, %a, 1;']);
    assertFault(
      () => run(ptx, 4),
      'uninitialised',
      lineOf(ptx, 'add.s32'),
      /thread 0: register %a read before it was written/,
    );
  });

  test('global and shared accesses out of bounds, and a misaligned one', () => {
    const global = kernel(REGS, ['mov.u32 %a, 1;', 'st.global.u32 [%out+4], %a;']);
    assertFault(
      () => run(global, 4),
      'bounds',
      lineOf(global, 'st.global'),
      /global access of 4 bytes at 0x10000004 is outside every allocation/,
    );
    const shared = kernel(REGS, ['mov.u32 %a, smem;', 'ld.shared.u32 %b, [%a+60];']);
    assertFault(
      () => run(shared, 4, { sharedBytes: 62 }),
      'bounds',
      lineOf(shared, 'ld.shared'),
      /beyond the launch's 62 shared bytes/,
    );
    const misaligned = kernel(REGS, ['mov.u32 %a, 1;', 'st.global.u32 [%out+2], %a;']);
    assertFault(
      () => run(misaligned, 8),
      'misaligned',
      lineOf(misaligned, 'st.global'),
      /not aligned to 4 bytes/,
    );
  });

  test('a shared byte read before any thread of the block wrote it', () => {
    const ptx = kernel(REGS, [
      'mov.u32 %a, smem;',
      'mov.u32 %b, 7;',
      'st.shared.u8 [%a+1], %b;',
      'ld.shared.u32 %c, [%a];',
    ]);
    assertFault(
      () => run(ptx, 4, { sharedBytes: 4 }),
      'uninitialised',
      lineOf(ptx, 'ld.shared'),
      /reads shared byte 0, which no thread of this block has written/,
    );
    // What block 0 wrote is garbage to block 1 (blocks do not share shared memory).
    const twoBlocks = kernel(REGS, [
      'mov.u32 %a, smem;',
      'setp.ne.u32 %p, %ctaid.x, 0;',
      '@%p bra $Lread;',
      'st.shared.u32 [%a], %a;',
      '$Lread:',
      'ld.shared.u32 %c, [%a];',
    ]);
    assertFault(
      () => run(twoBlocks, 4, { gridX: 2, sharedBytes: 4 }),
      'uninitialised',
      lineOf(twoBlocks, 'ld.shared'),
      /block 1 thread 0: reads shared byte 0/,
    );
  });

  test('a shared-memory race: a write and a read of one byte by two threads without a barrier', () => {
    const ptx = kernel(REGS, [
      'mov.u32 %a, smem;',
      'mov.u32 %b, %tid.x;',
      'st.shared.u32 [%a], %b;',
      'ld.shared.u32 %c, [%a+4];',
    ]);
    assertFault(
      () => run(ptx, 4, { blockX: 2, sharedBytes: 8 }),
      'race',
      lineOf(ptx, 'st.shared'),
      /block 0 thread 1: shared-memory race: writes shared byte 0 that thread 0 wrote \(line \d+\)/,
    );
    // The same value from every thread is no race (a flag any thread may set).
    run(kernel(REGS, ['mov.u32 %a, smem;', 'mov.u32 %b, 1;', 'st.shared.u32 [%a], %b;']), 4, {
      blockX: 64,
      sharedBytes: 4,
    });
  });

  test('a shuffle whose member lane has exited, and lanes at different shuffles', () => {
    const exited = kernel(REGS, [
      'setp.eq.u32 %p, %tid.x, 5;',
      '@%p ret;',
      'mov.u32 %a, 1;',
      'shfl.sync.down.b32 %b, %a, 1, 31, -1;',
    ]);
    assertFault(
      () => run(exited, 4, { blockX: 32 }),
      'shuffle',
      lineOf(exited, 'shfl'),
      /member lane 5 has exited/,
    );
    const split = kernel(REGS, [
      'mov.u32 %a, 1;',
      'setp.eq.u32 %p, %tid.x, 3;',
      '@%p bra $Lother;',
      'shfl.sync.down.b32 %b, %a, 1, 31, -1;',
      'bra $Lend;',
      '$Lother:',
      'shfl.sync.down.b32 %b, %a, 2, 31, -1;',
      '$Lend:',
    ]);
    assert.throws(
      () => run(split, 4, { blockX: 32 }),
      (error: unknown) =>
        error instanceof PtxFault &&
        error.kind === 'shuffle' &&
        /different shfl.sync sites/.test(error.message),
    );
  });

  test('threads of a block at different bar.sync instructions (bar.sync is aligned)', () => {
    const ptx = kernel(REGS, [
      'setp.eq.u32 %p, %tid.x, 40;',
      '@%p bra $Lother;',
      'bar.sync 0;',
      'bra $Lend;',
      '$Lother:',
      'bar.sync 0;',
      '$Lend:',
    ]);
    const second =
      ptx.lastIndexOf('bar.sync') >= 0 ? ptx.slice(0, ptx.lastIndexOf('bar.sync')).split('\n').length : 0;
    assertFault(
      () => run(ptx, 4, { blockX: 64 }),
      'barrier',
      second,
      /thread 40 at the one on line \d+: bar.sync is aligned/,
    );
  });

  test('a runaway loop stops at the step limit, naming where it was', () => {
    const ptx = kernel(REGS, ['$Lspin:', 'bra $Lspin;']);
    assertFault(
      () => run(ptx, 4, { stepLimit: 50_000 }),
      'steps',
      lineOf(ptx, 'bra $Lspin'),
      /more than 50000 instructions/,
    );
  });

  test('text outside the grammar and undeclared registers are rejected with their line', () => {
    const missing = kernel(REGS, ['mov.u32 %a, 1', 'mov.u32 %b, 2;']);
    assert.throws(
      () => new PtxProgram(missing),
      (error: unknown) =>
        error instanceof PtxFault && error.kind === 'syntax' && /expected ','/.test(error.message),
    );
    const undeclared = kernel(REGS, ['mov.u32 %zz, 1;']);
    assertFault(
      () => new PtxProgram(undeclared),
      'syntax',
      lineOf(undeclared, '%zz'),
      /register %zz is not declared/,
    );
    const mistyped = kernel(REGS, ['add.u64 %a, %a, 1;']);
    assertFault(
      () => new PtxProgram(mistyped),
      'unsupported',
      lineOf(mistyped, 'add.u64'),
      /%a is \.b32, the instruction needs \.b64/,
    );
    const fused = kernel(REGS, ['add.f64 %d, %d, %e;']);
    assertFault(() => new PtxProgram(fused), 'unsupported', lineOf(fused, 'add.f64'), /must say \.rn/);
  });
});
