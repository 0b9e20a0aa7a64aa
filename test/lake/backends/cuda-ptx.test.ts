import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PTX_ENTRIES, ptxModule } from '../../../src/lake/backends/cuda/ptx.js';
import { KERNEL_SETS } from '../../../src/lake/backends/kernel-sets.js';
import { readFixtureText } from '../../helpers/fixtures.js';

/**
 * The PTX the CUDA backend JIT-compiles: pinned byte for byte to the golden files (test/fixtures/ptx, whose
 * README says how to regenerate them), one entry per kernel set function, and assembled by ptxas where it
 * is installed (CUDA 13's ptxas starts at sm_75; the modules target sm_70, which every later GPU runs).
 */
const ptxas = spawnSync('ptxas', ['--version'], { encoding: 'utf8' });
const noPtxas = ptxas.error !== undefined || ptxas.status !== 0 ? 'ptxas is not installed here' : false;

describe('cuda PTX', () => {
  for (const set of KERNEL_SETS) {
    test(`${set.name}: the generator's output is the golden file`, () => {
      assert.equal(ptxModule(set.name), readFixtureText(`ptx/${set.name}.ptx`));
    });

    test(`${set.name}: PTX ISA 7.0 for sm_70, one visible entry per function`, () => {
      const text = ptxModule(set.name);
      assert.match(text, /^\.version 7\.0$/m);
      assert.match(text, /^\.target sm_70$/m);
      const entries = [...text.matchAll(/^\.visible \.entry (\w+)\(/gm)].map((m) => m[1]);
      assert.deepEqual(entries, PTX_ENTRIES[set.name]);
      assert.equal(entries.length, set.functions.length);
    });

    for (const gpu of ['sm_75', 'sm_90']) {
      test(`${set.name}: ptxas assembles it for ${gpu}`, { skip: noPtxas }, () => {
        const dir = mkdtempSync(join(tmpdir(), 'lake-ptx-'));
        try {
          const file = join(dir, `${set.name}.ptx`);
          writeFileSync(file, ptxModule(set.name));
          const r = spawnSync('ptxas', ['--gpu-name', gpu, '-o', join(dir, 'out.cubin'), file], {
            encoding: 'utf8',
            timeout: 60_000,
          });
          assert.equal(r.status, 0, `ptxas: ${r.stderr}`);
          assert.equal(r.stderr, '', 'no warnings');
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  }
});
