/**
 * Fuzzing the model readers: lake's JSON model files (text mutations, and structural ones re-signed so
 * that they pass the checksum and reach the shape checks), LinnOS weight headers in both layouts, and
 * ml_test.h test vectors. Every input gives a checked model or a coded error (LAKE_E_MODEL_FORMAT, or
 * LAKE_E_MODEL_CHECKSUM for a file changed after it was signed).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseCArrays } from '../../src/models/c-arrays.js';
import type { DenseModel } from '../../src/models/dense.js';
import { checkDenseModel, shapeOf } from '../../src/models/dense-check.js';
import { formatLinnosHeader, parseLinnosHeader, parseTestVectors } from '../../src/models/linnos-header.js';
import {
  type LinnosIntegerLayer,
  type LinnosIntegerModel,
  validateIntegerModel,
} from '../../src/models/linnos-integer.js';
import {
  canonicalJson,
  type JsonValue,
  MAX_JSON_DEPTH,
  parseModel,
  serializeModel,
} from '../../src/models/model-file.js';
import { readFixtureText } from '../helpers/fixtures.js';
import { FUZZ_SEED, mutatedFrom, NASTY_FIELDS, outcomeOf, randomBytes, tokenSoup, utf8 } from './fuzz.js';

const encoder = new TextEncoder();

const modelArb: fc.Arbitrary<DenseModel> = fc
  .array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 4 })
  .chain((widths) =>
    fc.tuple(
      ...widths.slice(1).map((outputs, l) => {
        const inputs = widths[l]!;
        const value = fc.float({ noNaN: true, noDefaultInfinity: true, min: -100, max: 100 });
        return fc
          .tuple(
            fc.array(value, { minLength: inputs * outputs, maxLength: inputs * outputs }),
            fc.array(value, { minLength: outputs, maxLength: outputs }),
          )
          .map(([w, b]) => ({ inputs, outputs, weights: Float32Array.from(w), bias: Float32Array.from(b) }));
      }),
    ),
  )
  .map((layers) => ({ layers }));

const metaArb = fc.record(
  {
    kind: fc.constantFrom('linnos', 'lake'),
    featureSchema: fc.constant('linnos-digits-31'),
    createdAt: fc.constant('2026-01-02T03:04:05Z'),
    device: fc.constantFrom('sdb', 'nvme0n1'),
    labelThresholdUs: fc.nat(10_000),
    extra: fc.dictionary(
      fc.string({ maxLength: 6 }),
      fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonValue>,
      {
        maxKeys: 3,
      },
    ),
  },
  { requiredKeys: ['kind', 'featureSchema', 'createdAt'] },
);

const modelTextArb = fc.tuple(modelArb, metaArb).map(([model, meta]) => serializeModel(model, meta));

/** A JSON value that stresses a shape check: wrong types, limits, deep nesting, escape sequences. */
const nastyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    0,
    -1,
    1.5,
    1e308,
    -1e308,
    2 ** 53 + 2,
    2 ** 31,
    4294967296,
    '',
    'AAAA',
    'AAAAAA==',
    '====',
    'relu',
    'linear',
    '\u001b[31m',
    '\u009b',
    null,
    true,
    [],
    {},
    { __proto__: 1 },
  ),
  fc.constantFrom(...NASTY_FIELDS),
  fc.integer({ min: 1, max: 400 }).map((depth) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`)),
);

type Path = (string | number)[];

function paths(value: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...paths(v, [...prefix, i]));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  }
  return out;
}

/** Sets (or with `value` undefined, deletes) the value at a path of a JSON document, in place. */
function setAt(document: Record<string, unknown>, path: Path, value: unknown): void {
  let parent: Record<string | number, unknown> = document;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (value !== undefined) parent[last] = value;
  else if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else delete parent[last];
}

function sign(document: Record<string, unknown>): string {
  const { sha256: _old, ...rest } = document;
  return JSON.stringify({ ...rest, sha256: createHash('sha256').update(canonicalJson(rest)).digest('hex') });
}

/** What a loaded model must be: layers that chain and are finite, a shape that says so. */
function checkLoaded(loaded: ReturnType<typeof parseModel>): void {
  checkDenseModel(loaded.model);
  assert.equal(loaded.meta.shape, shapeOf(loaded.model));
  for (const key of ['kind', 'featureSchema', 'createdAt'] as const)
    assert.equal(typeof loaded.meta[key], 'string');
  assert.match(loaded.sha256, /^[0-9a-f]{64}$/);
}

describe('lake model files', () => {
  test('valid files load; mutated and random text loads or fails with a model error', () => {
    let loaded = 0;
    let refused = 0;
    const input = fc.oneof(
      modelTextArb.map((t) => encoder.encode(t)),
      mutatedFrom(modelTextArb.map((t) => encoder.encode(t))),
      tokenSoup(['{', '}', '[', ']', ':', ',', '"format"', '"lake-model"', '"layers"', '1', '"a"', ' '], 80),
      randomBytes,
    );
    fc.assert(
      fc.property(input, (bytes) => {
        const result = outcomeOf(['LAKE_E_MODEL_FORMAT', 'LAKE_E_MODEL_CHECKSUM'], () =>
          parseModel(utf8(bytes), 'model.json'),
        );
        if (result.ok) {
          loaded++;
          checkLoaded(result.value);
        } else {
          refused++;
          assert.ok(result.error.message.startsWith('model.json: '), result.error.message);
        }
      }),
      { seed: FUZZ_SEED, numRuns: 1500 },
    );
    assert.ok(loaded > 50 && refused > 50, `${loaded} loaded, ${refused} refused`);
  });

  test('structurally changed documents that pass the checksum: a checked model or LAKE_E_MODEL_FORMAT', () => {
    let loaded = 0;
    let refused = 0;
    const change = fc.record({
      pick: fc.nat(),
      value: fc.oneof(nastyJson, fc.constant(undefined)),
    });
    fc.assert(
      fc.property(modelTextArb, fc.array(change, { minLength: 1, maxLength: 3 }), (text, changes) => {
        const document = JSON.parse(text) as Record<string, unknown>;
        for (const { pick, value } of changes) {
          const all = paths(document).filter((p) => p.length > 0 && p[0] !== 'sha256');
          if (all.length === 0) break;
          setAt(document, all[pick % all.length]!, value);
        }
        const result = outcomeOf(['LAKE_E_MODEL_FORMAT'], () => parseModel(sign(document), 'model.json'));
        if (result.ok) {
          loaded++;
          checkLoaded(result.value);
        } else {
          refused++;
        }
      }),
      { seed: FUZZ_SEED, numRuns: 1500 },
    );
    assert.ok(loaded > 20 && refused > 200, `${loaded} loaded, ${refused} refused`);
  });

  test('regression: a document nested 100,000 deep is LAKE_E_MODEL_FORMAT, not a stack overflow', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const text = `{"format":"lake-model","formatVersion":1,"sha256":"00","meta":{"extra":{"x":${deep}}}}`;
    const result = outcomeOf(['LAKE_E_MODEL_FORMAT'], () => parseModel(text, 'deep.json'));
    assert.ok(!result.ok, 'loaded');
    assert.equal(result.error.message, `deep.json: nested deeper than ${MAX_JSON_DEPTH} levels`);
  });
});

/** A small integer model as LinnOS's headers hold it (hidden-wide first layer, 2 outputs). */
const integerModelArb: fc.Arbitrary<LinnosIntegerModel> = fc
  .tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }))
  .chain(([inputs, hidden]) =>
    fc
      .tuple(
        fc.array(fc.integer({ min: -3000, max: 3000 }), {
          minLength: inputs * hidden,
          maxLength: inputs * hidden,
        }),
        fc.array(fc.integer({ min: -3000, max: 3000 }), { minLength: hidden, maxLength: hidden }),
        fc.array(fc.integer({ min: -3000, max: 3000 }), { minLength: 2 * hidden, maxLength: 2 * hidden }),
        fc.array(fc.integer({ min: -3e6, max: 3e6 }), { minLength: 2, maxLength: 2 }),
      )
      .map(([w0, b0, w1, b1]) => ({
        kind: 'linnos-integer' as const,
        layers: [
          { inputs, outputs: hidden, weights: Float64Array.from(w0), bias: Float64Array.from(b0) },
          { inputs: hidden, outputs: 2, weights: Float64Array.from(w1), bias: Float64Array.from(b1) },
        ],
      })),
  );

/** The same model in LAKE's weights.h layout (weight_i_1 hidden-major). */
function lakeWeightsText(model: LinnosIntegerModel): string {
  const [first, second] = model.layers as [LinnosIntegerLayer, LinnosIntegerLayer];
  const hidden = first.outputs;
  const hiddenMajor: number[] = [];
  for (let k = 0; k < hidden; k++) hiddenMajor.push(second.weights[k]!, second.weights[hidden + k]!);
  return [
    `long bias_i_0[${hidden}] = {${[...first.bias].join(', ')}};`,
    `long bias_i_1[2] = {${[...second.bias].join(', ')}};`,
    `long weight_i_1[${hidden}][2] = {${hiddenMajor.join(',')}};`,
    `long weight_i_0_T[${hidden}][${first.inputs}] = {${[...first.weights].join(',')}};`,
  ].join('\n');
}

const C_TOKENS = [
  'long ',
  'char ',
  'weight_0_T_sde',
  'bias_1_sde',
  'weight_i_1',
  '[',
  ']',
  '{',
  '}',
  ',',
  ';',
  ' = ',
  '*',
  '256',
  '2',
  '-1',
  '0x1F',
  '07',
  '"s"',
  "'c'",
  '/* c */',
  '// c\n',
  '#define X 1\n',
  '\n',
  '\\\n',
];

describe('LinnOS headers', () => {
  const headerArb = fc.oneof(
    fc
      .tuple(integerModelArb, fc.constantFrom('sde', 'sdf', 'nvme0n1'))
      .map(([m, device]) => formatLinnosHeader(m, { device })),
    integerModelArb.map(lakeWeightsText),
  );
  const input = fc.oneof(
    headerArb.map((t) => encoder.encode(t)),
    mutatedFrom(headerArb.map((t) => encoder.encode(t))),
    tokenSoup(C_TOKENS, 80),
    randomBytes,
  );

  test('valid headers load; mutated and random ones load or fail with LAKE_E_MODEL_FORMAT', () => {
    let loaded = 0;
    let refused = 0;
    fc.assert(
      fc.property(input, (bytes) => {
        const result = outcomeOf(['LAKE_E_MODEL_FORMAT'], () => parseLinnosHeader(utf8(bytes), 'w.h'));
        if (result.ok) {
          loaded++;
          validateIntegerModel(result.value.model);
          assert.equal(result.value.model.layers.at(-1)?.outputs, 2);
        } else {
          refused++;
          assert.match(result.error.message, /^w\.h(:\d+)?: /);
        }
      }),
      { seed: FUZZ_SEED, numRuns: 1500 },
    );
    assert.ok(loaded > 50 && refused > 50, `${loaded} loaded, ${refused} refused`);
  });

  test('the artifact header w_sde.h, mutated', () => {
    const original = encoder.encode(readFixtureText('linnos/w_sde.h'));
    fc.assert(
      fc.property(mutatedFrom(fc.constant(original)), (bytes) => {
        const result = outcomeOf(['LAKE_E_MODEL_FORMAT'], () => parseLinnosHeader(utf8(bytes), 'w_sde.h'));
        if (result.ok) validateIntegerModel(result.value.model);
      }),
      { seed: FUZZ_SEED, numRuns: 60 },
    );
  });

  test('test vectors (ml_test.h): digits back to back, or LAKE_E_MODEL_FORMAT', () => {
    const vectors = fc
      .tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 8 }))
      .chain(([rows, inputs]) =>
        fc
          .array(fc.array(fc.nat(9), { minLength: inputs, maxLength: inputs }), {
            minLength: rows,
            maxLength: rows,
          })
          .map(
            (data) =>
              `char test_input[${rows}][${inputs}] = {${data.map((r) => `{${r.join(',')}}`).join(',')}};`,
          ),
      );
    fc.assert(
      fc.property(
        fc.oneof(
          vectors.map((t) => encoder.encode(t)),
          mutatedFrom(vectors.map((t) => encoder.encode(t))),
        ),
        (bytes) => {
          const result = outcomeOf(['LAKE_E_MODEL_FORMAT'], () => parseTestVectors(utf8(bytes), 'ml_test.h'));
          if (result.ok) {
            const { vectors: digits, count, inputs } = result.value;
            assert.equal(digits.length, count * inputs);
            assert.ok(digits.every((d) => d <= 9));
          }
        },
      ),
      { seed: FUZZ_SEED, numRuns: 1000 },
    );
  });

  test('regression: braces nested 100,000 deep are LAKE_E_MODEL_FORMAT, not a stack overflow', () => {
    const text = `long a[1] = ${'{'.repeat(100_000)}1${'}'.repeat(100_000)};`;
    const result = outcomeOf(['LAKE_E_MODEL_FORMAT'], () => parseCArrays(text, 'deep.h'));
    assert.ok(!result.ok, 'parsed');
    assert.match(result.error.message, /^deep\.h:1: array a: braces nested deeper than 32$/);
  });
});
