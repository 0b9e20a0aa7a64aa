/**
 * The native C reference of `lake bench inference`: src/bench/native/linnos-int16.c, compiled at run time
 * with -O3 -march=native by the first C compiler found ($CC, cc, gcc, clang) into a temporary directory that
 * `close` removes. It runs LinnOS's 31-W-2 forward on the weights lake serves, as lake's int16 plan and as
 * LinnOS's own int64 kernel, checks its raw outputs against lake's, and times itself (clock_gettime over many
 * calls, as inference.ts times lake's kernels). Without a compiler, or for a shape it does not cover, it is
 * absent and says why.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../files/atomic.js';
import { trackTemporary } from '../files/temporary.js';
import type { Int16Plan } from '../kernels/wasm/int16-plan.js';
import type { LinnosIntegerModel } from '../models/linnos-integer.js';

export const NATIVE_FLAGS: readonly string[] = ['-O3', '-march=native', '-std=c11'];
const COMPILERS: readonly string[] = ['cc', 'gcc', 'clang'];
const COMPILE_TIMEOUT_MS = 120_000;

export interface NativeCompiler {
  command: string;
  /** The first line of `--version`. */
  version: string;
}

/** Raw outputs per vector, two each: int16 plan (int32 values) and LinnOS int64 (exact below 2^53). */
export interface NativeOutputs {
  int16: number[];
  int64: number[];
}

/** ns per prediction of each timed run. */
export interface NativeTimes {
  int16: number[];
  int64: number[];
}

/**
 * 'native': -march=native as it is (the widest vectors the machine has: AVX-512 or AVX2 on recent x86-64);
 * '128-bit': the same with -mno-avx on x86-64 (SSE2: the vector width of WebAssembly SIMD), built when the
 * machine is x86-64 and the compiler takes the flag.
 */
export type NativeBuild = 'native' | '128-bit';

export interface NativeReference {
  readonly compiler: NativeCompiler;
  /** The flags of each build made. */
  readonly builds: Readonly<Partial<Record<NativeBuild, readonly string[]>>>;
  check(build: NativeBuild): NativeOutputs;
  time(samples: number, runMs: number, clock: 'wall' | 'cpu', build: NativeBuild): NativeTimes;
  /** Removes the temporary directory (the program, model and vectors). Idempotent. */
  close(): void;
}

export type NativeOpening = { reference: NativeReference } | { absent: string };

