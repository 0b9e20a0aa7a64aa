import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { benchInference, NATIVE_INT16, NATIVE_INT16_128, NATIVE_INT64 } from '../../src/bench/inference.js';
import {
  findCompiler,
  NATIVE_FLAGS,
  type NativeBuild,
  type NativeOutputs,
  nativeModelBytes,
  nativeSourcePath,
  openNativeReference,
} from '../../src/bench/native-reference.js';
import { createPredictor } from '../../src/kernels/create.js';
import { planInt16 } from '../../src/kernels/wasm/int16-plan.js';
import { parseLinnosHeader, parseTestVectors } from '../../src/models/linnos-header.js';
import { dequantizeLinnos } from '../../src/models/linnos-integer.js';
import { readFixtureText } from '../helpers/fixtures.js';
import { assertPlainData } from '../helpers/plain-data.js';
import { temp1Digits } from '../kernels/helpers.js';

const compiler = findCompiler();
const noCompiler = compiler === undefined ? 'no C compiler here' : false;
const leftovers = (): string[] =>
  readdirSync(tmpdir()).filter((name) => name.startsWith('lake-bench-native-'));

describe('the native C reference', () => {
  // The acceptance check of the reference itself: on the LinnOS artifact's weights and vectors, the C int16
  // forward equals lake's wasm backend and the C int64 kernel lake's exact backend, raw output for raw output.
  for (const file of ['w_sde.h', 'w_sdf.h', 'weights.h']) {
    test(`${file}: C raw outputs equal lake's on ml_test.h and temp1`, { skip: noCompiler }, async () => {
      const header = parseLinnosHeader(readFixtureText(`linnos/${file}`), file);
      const tests = parseTestVectors(readFixtureText('linnos/ml_test.h'), 'ml_test.h').vectors;
      const vectors = new Uint8Array([...tests, ...temp1Digits()]);
      const opening = await openNativeReference(
        planInt16(dequantizeLinnos(header.model)),
        header.model,
        vectors,
      );
      assert.ok('reference' in opening, 'absent' in opening ? opening.absent : '');
      const reference = opening.reference;
      const builds = Object.keys(reference.builds) as NativeBuild[];
      assert.deepEqual(builds, process.arch === 'x64' ? ['native', '128-bit'] : ['native']);
      const outputs = builds.map((build) => reference.check(build));
      reference.close();
      const n = vectors.length / 31;
      for (const [b, built] of outputs.entries()) {
        assert.equal(built.int16.length, 2 * n);
        for (const [backend, values] of [
          ['wasm', built.int16],
          ['exact', built.int64],
        ] as const) {
          const predictor = createPredictor(header.model, { backend });
          const raw = new Float64Array(2);
          for (let v = 0; v < n; v++) {
            predictor.rawScores(vectors.subarray(v * 31, (v + 1) * 31), raw);
            assert.deepEqual(
              [values[2 * v], values[2 * v + 1]],
              [...raw],
              `${builds[b]}, ${backend}, vector ${v}`,
            );
          }
          predictor.dispose();
        }
      }
      const [outputsOfNative] = outputs as [NativeOutputs];
      if (file === 'w_sde.h') assert.deepEqual(outputsOfNative.int64.slice(0, 2), [-384, -3083901]);
    });
  }

  // This machine's -march=native takes the AVX-512 path; most take the AVX2 one, built here on purpose.
  test(
    'every SIMD path of the C source gives the same raw outputs',
    { skip: noCompiler || process.arch !== 'x64' },
    () => {
      const header = parseLinnosHeader(readFixtureText('linnos/weights.h'), 'weights.h');
      const plan = planInt16(dequantizeLinnos(header.model));
      const vectors = temp1Digits();
      const dir = mkdtempSync(join(tmpdir(), 'lake-test-native-'));
      try {
        writeFileSync(join(dir, 'model.bin'), nativeModelBytes(plan, header.model));
        writeFileSync(join(dir, 'vectors.bin'), vectors);
        const outputs = new Map<string, string>();
        for (const [name, extra] of [
          ['native', []],
          ['avx2', ['-mno-avx512f']],
          ['sse2', ['-mno-avx']],
        ] as const) {
          const program = join(dir, name);
          const flags = [
            ...NATIVE_FLAGS,
            ...extra,
            '-DWIDTH=256',
            '-DINPUTS=31',
            '-o',
            program,
            nativeSourcePath(),
          ];
          const built = spawnSync(compiler!.command, flags, { encoding: 'utf8' });
          assert.equal(built.status, 0, built.stderr);
          const run = spawnSync(program, [join(dir, 'model.bin'), join(dir, 'vectors.bin'), 'check'], {
            encoding: 'utf8',
            maxBuffer: 64 * 1024 * 1024,
          });
          assert.equal(run.status, 0, run.stderr);
          outputs.set(name, run.stdout);
        }
        assert.equal(outputs.get('avx2'), outputs.get('native'));
        assert.equal(outputs.get('sse2'), outputs.get('native'));
        const parsed = JSON.parse(outputs.get('native')!) as NativeOutputs;
        assert.equal(parsed.int16.length, (2 * vectors.length) / 31);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test(
    'benchInference times it beside lake and gives every batch-1 row its ratio to it',
    { skip: noCompiler },
    async () => {
      const before = leftovers();
      const suite = await benchInference({ batchSizes: [1], samples: 2, runMs: 3 });
      assert.equal(suite.native.status, 'measured', suite.native.reason);
      assert.equal(suite.native.checkedVectors, 1024);
      assert.deepEqual(suite.native.flags?.slice(0, 2), ['-O3', '-march=native']);
      const c = suite.results.find((r) => r.name === NATIVE_INT16)!;
      assert.ok(suite.results.some((r) => r.name === NATIVE_INT64 && r.state === 'completed'));
      const narrow = suite.results.find((r) => r.name === NATIVE_INT16_128);
      if (process.arch === 'x64') {
        assert.equal(narrow?.state, 'completed');
        assert.ok(suite.native.flags128?.includes('-mno-avx'));
      }
      for (const result of suite.results) {
        if (result.details?.['batch'] !== 1) continue;
        assert.equal(result.state, 'completed', `${result.name}: ${result.error ?? ''}`);
        assert.ok(Math.abs((result.details['vsNativeInt16'] as number) - result.median / c.median) < 1e-12);
      }
      assertPlainData(suite);
      assert.deepEqual(leftovers(), before, 'the temporary directory is removed');
    },
  );
});

test('without a C compiler the reference is absent and says why', async () => {
  const saved = { PATH: process.env['PATH'], CC: process.env['CC'] };
  process.env['PATH'] = '/nonexistent';
  delete process.env['CC'];
  try {
    const suite = await benchInference({ batchSizes: [1], samples: 1, runMs: 2, incremental: false });
    assert.deepEqual(suite.native, { status: 'absent', reason: 'no C compiler found ($CC, cc, gcc, clang)' });
    assert.deepEqual(
      suite.results.map((r) => r.name),
      ['wasm batch 1', 'exact batch 1', 'js batch 1', NATIVE_INT16],
    );
    const c = suite.results[3]!;
    assert.equal(c.state, 'errored');
    assert.equal(c.error, 'reference absent: no C compiler found ($CC, cc, gcc, clang)');
    assert.equal(suite.results[0]!.details?.['vsNativeInt16'], undefined);
  } finally {
    process.env['PATH'] = saved.PATH;
    if (saved.CC !== undefined) process.env['CC'] = saved.CC;
  }
});

test('a shape the C reference does not cover is reported absent', async () => {
  const suite = await benchInference({
    batchSizes: [1],
    samples: 1,
    runMs: 2,
    shape: 'nn+1',
    incremental: false,
  });
  assert.equal(suite.native.status, 'absent');
  assert.match(suite.native.reason ?? '', /NN \(one hidden layer\) only/);
});
