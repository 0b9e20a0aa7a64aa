import { createRequire } from 'node:module';
import { LakeError } from '../../errors.js';
import type { BackendDevice, BackendReport, ComputeBackend } from './types.js';

const NAME = 'webgpu';

/**
 * The WebGPU backend's place in the catalogue. Detection only: it is available where the runtime exposes
 * navigator.gpu or the optional `webgpu` package (Dawn) is installed; the device itself (buffers mirroring
 * lakeShm regions, WGSL kernels for the kernel sets) comes in a later issue, so open() refuses even then.
 */
export class WebGpuBackend implements ComputeBackend {
  readonly name = NAME;
  readonly kind = 'gpu';

  probe(): BackendReport {
    const base = {
      name: NAME,
      kind: 'gpu',
      capabilities: [],
      description: 'GPU kernels through WebGPU (Dawn)',
    } as const;
    const reason = unavailableReason();
    return reason === undefined
      ? {
          ...base,
          available: false,
          reason: 'not available here: a WebGPU runtime is present but lake has no WebGPU kernels yet',
        }
      : { ...base, available: false, reason: `not available here: ${reason}` };
  }

  open(): BackendDevice {
    throw new LakeError('LAKE_E_USAGE', `backend ${NAME} cannot be opened: ${this.probe().reason ?? ''}`);
  }
}

function unavailableReason(): string | undefined {
  const gpu = (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu;
  if (gpu !== undefined) return undefined;
  try {
    createRequire(import.meta.url).resolve('webgpu');
    return undefined;
  } catch {
    return "navigator.gpu is absent and the optional 'webgpu' package (Dawn) is not installed";
  }
}
