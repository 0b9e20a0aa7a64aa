import { LakeError } from '../../errors.js';
import type { ShmArena } from '../shm/arena.js';
import { CpuWasmBackend } from './cpu-wasm/device.js';
import { CudaBackend } from './cuda/backend.js';
import type { BackendDevice, BackendName, BackendReport, ComputeBackend, OpenOptions } from './types.js';
import { WebGpuBackend } from './webgpu/backend.js';

/** Every backend lake knows, in preference order for device numbering. */
export const BACKENDS: readonly ComputeBackend[] = [
  new CpuWasmBackend(),
  new WebGpuBackend(),
  new CudaBackend(),
];

/** Every backend with its capability detection: usable here or not, and why not. */
export function listBackends(): BackendReport[] {
  return BACKENDS.map((backend) => backend.probe());
}

export function backendByName(name: string): ComputeBackend {
  const backend = BACKENDS.find((b) => b.name === name);
  if (backend === undefined) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `unknown backend '${name}' (have ${BACKENDS.map((b) => b.name).join(', ')})`,
    );
  }
  return backend;
}

/**
 * Opens the available backends (or only those named) of `backends` (default: lake's catalog) over the
 * arena: the devices, numbered in order.
 * lakeD passes `onLakeD`; lakeLib's inline path does not, so its devices keep lakeD's numbering while a GPU
 * backend serves them on its CPU path.
 */
export function openDevices(
  arena: ShmArena,
  only?: readonly BackendName[],
  options: OpenOptions = {},
  backends: readonly ComputeBackend[] = BACKENDS,
): BackendDevice[] {
  const devices: BackendDevice[] = [];
  for (const backend of backends) {
    if (only !== undefined && !only.includes(backend.name)) continue;
    if (backend.probe().available) devices.push(backend.open(arena, options));
  }
  return devices;
}
