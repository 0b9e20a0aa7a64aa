import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CudaDriver, KernelArg } from '../../../src/lake/backends/cuda/driver.js';
import { deviceImageFor, threadsPerBlock } from '../../../src/lake/backends/cuda/module.js';
import {
  denseSharedBytes,
  linnosSharedBytes,
  ptxModule,
  STATUS_CLEAN,
} from '../../../src/lake/backends/cuda/ptx.js';
import type { KernelSetName } from '../../../src/lake/backends/kernel-sets.js';
import { type DenseModel, linnosLayerSizes } from '../../../src/models/dense.js';
import { parseLinnosHeader, parseTestVectors } from '../../../src/models/linnos-header.js';
import { dequantizeLinnos } from '../../../src/models/linnos-integer.js';
import { Random } from '../../../src/random.js';
import { readFixtureText } from '../../helpers/fixtures.js';
import { randomModel, realisticDigits, uniformDigits } from '../../kernels/helpers.js';
import { randomDenseModel } from '../helpers.js';
import { FakeCudaDriver, type FakeDriverOptions } from './cuda-fake-driver.js';
import { type BatchJob, openFakeCuda, runBatch } from './cuda-harness.js';
import { PtxFault } from './ptx-sim.js';

/**
 * The CUDA backend with its launches executed from the PTX text it loads (the fake driver's 'ptx' mode:
 * the interpreter in ptx-sim.ts runs every thread of every block), compared byte for byte with cpu-wasm:
 * LinnOS decisions and scores for NN, NN+1, NN+2 and dense-f32, at several block sizes and with grids
 * smaller than the batch. Then the interpreter must catch broken PTX: a missing barrier, a wrong
 * descriptor offset, an instruction it does not know.
 */
function fixtureModel(name: string): DenseModel {
  return dequantizeLinnos(parseLinnosHeader(readFixtureText(`linnos/${name}`), name).model);
}
const TEST_VECTORS = parseTestVectors(readFixtureText('linnos/ml_test.h'), 'ml_test.h').vectors;

/** Runs `job` on a CUDA device whose fake driver interprets the PTX; asserts the GPU path really ran it. */
function onInterpretedPtx(
  model: DenseModel,
  jobs: readonly BatchJob[],
  options: FakeDriverOptions = {},
): Uint8Array[] {
  const { arena, driver, device, cpu } = openFakeCuda({ execute: 'ptx', ...options });
  try {
    return jobs.map((job) => {
      const launchesBefore = driver.ptxLaunches.length;
      const got = runBatch(arena, device, model, job);
      assert.deepEqual(driver.ptxFaults, [], 'the interpreter found no fault');
      assert.equal(device.fault, undefined, 'the device did not fall back to its CPU twin');
      const launches = driver.ptxLaunches.slice(launchesBefore);
      assert.ok(launches.length >= 1, 'the batch ran on the interpreted PTX');
      for (const launch of launches) {
        if (options.blockX !== undefined) assert.equal(launch.blockX, options.blockX);
        if (options.maxGridX !== undefined) assert.ok(launch.gridX <= options.maxGridX);
      }
      assert.deepEqual(
        got,
        runBatch(arena, cpu, model, job),
        `${job.kernelSet} fn ${job.fn}: same bytes as cpu-wasm`,
      );
      return got;
    });
  } finally {
    device.close();
  }
}

function linnosJobs(digits: Uint8Array): BatchJob[] {
  const n = digits.length / 31;
  return [0, 1].map((fn) => ({ kernelSet: 'linnos', fn, input: digits, n, outBytes: fn === 0 ? n : n * 8 }));
}

