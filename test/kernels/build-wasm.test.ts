import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import wabtInit from 'wabt';
import * as generated from '../../src/kernels/wasm/generated/dense-int16.js';

const wasmDir = new URL('../../src/kernels/wasm/', import.meta.url);

test('every .wat has a generated module, and dense-int16 is up to date with its source', async () => {
  const sources = readdirSync(wasmDir).filter((name) => name.endsWith('.wat'));
  const modules = readdirSync(new URL('generated/', wasmDir));
  for (const source of sources)
    assert.ok(modules.includes(source.replace(/\.wat$/, '.ts')), `${source} was built`);
  const wabt = await wabtInit();
  const module = wabt.parseWat('dense-int16.wat', readFileSync(new URL('dense-int16.wat', wasmDir), 'utf8'), {
    simd: true,
  });
  const { buffer } = module.toBinary({ canonicalize_lebs: true, write_debug_names: false });
  module.destroy();
  assert.equal(
    Buffer.from(buffer).toString('base64'),
    generated.base64,
    'run npm run build after editing the .wat',
  );
  assert.equal(generated.byteLength, buffer.length);
});
