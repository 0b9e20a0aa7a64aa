import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LakeError } from '../../errors.js';
import type { DenseModel } from '../../models/dense.js';
import { parseLinnosHeader, parseTestVectors } from '../../models/linnos-header.js';
import { dequantizeLinnos } from '../../models/linnos-integer.js';
import { Random } from '../../random.js';
import { syntheticLinnosModel } from '../linnos/calibrate.js';
import { ShmArena } from '../shm/arena.js';
import { BACKENDS } from './catalog.js';
import { CpuWasmBackend } from './cpu-wasm/device.js';
import type { KernelSetName } from './kernel-sets.js';
import type { BackendDevice, BackendKind, BackendName, ComputeBackend } from './types.js';

/**
 * `lake backends --verify`: every backend that can run here runs every kernel set on fixed vectors, against
 * cpu-wasm on the same model and the same bytes. Integer kernels (linnos: decisions, and logits that are
 * the integer outputs over one scale) must agree bit for bit; f32 kernels (dense-f32) within F32_TOLERANCE.
 * Vectors: the LinnOS artifact's weight headers with ml_test.h's 26 vectors (test/fixtures/linnos in the
 * source tree) and seeded random digit vectors, seeded NN / NN+1 / NN+2 models, seeded random dense models.
 */

/**
 * |backend - cpu-wasm| <= abs + rel * |cpu-wasm| per output. cpu-wasm accumulates dense layers in double
 * precision and rounds each layer to f32; a GPU accumulates in f32 (fused multiply-adds where it contracts
 * them). For the <= 256-wide layers here that differs by a few f32 ulps of the largest term: 1e-4 relative
 * leaves ~100x room while catching any wrong index, layer or activation.
 */
export const F32_TOLERANCE = { abs: 1e-5, rel: 1e-4 } as const;

/** Random vectors per LinnOS model, rows per dense model (defaults). */
const LINNOS_VECTORS = 1024;
const DENSE_ROWS = 256;
const DENSE_SHAPES: readonly (readonly number[])[] = [
  [8, 16, 4],
  [31, 256, 2],
  [64, 128, 128, 10],
];
const HEADERS = ['w_sde.h', 'w_sdf.h', 'weights.h'];

export interface VerifyCheck {
  kernelSet: KernelSetName;
  function: string;
  model: string;
  vectors: number;
  /** Compared bit for bit (integer kernels) or within F32_TOLERANCE. */
  exact: boolean;
  /** Output values that differ (exact) or fall outside the tolerance. */
  mismatches: number;
  maxAbsError: number;
  maxRelError: number;
  agree: boolean;
  /** The device's error, when the check could not run. */
  error?: string;
}

export interface BackendVerification {
  backend: BackendName;
  kind: BackendKind;
  /** reference: cpu-wasm itself; verified: ran every check; skipped: cannot run here; failed: a check or the device failed. */
  status: 'reference' | 'verified' | 'skipped' | 'failed';
  reason?: string;
  device?: string;
  checks: VerifyCheck[];
}

export interface VerifyReport {
  reference: 'cpu-wasm';
  tolerance: { abs: number; rel: number };
  /** Where the LinnOS fixtures came from, or null when they were not found (the seeded cases still run). */
  fixtures: string | null;
  backends: BackendVerification[];
  /** Every verified backend agreed on every check (true when none could run: nothing disagreed). */
  agree: boolean;
}

export interface VerifyOptions {
  /** Folder holding w_sde.h, w_sdf.h, weights.h and ml_test.h; default: the source tree's test/fixtures/linnos; null: none. */
  fixtures?: string | null;
  /** Seed of the random vectors and models (default 12). */
  seed?: number;
  /** The backends to check (default: the catalogue). */
  backends?: readonly ComputeBackend[];
  /** Random digit vectors per LinnOS model (default 1024) and rows per dense model (default 256). */
  vectors?: { linnos: number; dense: number };
}

interface Case {
  kernelSet: KernelSetName;
  model: string;
  dense: DenseModel;
  /** Input bytes (u8 digits, or f32 values) and rows. */
  input: Uint8Array;
  rows: number;
}

function defaultFixtures(): string | null {
  const dir = fileURLToPath(new URL('../../../test/fixtures/linnos/', import.meta.url));
  return existsSync(join(dir, 'ml_test.h')) ? dir : null;
}

function randomDigits(random: Random, rows: number): Uint8Array {
  return Uint8Array.from({ length: rows * 31 }, () => random.int(10));
}

