import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { createPredictor } from '../../src/kernels/create.js';
import type { Backend } from '../../src/kernels/types.js';
import { parseCArrays } from '../../src/models/c-arrays.js';
import {
  formatLinnosHeader,
  parseLinnosHeader,
  parseTestVectors,
  readLinnosHeader,
  writeLinnosHeader,
} from '../../src/models/linnos-header.js';
import {
  dequantizeLinnos,
  type LinnosIntegerModel,
  quantizeLinnos,
} from '../../src/models/linnos-integer.js';
import { readFixtureText } from '../helpers/fixtures.js';
import { randomModel } from '../kernels/helpers.js';

const fixture = async (name: string): Promise<string> => readFixtureText(`linnos/${name}`);

/** Check values from fixtures/linnos/README.md (a Python port of LAKE's cpu_prediction_model). */
const EXPECTED: Record<string, { decisions: string; row0: [number, number] }> = {
  'w_sde.h': { decisions: '01100010001000000000100001', row0: [-384, -3083901] },
  'w_sdf.h': { decisions: '11111111111111111110011111', row0: [-5066361, 9457458] },
  'weights.h': { decisions: '00000000001000011011110011', row0: [6791381, -3141255] },
};

async function testVectors(): Promise<{ vectors: Uint8Array; count: number; inputs: number }> {
  return parseTestVectors(await fixture('ml_test.h'), 'ml_test.h');
}

function decide(model: LinnosIntegerModel, vectors: Uint8Array, count: number, backend: Backend): string {
  const predictor = createPredictor(model, { backend });
  const out = new Uint8Array(count);
  predictor.predictBatch(vectors, count, out);
  predictor.dispose();
  return out.join('');
}

describe('bit-exact LinnOS inference on the artifact headers (the acceptance check)', () => {
  test('ml_test.h holds 26 vectors of 31 digits; row 4 as the README describes', async () => {
    const { vectors, count, inputs } = await testVectors();
    assert.equal(count, 26);
    assert.equal(inputs, 31);
    assert.equal(vectors.subarray(4 * 31, 5 * 31).join(''), '5745425105103217308746075539999');
  });

  for (const [file, expected] of Object.entries(EXPECTED)) {
    test(`${file}: exact decisions on the 26 vectors and (o0, o1) of row 0`, async () => {
      const { vectors, count } = await testVectors();
      const header = parseLinnosHeader(await fixture(file), file);
      assert.equal(decide(header.model, vectors, count, 'exact'), expected.decisions);
      const exact = createPredictor(header.model, { backend: 'exact' });
      const raw = new Float64Array(2);
      exact.rawScores(vectors.subarray(0, 31), raw);
      assert.deepEqual([...raw], expected.row0);
      exact.dispose();
    });

    // Where it is meaningful: the float reference and the int16 kernel on the same (dequantised) models.
    // Measured: all 26 decisions agree for all three headers, including the artifact's buggy layer 1.
    for (const backend of ['js', 'wasm'] as const) {
      test(`${file}: the ${backend} backend gives the same 26 decisions`, async () => {
        const { vectors, count } = await testVectors();
        const header = parseLinnosHeader(await fixture(file), file);
        assert.equal(decide(header.model, vectors, count, backend), expected.decisions);
      });
    }
  }

  test('weights.h used flat, without the transpose, gives what the LAKE microbenchmark computed', async () => {
    const { vectors, count } = await testVectors();
    const header = parseLinnosHeader(await fixture('weights.h'), 'weights.h');
    const flat = parseCArrays(await fixture('weights.h'), 'weights.h').get('weight_i_1')!.values;
    const model: LinnosIntegerModel = {
      kind: 'linnos-integer',
      layers: [header.model.layers[0]!, { ...header.model.layers[1]!, weights: Float64Array.from(flat) }],
    };
    assert.equal(decide(model, vectors, count, 'exact'), '11111111111111111100001111');
  });
});

