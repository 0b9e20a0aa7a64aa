import { CpuWasmBackend } from '../../../src/lake/backends/cpu-wasm/device.js';
import { CudaBackend } from '../../../src/lake/backends/cuda/backend.js';
import type { KernelSetName } from '../../../src/lake/backends/kernel-sets.js';
import type { BackendDevice } from '../../../src/lake/backends/types.js';
import type { GpuSharingMode } from '../../../src/lake/policy/gpu-mode.js';
import { ShmArena } from '../../../src/lake/shm/arena.js';
import type { DenseModel } from '../../../src/models/dense.js';
import { FakeCudaDriver, type FakeDriverOptions } from './cuda-fake-driver.js';

/** A CUDA device over a fake driver, and a cpu-wasm device over the same lakeShm to compare with. */
export function openFakeCuda(
  options: FakeDriverOptions = {},
  open: { onLakeD?: boolean; mode?: GpuSharingMode } = {},
): {
  arena: ShmArena;
  driver: FakeCudaDriver;
  backend: CudaBackend;
  device: BackendDevice;
  cpu: BackendDevice;
} {
  const arena = ShmArena.create({ bytes: 1 << 22 });
  const driver = new FakeCudaDriver(options);
  const backend = new CudaBackend({ openDriver: () => driver, mode: open.mode ?? 'yield' });
  const device = backend.open(arena, { onLakeD: open.onLakeD ?? true });
  return { arena, driver, backend, device, cpu: new CpuWasmBackend().open(arena) };
}

export interface BatchJob {
  readonly kernelSet: KernelSetName;
  readonly fn: number;
  /** Input rows, back to back (u8 digits for linnos, f32 bytes for dense-f32). */
  readonly input: Uint8Array;
  readonly n: number;
  readonly outBytes: number;
  /** Blocks the launch is split into (lakeD's grid). */
  readonly blocks?: number;
}

/**
 * Runs one batch on a device the way lakeD does: device memory adopted from lakeShm, input copied in,
 * the module loaded, every block launched, the output copied out; returns the output bytes.
 */
export function runBatch(
  arena: ShmArena,
  device: BackendDevice,
  model: DenseModel,
  job: BatchJob,
): Uint8Array {
  const hostIn = arena.alloc(job.input.length);
  const hostOut = arena.alloc(job.outBytes);
  const deviceIn = arena.alloc(job.input.length);
  const deviceOut = arena.alloc(job.outBytes);
  arena.bytes(hostIn, job.input.length).set(job.input);
  device.adoptMemory(deviceIn, job.input.length);
  device.adoptMemory(deviceOut, job.outBytes);
  const module = device.loadModule(job.kernelSet, model);
  try {
    device.copyToDevice(deviceIn, hostIn, job.input.length);
    const args = Float64Array.from([deviceIn, deviceOut, job.n]);
    const blocks = job.blocks ?? 1;
    for (let block = 0; block < blocks; block++) module.runBlock(job.fn, args, block, blocks);
    device.copyFromDevice(hostOut, deviceOut, job.outBytes);
    return arena.bytes(hostOut, job.outBytes).slice();
  } finally {
    module.unload();
    device.releaseMemory(deviceIn);
    device.releaseMemory(deviceOut);
    for (const handle of [hostIn, hostOut, deviceIn, deviceOut]) arena.free(handle);
  }
}