/** The first compiler that answers `--version`: $CC when set, else cc, gcc, clang. */
export function findCompiler(): NativeCompiler | undefined {
  const fromEnv = process.env['CC'];
  const candidates = fromEnv !== undefined && fromEnv !== '' ? [fromEnv, ...COMPILERS] : COMPILERS;
  for (const command of candidates) {
    const probe = spawnSync(command, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (probe.status === 0) return { command, version: (probe.stdout.split('\n')[0] ?? '').trim() };
  }
  return undefined;
}

export function nativeSourcePath(): string {
  return fileURLToPath(new URL('./native/linnos-int16.c', import.meta.url));
}

/**
 * Compiles the reference for a one-hidden-layer model (`plan` as the wasm backend plans it, `integer` as the
 * exact backend quantises it) and writes its inputs: the weights and `vectors` (digits, back to back).
 */
export async function openNativeReference(
  plan: Int16Plan,
  integer: LinnosIntegerModel,
  vectors: Uint8Array,
): Promise<NativeOpening> {
  if (plan.hidden.length > 0 || integer.layers.length !== 2) {
    return { absent: 'the C reference covers LinnOS NN (one hidden layer) only' };
  }
  if (endianness() !== 'LE') return { absent: 'the C reference reads little-endian weights' };
  const source = nativeSourcePath();
  if (!existsSync(source)) return { absent: `its C source is missing (${source})` };
  const compiler = findCompiler();
  if (compiler === undefined) return { absent: 'no C compiler found ($CC, cc, gcc, clang)' };
  const dir = mkdtempSync(join(tmpdir(), 'lake-bench-native-'));
  const files = ['model.bin', 'vectors.bin', 'linnos-int16', 'linnos-int16-128'].map((name) =>
    trackTemporary(join(dir, name)),
  );
  const close = (): void => {
    for (const file of files) file.remove();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [model, inputs, program, narrow] = files.map((file) => file.path) as [
      string,
      string,
      string,
      string,
    ];
    await writeFileAtomic(model, nativeModelBytes(plan, integer));
    await writeFileAtomic(inputs, vectors);
    const defines = [`-DWIDTH=${plan.width0}`, `-DINPUTS=${plan.inputs}`];
    const flags = [...NATIVE_FLAGS, ...defines];
    const built = compile(compiler, flags, program, source);
    if (built !== undefined) {
      close();
      return { absent: `${compiler.command} could not compile it: ${built}` };
    }
    const programs: Partial<Record<NativeBuild, string>> = { native: program };
    const builds: Partial<Record<NativeBuild, readonly string[]>> = { native: flags };
    const narrowFlags = [...NATIVE_FLAGS, '-mno-avx', ...defines];
    if (process.arch === 'x64' && compile(compiler, narrowFlags, narrow, source) === undefined) {
      programs['128-bit'] = narrow;
      builds['128-bit'] = narrowFlags;
    }
    const run = (build: NativeBuild, args: string[]): string => {
      const path = programs[build];
      if (path === undefined) throw new Error(`the ${build} build of the C reference was not made`);
      const result = spawnSync(path, [model, inputs, ...args], {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        timeout: COMPILE_TIMEOUT_MS,
      });
      if (result.status !== 0) {
        throw new Error(
          `the C reference failed (${result.error?.message ?? `exit ${result.status}`}): ${result.stderr.trim()}`,
        );
      }
      return result.stdout;
    };
    const reference: NativeReference = {
      compiler,
      builds,
      check: (build) => JSON.parse(run(build, ['check'])) as NativeOutputs,
      time: (samples, runMs, clock, build) => {
        const times = JSON.parse(run(build, ['time', String(samples), String(runMs), clock])) as NativeTimes;
        return { int16: times.int16, int64: times.int64 };
      },
      close,
    };
    return { reference };
  } catch (error) {
    close();
    throw error;
  }
}

/** Compiles `source` to `program`; undefined, or the first line of why it failed. */
function compile(
  compiler: NativeCompiler,
  flags: string[],
  program: string,
  source: string,
): string | undefined {
  const built = spawnSync(compiler.command, [...flags, '-o', program, source], {
    encoding: 'utf8',
    timeout: COMPILE_TIMEOUT_MS,
  });
  if (built.status === 0) return undefined;
  return (built.stderr || built.error?.message || `exit ${built.status}`).trim().split('\n')[0];
}

/** The weights in the order and widths linnos-int16.c reads them (little-endian); int64 rows padded to width0. */
export function nativeModelBytes(plan: Int16Plan, integer: LinnosIntegerModel): Uint8Array {
  const width = plan.width0;
  const inputs = plan.inputs;
  const [first, output] = integer.layers as [
    LinnosIntegerModel['layers'][0],
    LinnosIntegerModel['layers'][0],
  ];
  const w0 = new BigInt64Array(width * inputs);
  const b0 = new BigInt64Array(width);
  const w1 = new BigInt64Array(2 * width);
  for (let j = 0; j < first.outputs; j++) {
    b0[j] = BigInt(first.bias[j]!);
    for (let i = 0; i < inputs; i++) w0[j * inputs + i] = BigInt(first.weights[j * inputs + i]!);
  }
  for (let c = 0; c < 2; c++) {
    for (let k = 0; k < output.inputs; k++)
      w1[c * width + k] = BigInt(output.weights[c * output.inputs + k]!);
  }
  const b1 = BigInt64Array.from(output.bias, (value) => BigInt(value));
  const parts: ArrayBufferView[] = [
    plan.table,
    plan.bias0,
    plan.outputWeights,
    plan.outputBias,
    w0,
    b0,
    w1,
    b1,
  ];
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(new Uint8Array(part.buffer, part.byteOffset, part.byteLength), at);
    at += part.byteLength;
  }
  return bytes;
}