describe('reading headers', () => {
  test('w_sde.h: device, name, shapes, and the artifact bug is detected and reported', async () => {
    const header = parseLinnosHeader(await fixture('w_sde.h'), 'w_sde.h');
    assert.equal(header.format, 'linnos-w');
    assert.equal(header.device, 'sde');
    assert.equal(header.name, 'Trace/sde');
    assert.equal(header.artifactBug, true);
    assert.match(header.notes[0]!, /weight_1_T_sde is a copy of weight_0_T_sde/);
    const [first, second] = header.model.layers;
    assert.equal(first!.inputs, 31);
    assert.equal(first!.outputs, 256);
    assert.equal(second!.outputs, 2);
    assert.equal(first!.weights[0], -1078);
    assert.deepEqual([...second!.bias], [630523, -379560]);
    // Layer 1 is elements 0..511 of the buggy copy, that is, the first 512 values of weight_0_T.
    assert.deepEqual([...second!.weights], [...first!.weights.subarray(0, 512)]);
  });

  test('weights.h: weight_i_1 [256][2] is transposed to class-major', async () => {
    const text = await fixture('weights.h');
    const header = parseLinnosHeader(text, 'weights.h');
    assert.equal(header.format, 'lake-weights');
    assert.equal(header.device, undefined);
    const hiddenMajor = parseCArrays(text, 'weights.h').get('weight_i_1')!.values;
    const w1 = header.model.layers[1]!.weights;
    assert.deepEqual([w1[0], w1[256]], [-70, 76]);
    for (let k = 0; k < 256; k++) {
      assert.equal(w1[k], hiddenMajor[2 * k]);
      assert.equal(w1[256 + k], hiddenMajor[2 * k + 1]);
    }
    assert.deepEqual([...header.model.layers[1]!.bias], [597881, -413426]);
  });

  test('robust syntax: comments, odd whitespace, nested braces, trailing commas, signs, suffixes', () => {
    const text = [
      '/* a header */ // with comments',
      '#ifndef X',
      '#define X \\',
      '  continued',
      'static const long weight_0_T_d1 [ 2 * 3 ] = { /* row 0 */ {1, -2, +3,},',
      '  { 0x10 , 010, 5L }, } ;',
      'long weight_1_T_d1[2*2]={1,2,',
      '',
      '3,4};',
      'long bias_0_d1[1*2] = {-1000, 2000UL};',
      'long bias_1_d1[2] = {5,-5,}; // trailing comma',
      'int unrelated = 3;',
      'char name_d1[] = "W/d1";',
      '#endif',
    ].join('\n');
    const header = parseLinnosHeader(text, 'w_d1.h');
    assert.equal(header.device, 'd1');
    assert.equal(header.name, 'W/d1');
    assert.deepEqual([...header.model.layers[0]!.weights], [1, -2, 3, 16, 8, 5]);
    assert.deepEqual([...header.model.layers[0]!.bias], [-1000, 2000]);
    assert.deepEqual([...header.model.layers[1]!.weights], [1, 2, 3, 4]);
    assert.equal(header.artifactBug, false);
  });

  const minimal = (overrides: Record<string, string> = {}): string =>
    [
      overrides['w0'] ?? 'long weight_0_T_d[2*3] = {1,2,3,4,5,6};',
      overrides['w1'] ?? 'long weight_1_T_d[2*2] = {1,2,3,4};',
      overrides['b0'] ?? 'long bias_0_d[2] = {1,2};',
      overrides['b1'] ?? 'long bias_1_d[2] = {1,2};',
    ].join('\n');

  const cases: [string, string, RegExp][] = [
    ['a missing array', minimal({ b1: '' }), /^w_d\.h: array bias_1_d is missing$/],
    [
      'a count that does not match the declaration',
      minimal({ w1: 'long weight_1_T_d[2*2] = {1,2,3};' }),
      /^w_d\.h:2: array weight_1_T_d: 3 values for declared size \[4\] = 4$/,
    ],
    [
      'a value that is not an integer',
      minimal({ b0: '\nlong bias_0_d[2] = {1, 2.5};' }),
      /^w_d\.h:4: array bias_0_d: value 1: expected an integer, got '2.5'$/,
    ],
    [
      'a missing comma',
      minimal({ b0: 'long bias_0_d[2] = {1 2};' }),
      /^w_d\.h:3: array bias_0_d: value 1: expected ',' or '}', got '2'$/,
    ],
    [
      'a truncated file',
      'long weight_0_T_d[2*3] = {1,2,3,\n4,',
      /^w_d\.h:2: array weight_0_T_d: unexpected end of file \(truncated\?\)$/,
    ],
    ['an unterminated comment', `${minimal()}\n/* never closed`, /^w_d\.h:5: unterminated \/\* comment$/],
    [
      'a layer-1 array too short',
      minimal({ w1: 'long weight_1_T_d[3] = {1,2,3};' }),
      /^w_d\.h:2: array weight_1_T_d holds 3 values, expected 4/,
    ],
    [
      'a weight_0_T length that is not a multiple of the hidden width',
      minimal({ w0: 'long weight_0_T_d[5] = {1,2,3,4,5};' }),
      /not a multiple of 2/,
    ],
    ['no weight arrays at all', 'long x[1] = {1};', /no LinnOS weight arrays/],
    [
      'an array declared twice',
      `${minimal()}\nlong bias_1_d[2] = {1,2};`,
      /^w_d\.h:5: array bias_1_d is declared twice$/,
    ],
  ];
  for (const [what, text, message] of cases) {
    test(`error names file, line and array: ${what}`, () => {
      assert.throws(
        () => parseLinnosHeader(text, 'w_d.h'),
        (error: unknown) =>
          error instanceof LakeError && error.code === 'LAKE_E_MODEL_FORMAT' && message.test(error.message),
      );
    });
  }

  test('a header with two devices needs a choice', () => {
    const two = `${[
      'long weight_0_T_a[2] = {1,2};',
      'long weight_1_T_a[4] = {1,2,3,4};',
      'long bias_0_a[2] = {1,2};',
      'long bias_1_a[2] = {1,2};',
    ].join('\n')}\n${[
      'long weight_0_T_b[2] = {7,7};',
      'long weight_1_T_b[4] = {1,2,3,4};',
      'long bias_0_b[2] = {1,2};',
      'long bias_1_b[2] = {1,2};',
    ].join('\n')}`;
    assert.throws(() => parseLinnosHeader(two, 'both.h'), /holds several devices \(a, b\): choose one/);
    assert.deepEqual([...parseLinnosHeader(two, 'both.h', { device: 'b' }).model.layers[0]!.weights], [7, 7]);
    assert.throws(() => parseLinnosHeader(two, 'both.h', { device: 'c' }), /no arrays for device "c"/);
  });

  test('a missing file is LAKE_E_IO naming it', async () => {
    await assert.rejects(readLinnosHeader('/nonexistent/w_x.h'), (error: unknown) => {
      return (
        error instanceof LakeError &&
        error.code === 'LAKE_E_IO' &&
        error.message.startsWith('/nonexistent/w_x.h')
      );
    });
  });
});