/** The fixed cases: LinnOS fixtures (when present), seeded LinnOS shapes, seeded dense models. */
function verifyCases(
  fixtures: string | null,
  seed: number,
  counts: { linnos: number; dense: number },
): Case[] {
  const random = new Random(seed);
  const cases: Case[] = [];
  if (fixtures !== null) {
    const testFile = join(fixtures, 'ml_test.h');
    const fixed = parseTestVectors(readFileSync(testFile, 'utf8'), testFile).vectors;
    const input = new Uint8Array(fixed.length + counts.linnos * 31);
    input.set(fixed);
    input.set(randomDigits(random, counts.linnos), fixed.length);
    for (const name of HEADERS) {
      const file = join(fixtures, name);
      const header = parseLinnosHeader(readFileSync(file, 'utf8'), file);
      const rows = input.length / 31;
      cases.push({ kernelSet: 'linnos', model: name, dense: dequantizeLinnos(header.model), input, rows });
    }
  }
  for (const shape of ['nn', 'nn+1', 'nn+2'] as const) {
    const input = randomDigits(random, counts.linnos);
    const dense = syntheticLinnosModel(shape, seed);
    cases.push({ kernelSet: 'linnos', model: `${shape} (seed ${seed})`, dense, input, rows: counts.linnos });
  }
  for (const widths of DENSE_SHAPES) {
    const layers = [];
    for (let l = 0; l + 1 < widths.length; l++) {
      const inputs = widths[l]!;
      const outputs = widths[l + 1]!;
      const spread = Math.sqrt(2 / inputs);
      const weights = Float32Array.from({ length: inputs * outputs }, () => random.normal() * spread);
      const bias = Float32Array.from({ length: outputs }, () => random.normal() * 0.1);
      layers.push({ inputs, outputs, weights, bias });
    }
    const values = Float32Array.from({ length: counts.dense * widths[0]! }, () => random.normal());
    cases.push({
      kernelSet: 'dense-f32',
      model: `${widths.join('-')} (seed ${seed})`,
      dense: { layers },
      input: new Uint8Array(values.buffer),
      rows: counts.dense,
    });
  }
  return cases;
}

/** The functions of a kernel set with their output bytes per row. */
/** One kernel function a case runs: its entry index, name, output bytes per row, and whether it must agree bit for bit. */
interface CaseFunction {
  index: number;
  name: string;
  rowBytes: number;
  exact: boolean;
}

function functionsOf(item: Case): CaseFunction[] {
  if (item.kernelSet === 'linnos') {
    return [
      { index: 0, name: 'predict', rowBytes: 1, exact: true },
      { index: 1, name: 'scores', rowBytes: 8, exact: true },
    ];
  }
  const outputs = item.dense.layers[item.dense.layers.length - 1]!.outputs;
  return [{ index: 0, name: 'forward', rowBytes: 4 * outputs, exact: false }];
}

/** Compares outputs: bytes for u8 decisions, f32 values otherwise (bit for bit when exact). */
function compare(
  got: Uint8Array,
  want: Uint8Array,
  exact: boolean,
  rowBytes: number,
): Pick<VerifyCheck, 'mismatches' | 'maxAbsError' | 'maxRelError'> {
  let mismatches = 0;
  let maxAbsError = 0;
  let maxRelError = 0;
  if (rowBytes === 1) {
    for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) mismatches++;
    return { mismatches, maxAbsError: mismatches > 0 ? 1 : 0, maxRelError: mismatches > 0 ? 1 : 0 };
  }
  const a = new Float32Array(got.buffer, got.byteOffset, got.length / 4);
  const b = new Float32Array(want.buffer, want.byteOffset, want.length / 4);
  const bitsA = new Uint32Array(got.buffer, got.byteOffset, got.length / 4);
  const bitsB = new Uint32Array(want.buffer, want.byteOffset, want.length / 4);
  for (let i = 0; i < a.length; i++) {
    const error = Math.abs(a[i]! - b[i]!);
    const relative = b[i] === 0 ? error : error / Math.abs(b[i]!);
    if (Number.isNaN(error)) {
      mismatches++;
      maxAbsError = Number.POSITIVE_INFINITY;
      continue;
    }
    maxAbsError = Math.max(maxAbsError, error);
    maxRelError = Math.max(maxRelError, relative);
    const bad = exact
      ? bitsA[i] !== bitsB[i]
      : error > F32_TOLERANCE.abs + F32_TOLERANCE.rel * Math.abs(b[i]!);
    if (bad) mismatches++;
  }
  return { mismatches, maxAbsError, maxRelError };
}

/** The check of one function of one case: it agrees when it ran (no `error`) and no output differed. */
function checkOf(
  item: Case,
  fn: CaseFunction,
  diff: Pick<VerifyCheck, 'mismatches' | 'maxAbsError' | 'maxRelError'>,
  error?: string,
): VerifyCheck {
  return {
    kernelSet: item.kernelSet,
    function: fn.name,
    model: item.model,
    vectors: item.rows,
    exact: fn.exact,
    ...diff,
    agree: error === undefined && diff.mismatches === 0,
    ...(error === undefined ? {} : { error }),
  };
}