describe('cuda backend on interpreted PTX: linnos bit-exact with cpu-wasm', () => {
  for (const header of ['w_sde.h', 'w_sdf.h', 'weights.h']) {
    test(`NN fixture ${header} on ml_test.h's vectors (the backend's block of ${threadsPerBlock(256)})`, () => {
      const [decisions] = onInterpretedPtx(fixtureModel(header), linnosJobs(TEST_VECTORS));
      if (header === 'w_sde.h')
        assert.ok(decisions!.includes(0) && decisions!.includes(1), 'both decisions occur');
    });
  }

  for (const blockX of [64, 96, 256]) {
    test(`NN fixture, blocks of ${blockX} threads, a grid of 5 blocks for 26 vectors (grid-stride)`, () => {
      onInterpretedPtx(fixtureModel('w_sde.h'), linnosJobs(TEST_VECTORS), { blockX, maxGridX: 5 });
    });
  }

  for (const [s, shape] of (['nn+1', 'nn+2'] as const).entries()) {
    test(`${shape}: seeded models, uniform and realistic digits, blocks of 256 and 96`, () => {
      const model = randomModel(60 + s, linnosLayerSizes(shape), uniformDigits(70 + s, 200));
      const uniform = uniformDigits(80 + s, 10);
      const [decisions] = onInterpretedPtx(model, linnosJobs(uniform));
      onInterpretedPtx(model, linnosJobs(realisticDigits(90 + s, 7)), { blockX: 96, maxGridX: 3 });
      assert.ok(decisions!.includes(0) && decisions!.includes(1), 'both decisions occur');
    });
  }
});

describe('cuda backend on interpreted PTX: dense-f32 bit-exact with cpu-wasm', () => {
  for (const [sizes, blockX] of [
    [[12, 40, 17, 3], undefined],
    [[5, 300, 1], 64],
    [[31, 256, 2], 96],
    [[31, 64, 64, 2], 256],
  ] as const) {
    test(`${sizes.join('-')}, ${blockX === undefined ? "the backend's block" : `blocks of ${blockX}`}, grid of 4`, () => {
      const model = randomDenseModel(sizes.length * 7 + sizes[1]!, sizes);
      const n = 9;
      const random = new Random(sizes[1]!);
      const xs = Float32Array.from({ length: n * sizes[0]! }, () => random.normal() * 3);
      const job: BatchJob = {
        kernelSet: 'dense-f32',
        fn: 0,
        input: new Uint8Array(xs.buffer),
        n,
        outBytes: n * sizes[sizes.length - 1]! * 4,
      };
      const options = blockX === undefined ? { maxGridX: 4 } : { blockX, maxGridX: 4 };
      const [ys] = onInterpretedPtx(model, [job], options);
      // Not a vacuous agreement: outputs are finite and not all equal.
      const values = new Float32Array(ys!.buffer, ys!.byteOffset, ys!.length / 4);
      assert.ok(values.every(Number.isFinite) && new Set(values).size > 1);
    });
  }
});

interface DirectLaunch {
  readonly out: Uint8Array;
  readonly status: number;
  readonly driver: FakeCudaDriver;
}

/**
 * One linnos or dense-f32 launch straight on the fake driver in 'ptx' mode, with PTX text of the test's
 * choosing: the model image, the input, an output prefilled with 0xee, the status word set clean.
 */
