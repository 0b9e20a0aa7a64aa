import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { verifyText } from '../../../src/cli/backends.js';
import { CpuWasmBackend } from '../../../src/lake/backends/cpu-wasm/device.js';
import type { KernelSetName } from '../../../src/lake/backends/kernel-sets.js';
import type {
  BackendDevice,
  BackendReport,
  ComputeBackend,
  DeviceModule,
} from '../../../src/lake/backends/types.js';
import { verifyBackends } from '../../../src/lake/backends/verify.js';
import type { ShmArena } from '../../../src/lake/shm/arena.js';
import type { DenseModel } from '../../../src/models/dense.js';

/** verify.ts on stand-in backends (cpu-wasm underneath, honest or not), so it runs without any GPU. */
const fixtures = fileURLToPath(new URL('../../fixtures/linnos/', import.meta.url));
type Behaviour = 'honest' | 'wrong' | 'faulted' | 'throwing';

class StandIn implements ComputeBackend {
  readonly name = 'cuda';
  readonly kind = 'gpu';
  readonly #behaviour: Behaviour;
  constructor(behaviour: Behaviour) {
    this.#behaviour = behaviour;
  }
  probe(): BackendReport {
    return { name: 'cuda', kind: 'gpu', available: true, capabilities: [], description: 'stand-in' };
  }
  open(arena: ShmArena): BackendDevice {
    const device = new CpuWasmBackend().open(arena);
    const behaviour = this.#behaviour;
    const wrap = (module: DeviceModule): DeviceModule => ({
      kernelSet: module.kernelSet,
      ranges: (fn, args) => module.ranges(fn, args),
      unload: () => module.unload(),
      runBlock: (fn, args, block, blocks) => {
        // A launch that fails outright on dense models (as a driver error would).
        if (behaviour === 'throwing' && module.kernelSet === 'dense-f32') throw new Error('launch failed');
        module.runBlock(fn, args, block, blocks);
        if (behaviour !== 'wrong') return;
        // One decision flipped; every dense output off by 1e-3 (far outside the f32 tolerance).
        if (module.kernelSet === 'linnos' && fn === 0) {
          const decisions = arena.bytes(args[1]!, 1);
          decisions[0] = decisions[0]! ^ 1;
        }
        if (module.kernelSet === 'dense-f32') {
          const ys = arena.f32(args[1]!, 4);
          for (let i = 0; i < ys.length; i++) ys[i] = ys[i]! + 1e-3;
        }
      },
    });
    return {
      backend: 'cuda',
      kind: 'gpu',
      name: `stand-in (${behaviour})`,
      capabilities: [],
      fault: behaviour === 'faulted' ? 'no device here' : undefined,
      adoptMemory: (ptr, bytes) => device.adoptMemory(ptr, bytes),
      releaseMemory: (ptr) => device.releaseMemory(ptr),
      copyToDevice: (d, h, bytes) => device.copyToDevice(d, h, bytes),
      copyFromDevice: (h, d, bytes) => device.copyFromDevice(h, d, bytes),
      copyOnDevice: (d, s, bytes) => device.copyOnDevice(d, s, bytes),
      loadModule: (set: KernelSetName, model: DenseModel) => wrap(device.loadModule(set, model)),
      close: () => device.close(),
    };
  }
}

function verify(behaviour: Behaviour) {
  return verifyBackends({
    backends: [new CpuWasmBackend(), new StandIn(behaviour)],
    fixtures,
    vectors: { linnos: 8, dense: 4 },
  });
}

test('a backend computing what cpu-wasm computes is verified on every kernel set and fixture', () => {
  const report = verify('honest');
  assert.equal(report.agree, true);
  assert.equal(report.fixtures, fixtures);
  const [reference, standIn] = report.backends;
  assert.equal(reference!.status, 'reference');
  assert.equal(standIn!.status, 'verified');
  assert.deepEqual(
    [...new Set(standIn!.checks.map((c) => c.model))],
    [
      'w_sde.h',
      'w_sdf.h',
      'weights.h',
      'nn (seed 12)',
      'nn+1 (seed 12)',
      'nn+2 (seed 12)',
      '8-16-4 (seed 12)',
      '31-256-2 (seed 12)',
      '64-128-128-10 (seed 12)',
    ],
  );
  assert.ok(standIn!.checks.every((c) => c.agree && c.mismatches === 0 && c.maxAbsError === 0));
});

test('one flipped decision or f32 outputs off by 1e-3 fail verification, naming the checks', () => {
  const report = verify('wrong');
  assert.equal(report.agree, false);
  const standIn = report.backends[1]!;
  assert.equal(standIn.status, 'failed');
  for (const check of standIn.checks) {
    if (check.function === 'predict') assert.equal(check.mismatches, 1, check.model);
    if (check.function === 'scores') assert.equal(check.agree, true, check.model);
    if (check.function === 'forward') {
      assert.equal(check.agree, false, check.model);
      assert.ok(Math.abs(check.maxAbsError - 1e-3) < 1e-4);
    }
  }
  const text = verifyText(report);
  assert.match(text, /\| cuda +\| failed +\|/);
  assert.match(text, /linnos\.predict +\| w_sde\.h .*\| NO/);
});

test('a launch that throws fails every function of its case not yet checked, with the error', () => {
  const report = verify('throwing');
  assert.equal(report.agree, false);
  const checks = report.backends[1]!.checks;
  const dense = checks.filter((c) => c.kernelSet === 'dense-f32');
  assert.ok(dense.length > 0);
  for (const check of dense) {
    assert.deepEqual(
      [check.agree, check.error, check.mismatches, check.maxAbsError, check.maxRelError],
      [false, 'launch failed', check.vectors, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
    );
  }
  const linnos = checks.filter((c) => c.kernelSet === 'linnos');
  assert.ok(linnos.length > 0 && linnos.every((c) => c.agree && c.error === undefined));
});

test('a device on its CPU path is skipped with its reason, not verified against itself', () => {
  const report = verify('faulted');
  const standIn = report.backends[1]!;
  assert.equal(standIn.status, 'skipped');
  assert.equal(standIn.reason, 'no device here');
  assert.equal(standIn.checks.length, 0);
  assert.equal(report.agree, true);
});

test('without the LinnOS fixtures the seeded cases still run', () => {
  const report = verifyBackends({
    backends: [new StandIn('honest')],
    fixtures: null,
    vectors: { linnos: 4, dense: 2 },
  });
  assert.equal(report.fixtures, null);
  assert.equal(report.backends[0]!.checks.length, 9);
});
