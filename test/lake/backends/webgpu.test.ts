import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CpuWasmBackend } from '../../../src/lake/backends/cpu-wasm/device.js';
import type { DeviceModule } from '../../../src/lake/backends/types.js';
import { F32_TOLERANCE, verifyBackends } from '../../../src/lake/backends/verify.js';
import { WebGpuBackend } from '../../../src/lake/backends/webgpu/backend.js';
import { detectAdapter } from '../../../src/lake/backends/webgpu/detect.js';
import { WebGpuDevice } from '../../../src/lake/backends/webgpu/device.js';
import { prepareDawnEnvironment } from '../../../src/lake/backends/webgpu/env.js';
import type { FaultKind } from '../../../src/lake/backends/webgpu/protocol.js';
import { syntheticLinnosModel } from '../../../src/lake/linnos/calibrate.js';
import { ShmArena } from '../../../src/lake/shm/arena.js';
import { Random } from '../../../src/random.js';

/**
 * The WebGPU backend against cpu-wasm. Kernels run wherever Dawn finds an adapter (CI installs Mesa, so
 * Dawn's GLES backend runs them on llvmpipe); without one those tests skip, saying why.
 */
const fixtures = fileURLToPath(new URL('../../fixtures/linnos/', import.meta.url));
let noAdapter: string | false = 'not detected yet';

before(() => {
  const reply = detectAdapter();
  noAdapter = reply.ok ? false : `Dawn found no adapter here: ${reply.message}`;
  if (noAdapter !== false) process.stdout.write(`# webgpu kernel tests skipped: ${noAdapter}\n`);
  prepareDawnEnvironment();
});

const N = 80;

/** A LinnOS module on `device` and on cpu-wasm over the same arena, with N random digit vectors. */
function linnosPair(arena: ShmArena, device: WebGpuDevice) {
  const model = syntheticLinnosModel('nn', 9);
  const random = new Random(4);
  const host = arena.alloc(N * 31);
  arena.bytes(host, N * 31).set(Uint8Array.from({ length: N * 31 }, () => random.int(10)));
  const xs = arena.alloc(N * 31);
  const out = arena.alloc(N);
  const want = arena.alloc(N);
  device.adoptMemory(xs, N * 31);
  device.adoptMemory(out, N);
  device.copyToDevice(xs, host, N * 31);
  const gpu: DeviceModule = device.loadModule('linnos', model);
  const cpu = new CpuWasmBackend().open(arena).loadModule('linnos', model);
  cpu.runBlock(0, Float64Array.from([host, want, N]), 0, 1);
  const run = (): Uint8Array => {
    arena.bytes(out, N).fill(255);
    gpu.runBlock(0, Float64Array.from([xs, out, N]), 0, 1);
    return arena.bytes(out, N).slice();
  };
  return { run, want: arena.bytes(want, N).slice() };
}

test('lakeLib inline path: the webgpu device never starts Dawn and serves with cpu-wasm results', () => {
  const arena = ShmArena.create({ bytes: 1 << 20 });
  const device = new WebGpuDevice(arena, { inline: true, allowSoftware: false });
  assert.match(device.fault ?? '', /inline path/);
  assert.ok(device.capabilities.includes('cpu-path'));
  const { run, want } = linnosPair(arena, device);
  assert.deepEqual(run(), want);
  assert.deepEqual(device.stats.gpuBatches, 0);
  assert.deepEqual(device.stats.cpuBatches, 1);
  device.close();
});

test('probe: usable only with the package and a GPU device node or the software opt-in, else says why', () => {
  const report = new WebGpuBackend().probe();
  assert.equal(report.kind, 'gpu');
  if (!report.available)
    assert.match(report.reason ?? '', /^not available here: (the optional 'webgpu'|no GPU device node)/);
});

test('WebGPU kernels agree with cpu-wasm: linnos bit for bit (fixtures, NN, NN+1, NN+2), dense within tolerance', (t) => {
  if (noAdapter !== false) return t.skip(noAdapter);
  const report = verifyBackends({
    backends: [new CpuWasmBackend(), new WebGpuBackend()],
    fixtures,
    vectors: { linnos: 40, dense: 24 },
  });
  const webgpu = report.backends.find((b) => b.backend === 'webgpu')!;
  assert.equal(webgpu.status, 'verified', webgpu.reason);
  assert.equal(report.agree, true);
  // 3 headers and 3 shapes x (predict, scores), 3 dense models x forward.
  assert.equal(webgpu.checks.length, 15);
  for (const check of webgpu.checks) {
    assert.equal(check.mismatches, 0, `${check.model} ${check.function}`);
    if (check.exact) assert.equal(check.maxAbsError, 0);
    else assert.ok(check.maxRelError < 1 && check.maxAbsError <= F32_TOLERANCE.abs + 10 * F32_TOLERANCE.rel);
  }
  assert.equal(webgpu.checks.find((c) => c.model === 'w_sde.h')!.vectors, 26 + 40);
});