function launchDirect(
  ptx: string,
  kernelSet: KernelSetName,
  entry: string,
  model: DenseModel,
  input: Uint8Array,
  n: number,
  shape: { gridX: number; blockX: number },
): DirectLaunch {
  const fake = new FakeCudaDriver({ execute: 'ptx' });
  const driver: CudaDriver = fake;
  const stream = {};
  const module = driver.moduleLoadPtx(ptx);
  const fn = driver.moduleGetFunction(module, entry);
  const image = deviceImageFor(kernelSet, model);
  const outBytes = kernelSet === 'dense-f32' ? n * image.outputs * 4 : entry === 'linnos_scores' ? n * 8 : n;
  const imageAt = driver.memAlloc(image.bytes.length);
  const xsAt = driver.memAlloc(input.length);
  const outAt = driver.memAlloc(outBytes);
  const statusAt = driver.memAlloc(4);
  driver.memcpyHtoDAsync(imageAt, image.bytes, stream);
  driver.memcpyHtoDAsync(xsAt, input, stream);
  driver.memcpyHtoDAsync(outAt, new Uint8Array(outBytes).fill(0xee), stream);
  driver.memsetD32Async(statusAt, STATUS_CLEAN, 1, stream);
  const sharedBytes =
    kernelSet === 'linnos' ? linnosSharedBytes(image.inputs, image.widest) : denseSharedBytes(image.widest);
  const args: KernelArg[] =
    kernelSet === 'linnos'
      ? [
          { type: 'u64', value: imageAt },
          { type: 'u64', value: xsAt },
          { type: 'u64', value: outAt },
          { type: 'u32', value: n },
          { type: 'u64', value: statusAt },
        ]
      : [
          { type: 'u64', value: imageAt },
          { type: 'u64', value: xsAt },
          { type: 'u64', value: outAt },
          { type: 'u32', value: n },
        ];
  driver.launch(fn, { ...shape, sharedBytes }, stream, args);
  const out = new Uint8Array(outBytes);
  driver.memcpyDtoHAsync(out, outAt, stream);
  const word = new Uint8Array(4);
  driver.memcpyDtoHAsync(word, statusAt, stream);
  return { out, status: new DataView(word.buffer).getInt32(0, true), driver: fake };
}

/** cpu-wasm's decisions for vectors of `digits`. */
function cpuDecisions(model: DenseModel, digits: Uint8Array): Uint8Array {
  const { arena, cpu, device } = openFakeCuda();
  device.close();
  const n = digits.length / 31;
  return runBatch(arena, cpu, model, { kernelSet: 'linnos', fn: 0, input: digits, n, outBytes: n });
}

describe('linnos kernel: vectors with a digit above 9', () => {
  test('the status word is the lowest bad index; every other vector is still decided', () => {
    const model = fixtureModel('w_sde.h');
    const digits = uniformDigits(17, 12);
    // Vector 9: one bad digit. Vector 4: two bad digits handled by different threads (7 and 40 % 32).
    digits[9 * 31 + 3] = 10;
    digits[4 * 31 + 7] = 200;
    digits[4 * 31 + 30] = 11;
    const { out, status } = launchDirect(ptxModule('linnos'), 'linnos', 'linnos_predict', model, digits, 12, {
      gridX: 5,
      blockX: 64,
    });
    assert.equal(status, 4);
    const clean = [...Array(12).keys()].filter((v) => v !== 4 && v !== 9);
    const expected = cpuDecisions(
      model,
      Uint8Array.from(clean.flatMap((v) => [...digits.subarray(v * 31, v * 31 + 31)])),
    );
    assert.deepEqual(
      clean.map((v) => out[v]),
      [...expected],
    );
    assert.equal(out[4], 0xee, 'a rejected vector is not written');
    assert.equal(out[9], 0xee, 'a rejected vector is not written');
  });
});

/** The linnos module with `edit` applied to both entries; the edit must change the text. */
function editedLinnos(edit: (text: string) => string): string {
  const original = ptxModule('linnos');
  const edited = edit(original);
  assert.notEqual(edited, original, 'the edit applies to the generated PTX');
  return edited;
}