describe('writing headers', () => {
  test('an integer model round-trips exactly, and the artifact bug is fixed on the way', async () => {
    const header = parseLinnosHeader(await fixture('w_sdf.h'), 'w_sdf.h');
    const text = formatLinnosHeader(header.model, { device: 'sdf', workload: 'Trace' });
    assert.match(text, /long weight_1_T_sdf\[2\*256\] = \{/);
    assert.match(text, /char name_sdf\[\] = "Trace\/sdf";/);
    const again = parseLinnosHeader(text, 'w_sdf.h');
    assert.equal(again.artifactBug, false);
    assert.deepEqual(again.notes, []);
    assert.deepEqual(again.model, header.model);
    // Same text for the same model: deterministic without updatedAt.
    assert.equal(formatLinnosHeader(again.model, { device: 'sdf', workload: 'Trace' }), text);
  });

  test('a float model is written as its LinnOS integers and read back to the same decisions', async () => {
    const model = randomModel(31, [31, 256, 2]);
    const dir = await mkdtemp(join(tmpdir(), 'lake-header-'));
    try {
      const path = join(dir, 'w_nvme0n1.h');
      await writeLinnosHeader(path, model, { device: 'nvme0n1', updatedAt: '2026-01-02T03:04:05Z' });
      assert.deepEqual(await readdir(dir), ['w_nvme0n1.h']);
      const header = await readLinnosHeader(path);
      assert.equal(header.device, 'nvme0n1');
      assert.deepEqual(header.model, quantizeLinnos(model));
      assert.match(await readFile(path, 'utf8'), /updated on 2026-01-02T03:04:05Z/);
      // Integers -> float32 -> integers is lossless at these magnitudes.
      assert.deepEqual(quantizeLinnos(dequantizeLinnos(header.model)), header.model);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('refuses what the format cannot hold', () => {
    const model = randomModel(1, [31, 16, 2]);
    assert.throws(() => formatLinnosHeader(model, { device: 'sd-a' }), /only letters, digits and _/);
    assert.throws(
      () => formatLinnosHeader(model, { device: 'a', workload: 'x"y' }),
      /cannot go in a C string/,
    );
    assert.throws(
      () => formatLinnosHeader(randomModel(1, [31, 16, 16, 2]), { device: 'a' }),
      /widths 31-16-16-2/,
    );
  });
});
