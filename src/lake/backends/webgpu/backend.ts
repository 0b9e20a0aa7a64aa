import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ShmArena } from '../../shm/arena.js';
import type { BackendDevice, BackendReport, ComputeBackend, OpenOptions } from '../types.js';
import { detectAdapter } from './detect.js';
import { unavailableError, WebGpuDevice } from './device.js';
import { prepareDawnEnvironment } from './env.js';
import type { AdapterSummary } from './protocol.js';

const NAME = 'webgpu';
/** Lets lakeD use a software adapter (llvmpipe): correctness runs and measurements of the path only. */
export const SOFTWARE_ENV = 'LAKE_WEBGPU_SOFTWARE';
const CAPABILITIES = ['wgsl', 'int32', 'f32', 'linnos', 'dense-f32', 'mirrors-shared-memory'];
const DESCRIPTION = 'GPU kernels in WGSL through WebGPU (Dawn, the optional webgpu package)';

let installed: boolean | undefined;

/** Whether the optional package resolves (once per thread: installing it needs a restart anyway). */
function packageInstalled(): boolean {
  if (installed === undefined) {
    try {
      createRequire(import.meta.url).resolve('webgpu');
      installed = true;
    } catch {
      installed = false;
    }
  }
  return installed;
}

function softwareAllowed(): boolean {
  return process.env[SOFTWARE_ENV] === '1';
}

/** A GPU device node Dawn's native backend could open (Linux); elsewhere assumed present. */
function gpuNodePresent(): boolean {
  if (process.platform !== 'linux') return true;
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((name) => name.startsWith('renderD'));
  } catch {
    return false;
  }
}

/** Why lakeD cannot use WebGPU here, from cheap checks only (no Dawn started); undefined when it may. */
function cheapReason(): string | undefined {
  if (!packageInstalled()) return "the optional 'webgpu' package (Dawn) is not installed";
  if (!gpuNodePresent() && !softwareAllowed()) {
    return (
      'no GPU device node (/dev/dri/renderD*, /dev/nvidia0): Dawn could find only a software adapter ' +
      `(Mesa's llvmpipe), which lakeD uses only with ${SOFTWARE_ENV}=1; lake backends --verify checks its kernels`
    );
  }
  return undefined;
}

// lakeD's thread cannot set the environment Dawn reads, so the main thread does it as soon as lake loads a
// catalogue in which WebGPU may be opened.
if (cheapReason() === undefined) prepareDawnEnvironment();

/**
 * The WebGPU backend: WGSL kernels for every kernel set, run by Dawn on a dedicated GPU thread
 * (gpu-host.ts, where Dawn's traps are handled), over buffers mirroring the lakeShm regions lakeD adopts.
 * probe() is cheap (package installed, a GPU device node or the software opt-in); detect() starts Dawn
 * and asks for an adapter. lakeD opens the device when it starts; lakeLib's inline path gets the same
 * device number served by the CPU path.
 */
export class WebGpuBackend implements ComputeBackend {
  readonly name = NAME;
  readonly kind = 'gpu';

  probe(): BackendReport {
    const reason = cheapReason();
    const base = { name: NAME, kind: 'gpu', capabilities: CAPABILITIES, description: DESCRIPTION } as const;
    if (reason !== undefined) {
      return {
        ...base,
        available: false,
        reason: `not available here: ${reason}`,
        verifiable: packageInstalled(),
      };
    }
    return { ...base, available: true };
  }

  detect(): BackendReport {
    const probe = this.probe();
    if (!packageInstalled()) return probe;
    const reply = detectAdapter();
    const base = { name: NAME, kind: 'gpu', capabilities: CAPABILITIES } as const;
    if (!reply.ok || reply.adapter === undefined) {
      const why = reply.ok ? 'Dawn found no adapter' : reply.message;
      return { ...base, available: false, reason: `not available here: ${why}`, description: DESCRIPTION };
    }
    const adapter = reply.adapter;
    const description = `${DESCRIPTION}; adapter: ${describeAdapter(adapter)}`;
    if (adapter.software && !softwareAllowed()) {
      const reason =
        `not available here: only a software adapter (${adapterText(adapter)}): correctness only, ` +
        `lakeD uses it only with ${SOFTWARE_ENV}=1`;
      return { ...base, available: false, verifiable: true, reason, description };
    }
    if (probe.available) return { ...base, available: true, verifiable: true, description };
    return { ...probe, verifiable: true, description };
  }

  open(arena: ShmArena, options: OpenOptions = {}): BackendDevice {
    const probe = this.probe();
    if (!probe.available && !(options.forVerification === true && probe.verifiable === true))
      throw unavailableError(probe.reason ?? '');
    if (options.onLakeD !== true && options.forVerification !== true)
      return new WebGpuDevice(arena, { inline: true, allowSoftware: false });
    prepareDawnEnvironment();
    return new WebGpuDevice(arena, {
      inline: false,
      allowSoftware: softwareAllowed() || options.forVerification === true,
      beat: options.beat,
    });
  }
}

function adapterText(adapter: AdapterSummary): string {
  const names = [adapter.device, adapter.description, adapter.vendor].map((s) => s.trim()).filter((s) => s);
  return names.length > 0 ? names.join(', ') : 'unnamed adapter';
}

function describeAdapter(adapter: AdapterSummary): string {
  const backend = adapter.backend === 'default' ? 'native backend' : adapter.backend;
  return `${adapterText(adapter)} (${backend}, ${adapter.featureLevel}${adapter.software ? ', software' : ''})`;
}