test('a batch larger than one GPU request (4,096 rows) runs in chunks, bit-exact with cpu-wasm', (t) => {
  if (noAdapter !== false) return t.skip(noAdapter);
  const rows = 4096 + 37;
  const arena = ShmArena.create({ bytes: 1 << 20 });
  const device = new WebGpuDevice(arena, { inline: false, allowSoftware: true });
  const model = syntheticLinnosModel('nn', 2);
  const random = new Random(8);
  const xs = arena.alloc(rows * 31);
  arena.bytes(xs, rows * 31).set(Uint8Array.from({ length: rows * 31 }, () => random.int(10)));
  const out = arena.alloc(rows * 8);
  device.adoptMemory(xs, rows * 31);
  device.adoptMemory(out, rows * 8);
  device.loadModule('linnos', model).runBlock(1, Float64Array.from([xs, out, rows]), 0, 1);
  const cpu = new CpuWasmBackend().open(arena).loadModule('linnos', model);
  const reference = arena.alloc(rows * 8);
  cpu.runBlock(1, Float64Array.from([xs, reference, rows]), 0, 1);
  assert.equal(device.fault, undefined);
  assert.deepEqual(device.stats.cpuBatches, 0, 'the GPU computed every chunk');
  assert.deepEqual(arena.bytes(out, rows * 8), arena.bytes(reference, rows * 8));
  device.close();
});

for (const kind of ['device-lost', 'thread-exit', 'hang'] as FaultKind[]) {
  test(`a GPU fault (${kind}) loses no decision: the batch finishes on the CPU path, the device is unusable`, (t) => {
    if (noAdapter !== false) return t.skip(noAdapter);
    const arena = ShmArena.create({ bytes: 1 << 20 });
    // A hung GPU thread is given up after this long (10 s by default).
    const device = new WebGpuDevice(arena, { inline: false, allowSoftware: true, callTimeoutMs: 3000 });
    assert.equal(device.fault, undefined);
    const { run, want } = linnosPair(arena, device);
    assert.deepEqual(run(), want);
    assert.equal(device.stats.gpuBatches, 1);
    device.injectFault(kind);
    assert.deepEqual(run(), want, 'the faulted batch gives the same decisions');
    assert.match(device.fault ?? '', kind === 'hang' ? /^GPU fault: .*did not answer/ : /^GPU fault: /);
    assert.match(device.name, /unusable/);
    assert.equal(device.stats.gpuBatches, 1);
    assert.equal(device.stats.cpuBatches, 1);
    assert.deepEqual(run(), want, 'later batches run on the CPU path');
    device.close();
  });
}

test('lakeD serves LinnOS on webgpu, lakeLib finishes inline after a crash, and the process exits by itself', (t) => {
  if (noAdapter !== false) return t.skip(noAdapter);
  const script = fileURLToPath(new URL('../fixtures/webgpu-lakeD.ts', import.meta.url));
  const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...process.env, LAKE_WEBGPU_SOFTWARE: '1' },
  });
  assert.equal(child.signal, null, `the process did not exit on its own: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout.trim().split('\n').pop()!) as {
    devices: { backend: string; name: string; fault?: string }[];
    inline: number[];
    onGpu: number[][];
    afterCrash: number[];
    before: { inlineCommands: number; restarts: number };
    after: { inlineCommands: number; restarts: number };
  };
  const gpu = result.devices.find((d) => d.backend === 'webgpu');
  assert.ok(gpu !== undefined, 'lakeD lists a webgpu device');
  assert.doesNotMatch(gpu.name, /unusable/);
  assert.equal(gpu.fault, undefined, 'the GPU serves, not the CPU path');
  assert.ok(result.inline.includes(0) && result.inline.includes(1), 'both decisions occur');
  assert.deepEqual(result.onGpu[0], result.inline);
  assert.deepEqual(result.onGpu[1], result.inline.slice(0, 1));
  assert.deepEqual(result.afterCrash, result.inline);
  assert.equal(result.before.inlineCommands, 0, 'lakeD served everything before the crash');
  assert.ok(result.after.restarts >= 1 && result.after.inlineCommands > 0, 'lakeLib finished inline');
});

test("lakeD's webgpu device lost mid-run: the batch's synchronise tells lakeLib, the policy stops placing there", (t) => {
  if (noAdapter !== false) return t.skip(noAdapter);
  const script = fileURLToPath(new URL('../fixtures/webgpu-fault-lakeD.ts', import.meta.url));
  const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...process.env, LAKE_WEBGPU_SOFTWARE: '1' },
  });
  assert.equal(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout.trim().split('\n').pop()!) as {
    batches: { inline: number[]; webgpu: number[]; faults: number }[];
    deviceFaults: { device: number; backend: string; reason: string }[];
    report: { available: boolean; reason?: string };
    placedBefore: string;
    placedAfter: { placement: string };
    state: { usable: boolean; reason?: string };
  };
  assert.ok(
    result.batches.some((b) => b.inline.includes(1)),
    'both decisions occur',
  );
  for (const [i, b] of result.batches.entries()) assert.deepEqual(b.webgpu, b.inline, `batch ${i}`);
  // Dawn lost the device before lakeD's third run: lakeLib knew with that batch's synchronise.
  assert.deepEqual(
    result.batches.map((b) => b.faults),
    [0, 0, 1, 1],
  );
  assert.equal(result.deviceFaults.length, 1);
  assert.equal(result.deviceFaults[0]!.backend, 'webgpu');
  assert.match(result.deviceFaults[0]!.reason, /^GPU fault: device lost/);
  assert.equal(result.report.available, false);
  assert.match(result.report.reason ?? '', /^faulted in lakeD \(device 1: GPU fault: device lost/);
  assert.equal(result.placedBefore, 'webgpu');
  assert.equal(result.placedAfter.placement, 'inline');
  assert.equal(result.state.usable, false);
  assert.match(result.state.reason ?? '', /GPU fault: device lost/);
});
