/**
 * Model readers echo what they found in a file with its control characters escaped: an escape sequence in
 * a model file or a LinnOS header reaches the terminal as text.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { sha256Hex } from '../../src/lake/registry/model-store.js';
import { parseCArrays } from '../../src/models/c-arrays.js';
import { parseLinnosHeader } from '../../src/models/linnos-header.js';
import { canonicalJson, parseModel } from '../../src/models/model-file.js';
import { assertNoControls } from '../helpers/controls.js';

const RED = '\x1b[31m';

function messageOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof LakeError, String(error));
    assert.equal(error.code.startsWith('LAKE_E_MODEL'), true, error.code);
    return error.message;
  }
  assert.fail('expected a LakeError');
}

/** A model document with `fields` set, signed as lake signs it (so the checksum passes). */
function signed(fields: Record<string, unknown>): string {
  const document = { format: 'lake-model', formatVersion: 1, ...fields };
  const sha256 = sha256Hex(new TextEncoder().encode(canonicalJson(document)));
  return JSON.stringify({ ...document, sha256 });
}

test('a model file that is not JSON: the parser quotes it, escaped', () => {
  const message = messageOf(() => parseModel(`{"format": ${RED}"lake-model"}`, 'm.json'));
  assertNoControls(message);
  assert.match(message, /\\x1b/);
});

test('a model file whose values hold escape sequences: formatVersion, activation, shape, checksum', () => {
  const cases = [
    JSON.stringify({ format: 'lake-model', formatVersion: `1${RED}` }),
    JSON.stringify({ format: 'lake-model', formatVersion: 1, sha256: `00${RED}` }),
    signed({
      meta: { kind: 'k', featureSchema: 's', createdAt: 't', shape: `1-1${RED}` },
      layers: [{ inputs: 1, outputs: 1, activation: 'linear', weights: 'AAAAAA==', bias: 'AAAAAA==' }],
    }),
    signed({
      meta: { kind: 'k', featureSchema: 's', createdAt: 't', shape: '1-1' },
      layers: [{ inputs: 1, outputs: 1, activation: `linear\x9b`, weights: 'AAAAAA==', bias: 'AAAAAA==' }],
    }),
  ];
  for (const text of cases) {
    const message = messageOf(() => parseModel(text, 'm.json'));
    assertNoControls(message);
    assert.match(message, /\\(x1b|x9b|u001b)/, message);
  }
});

test('a LinnOS header with an escape sequence where a token should be', () => {
  const stray = messageOf(() => parseCArrays(`long a[2] = {1, 2};\n${RED}\n`, 'w.h'));
  assertNoControls(stray);
  assert.match(stray, /w\.h:2: unexpected character '\\x1b'/);
  const value = messageOf(() => parseCArrays(`long a[2] = {1, x${'y'.repeat(300)}};\n`, 'w.h'));
  assert.ok(value.length < 200, value);
  const device = messageOf(() =>
    parseLinnosHeader('long weight_0_T_sde[1] = {1};', 'w.h', { device: `sd${RED}` }),
  );
  assertNoControls(device);
});