describe('the interpreter catches broken PTX', () => {
  const model = fixtureModel('w_sde.h');
  const digits = uniformDigits(23, 6);

  test('the unedited module runs clean at the shape the fault cases use (the control)', () => {
    const { out, status, driver } = launchDirect(
      ptxModule('linnos'),
      'linnos',
      'linnos_predict',
      model,
      digits,
      6,
      {
        gridX: 2,
        blockX: 64,
      },
    );
    assert.equal(status, STATUS_CLEAN);
    assert.deepEqual(out, cpuDecisions(model, digits));
    assert.ok(driver.ptxLaunches[0]!.barriers > 0 && driver.ptxLaunches[0]!.shuffles > 0);
  });

  test("layer 0's bar.sync removed: a shared-memory race, naming threads, bytes and lines", () => {
    const ptx = editedLinnos((text) =>
      text.replaceAll('$Llayer0_done:\n\tbar.sync 0;\n', '$Llayer0_done:\n'),
    );
    assert.throws(
      () => launchDirect(ptx, 'linnos', 'linnos_predict', model, digits, 6, { gridX: 2, blockX: 64 }),
      (error: unknown) =>
        error instanceof PtxFault &&
        error.kind === 'race' &&
        /block 0 thread \d+: shared-memory race: (writes|reads) shared byte \d+ that thread \d+ (read|wrote) \(line \d+\)/.test(
          error.message,
        ),
    );
  });

  test("the barrier before the next vector removed: after a rejected vector, the flag's reset races its reads", () => {
    const ptx = editedLinnos((text) => text.replaceAll('$Lnext:\n\tbar.sync 0;\n', '$Lnext:\n'));
    // Clean vectors alone do not show it: three barriers separate the flag's reads from its next reset.
    launchDirect(ptx, 'linnos', 'linnos_predict', model, digits, 6, { gridX: 2, blockX: 64 });
    const rejected = digits.slice();
    rejected[2 * 31 + 5] = 10;
    assert.throws(
      () => launchDirect(ptx, 'linnos', 'linnos_predict', model, rejected, 6, { gridX: 2, blockX: 64 }),
      (error: unknown) =>
        error instanceof PtxFault &&
        error.kind === 'race' &&
        /reads shared byte 8 that thread 0 wrote/.test(error.message),
    );
  });

  test('the table offset read from the bias field: a different result or an out-of-bounds access', () => {
    const ptx = editedLinnos((text) => text.replaceAll('[%model+20]', '[%model+24]'));
    let outcome: string;
    try {
      const { out } = launchDirect(ptx, 'linnos', 'linnos_scores', model, digits, 6, {
        gridX: 2,
        blockX: 64,
      });
      const right = launchDirect(ptxModule('linnos'), 'linnos', 'linnos_scores', model, digits, 6, {
        gridX: 2,
        blockX: 64,
      });
      outcome = Buffer.from(out).equals(Buffer.from(right.out)) ? 'same scores' : 'different scores';
    } catch (error) {
      outcome = error instanceof PtxFault ? `fault ${error.kind}` : `other error ${String(error)}`;
    }
    assert.ok(outcome === 'different scores' || outcome === 'fault bounds', outcome);
  });

  test('an xs row stride of 32 instead of 31: reads past the input allocation, out of bounds', () => {
    const ptx = editedLinnos((text) =>
      text.replaceAll(
        'mul.wide.u32 %row, %v, %inputs;',
        'add.u32 %tmp, %inputs, 1;\n\tmul.wide.u32 %row, %v, %tmp;',
      ),
    );
    assert.throws(
      () => launchDirect(ptx, 'linnos', 'linnos_predict', model, digits, 6, { gridX: 2, blockX: 64 }),
      (error: unknown) =>
        error instanceof PtxFault &&
        error.kind === 'bounds' &&
        /global access of 1 bytes at 0x[0-9a-f]+ is outside every allocation/.test(error.message),
    );
  });

  test('an instruction the interpreter does not know is rejected with its line', () => {
    const ptx = editedLinnos((text) =>
      text.replace('\tmov.u32 %one, 1;\n', '\tmov.u32 %one, 1;\n\tpopc.b32 %tmp, %one;\n'),
    );
    const line = ptx.split('\n').findIndex((l) => l.includes('popc.b32')) + 1;
    assert.throws(
      () => launchDirect(ptx, 'linnos', 'linnos_predict', model, digits, 6, { gridX: 1, blockX: 64 }),
      (error: unknown) =>
        error instanceof PtxFault &&
        error.kind === 'unsupported' &&
        error.line === line &&
        error.message.includes(`PTX line ${line}: 'popc.b32 %tmp, %one;'`),
    );
  });
});
