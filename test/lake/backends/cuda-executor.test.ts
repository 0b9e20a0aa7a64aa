import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KERNEL_SETS } from '../../../src/lake/backends/kernel-sets.js';
import { modelImageBytes, writeModelImage } from '../../../src/lake/backends/model-image.js';
import { LocalCommand } from '../../../src/lake/daemon/channel.js';
import { CommandExecutor } from '../../../src/lake/daemon/executor.js';
import { Api } from '../../../src/lake/daemon/protocol.js';
import { linnosLayerSizes } from '../../../src/models/dense.js';
import { randomModel, uniformDigits } from '../../kernels/helpers.js';
import { openFakeCuda } from './cuda-harness.js';

/**
 * lakeD's own command path (CommandExecutor: memAlloc, copies, moduleLoad from a lakeShm image, a launch
 * checked against the adopted regions) over device 1 = the CUDA device with a fake driver, device 0 =
 * cpu-wasm: the same commands give the same bytes on both, and the GPU did run the launches.
 */
test('lakeD commands on the cuda device give cpu-wasm bytes, regions checked and kept current', () => {
  const { arena, driver, device, cpu } = openFakeCuda();
  const host = { beat: () => {}, hang: () => {}, crash: () => {} };
  const executor = new CommandExecutor(arena, [cpu, device], host);
  const model = randomModel(41, linnosLayerSizes('nn+2'), uniformDigits(42, 100));
  const n = 64;
  const image = arena.alloc(modelImageBytes(model));
  writeModelImage(model, arena.bytes(image, modelImageBytes(model)));
  const xsHost = arena.alloc(n * 31);
  arena.bytes(xsHost, n * 31).set(uniformDigits(43, n));
  const outputs: Uint8Array[] = [];
  const run = (api: number, args: number[], text = ''): LocalCommand => {
    const io = new LocalCommand(api, 0, text);
    io.args.set(args);
    executor.execute(io);
    return io;
  };
  for (const ordinal of [0, 1]) {
    const context = ordinal + 1;
    const xs = arena.alloc(n * 31);
    const out = arena.alloc(n * 8);
    const back = arena.alloc(n * 8);
    run(Api.contextCreate, [context, ordinal]);
    run(Api.memAlloc, [context, xs, n * 31]);
    run(Api.memAlloc, [context, out, n * 8]);
    run(Api.memcpyHtoD, [xs, xsHost, n * 31]);
    run(Api.moduleLoad, [context, context, KERNEL_SETS[0]!.id, image, modelImageBytes(model)]);
    run(Api.moduleGetFunction, [context, context], 'scores');
    run(Api.launch, [context, 1, 1, 1, 3, xs, out, n]);
    run(Api.memcpyDtoH, [back, out, n * 8]);
    outputs.push(arena.bytes(back, n * 8).slice());
    // The region itself is current too: lakeLib could finish inline from it.
    assert.deepEqual(arena.bytes(out, n * 8), arena.bytes(back, n * 8));
    // A launch over memory the context does not own is refused before it reaches the GPU.
    const launches = driver.launches;
    assert.throws(() => run(Api.launch, [context, 1, 1, 1, 3, xsHost, out, n]), /not inside device memory/);
    assert.equal(driver.launches, launches);
    run(Api.contextDestroy, [context]);
  }
  assert.deepEqual(outputs[1], outputs[0]);
  assert.equal(driver.launches, 1);
  executor.close();
  assert.deepEqual(driver.live, { contexts: 0, streams: 0, modules: 0, allocations: 0, registrations: 0 });
});