/** Runs one case on `device` the way lakeD would (adopt, copy in, launch, copy out) and on cpu-wasm. */
function runCase(
  arena: ShmArena,
  device: BackendDevice,
  reference: BackendDevice,
  item: Case,
): VerifyCheck[] {
  const checks: VerifyCheck[] = [];
  const functions = functionsOf(item);
  const outBytes = item.rows * Math.max(...functions.map((f) => f.rowBytes));
  const host = arena.alloc(item.input.length);
  const deviceIn = arena.alloc(item.input.length);
  const deviceOut = arena.alloc(outBytes);
  const hostOut = arena.alloc(outBytes);
  const referenceOut = arena.alloc(outBytes);
  arena.bytes(host, item.input.length).set(item.input);
  const wanted = reference.loadModule(item.kernelSet, item.dense);
  try {
    device.adoptMemory(deviceIn, item.input.length);
    device.adoptMemory(deviceOut, outBytes);
    const module = device.loadModule(item.kernelSet, item.dense);
    device.copyToDevice(deviceIn, host, item.input.length);
    for (const fn of functions) {
      const bytes = item.rows * fn.rowBytes;
      wanted.runBlock(fn.index, Float64Array.from([host, referenceOut, item.rows]), 0, 1);
      module.runBlock(fn.index, Float64Array.from([deviceIn, deviceOut, item.rows]), 0, 1);
      device.copyFromDevice(hostOut, deviceOut, bytes);
      const diff = compare(
        arena.bytes(hostOut, bytes),
        arena.bytes(referenceOut, bytes),
        fn.exact,
        fn.rowBytes,
      );
      checks.push(checkOf(item, fn, diff));
    }
    module.unload();
    device.releaseMemory(deviceIn);
    device.releaseMemory(deviceOut);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const failed = {
      mismatches: item.rows,
      maxAbsError: Number.POSITIVE_INFINITY,
      maxRelError: Number.POSITIVE_INFINITY,
    };
    for (const fn of functions.slice(checks.length)) checks.push(checkOf(item, fn, failed, message));
  } finally {
    wanted.unload();
    for (const ptr of [host, deviceIn, deviceOut, hostOut, referenceOut]) arena.free(ptr);
  }
  return checks;
}

/** Verifies one backend against the reference; never throws for the backend's own failures. */
function verifyBackend(
  arena: ShmArena,
  backend: ComputeBackend,
  cases: readonly Case[],
): BackendVerification {
  // probe(), not detect(): opening the device finds the adapter, and a device without one says why (fault).
  const report = backend.probe();
  const base = { backend: backend.name, kind: backend.kind, checks: [] as VerifyCheck[] };
  if (!report.available && report.verifiable !== true) {
    return { ...base, status: 'skipped', reason: report.reason ?? 'not available here' };
  }
  let device: BackendDevice;
  try {
    device = backend.open(arena, { onLakeD: true, forVerification: true });
  } catch (error) {
    return { ...base, status: 'failed', reason: error instanceof Error ? error.message : String(error) };
  }
  const reference = new CpuWasmBackend().open(arena);
  try {
    if (device.fault !== undefined)
      return { ...base, status: 'skipped', device: device.name, reason: device.fault };
    const checks = cases.flatMap((item) => runCase(arena, device, reference, item));
    // A device that fell back to its CPU path mid-run compared cpu-wasm with itself: not a verification.
    const fault = device.fault;
    const agree = checks.every((c) => c.agree);
    return {
      ...base,
      checks,
      device: device.name,
      status: fault === undefined && agree ? 'verified' : 'failed',
      ...(fault !== undefined ? { reason: `fault during the checks: ${fault}` } : {}),
    };
  } finally {
    device.close();
    reference.close();
  }
}

export function verifyBackends(options: VerifyOptions = {}): VerifyReport {
  const seed = options.seed ?? 12;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new LakeError('LAKE_E_USAGE', `seed must be an integer in 0..4294967295, got ${seed}`);
  const fixtures = options.fixtures === undefined ? defaultFixtures() : options.fixtures;
  if (fixtures !== null && !existsSync(join(fixtures, 'ml_test.h')))
    throw new LakeError(
      'LAKE_E_IO',
      `${join(fixtures, 'ml_test.h')}: not found (the LinnOS fixtures folder)`,
    );
  const counts = options.vectors ?? { linnos: LINNOS_VECTORS, dense: DENSE_ROWS };
  for (const [what, count] of Object.entries(counts)) {
    if (!Number.isSafeInteger(count) || count < 1 || count > 1 << 16)
      throw new LakeError('LAKE_E_USAGE', `vectors.${what} must be an integer in [1, 65536], got ${count}`);
  }
  const cases = verifyCases(fixtures, seed, counts);
  const bytes = Math.max(...cases.map((c) => c.input.length)) * 4 + (1 << 20);
  const arena = ShmArena.create({ bytes });
  const backends = (options.backends ?? BACKENDS).map((backend): BackendVerification => {
    if (backend.name === 'cpu-wasm') {
      return { backend: backend.name, kind: backend.kind, status: 'reference', checks: [] };
    }
    return verifyBackend(arena, backend, cases);
  });
  return {
    reference: 'cpu-wasm',
    tolerance: { ...F32_TOLERANCE },
    fixtures,
    backends,
    agree: backends.every((b) => b.status !== 'failed'),
  };
}
