import { LakeError } from '../../../errors.js';
import { type GpuSharingMode, gpuSharingModeFromEnv } from '../../policy/gpu-mode.js';
import type { ShmArena } from '../../shm/arena.js';
import type { BackendDevice, BackendReport, ComputeBackend } from '../types.js';
import { CudaDevice, type CudaDeviceFound, cudaThreadFault } from './device.js';
import { type CudaDriver, CudaDriverError } from './driver.js';
import { openKoffiDriver } from './koffi-driver.js';

const NAME = 'cuda';
/** lake's PTX targets sm_70 (Volta) and newer. */
const MIN_COMPUTE_CAPABILITY: readonly [number, number] = [7, 0];

export interface CudaBackendOptions {
  /** Opens the driver, or says why it cannot (default: libcuda.so.1 through koffi). Tests pass a fake. */
  openDriver?: () => CudaDriver | string;
  /** The device's ordinal (default 0). */
  ordinal?: number;
  /** Stream priority policy (default: LAKE_GPU_MODE, else 'yield'); see src/lake/policy/gpu-mode.ts. */
  mode?: GpuSharingMode;
}

/**
 * The CUDA backend: NVIDIA GPUs through the driver API alone (libcuda.so.1, opened at run time through
 * the optional koffi package; the driver JIT-compiles lake's PTX, so no toolkit is needed). Detection runs
 * once per backend object: it opens the driver, calls cuInit and looks at the device, and says which step
 * failed when one does.
 */
export class CudaBackend implements ComputeBackend {
  readonly name = NAME;
  readonly kind = 'gpu';
  readonly #options: CudaBackendOptions;
  #detected: { driver: CudaDriver; found: CudaDeviceFound } | string | undefined;

  constructor(options: CudaBackendOptions = {}) {
    this.#options = options;
  }

  probe(): BackendReport {
    const detected = this.#detect();
    const base = {
      name: NAME,
      kind: 'gpu',
      description: 'GPU kernels through the CUDA driver API (libcuda.so.1 via koffi; PTX JIT-compiled)',
    } as const;
    if (typeof detected === 'string')
      return { ...base, available: false, capabilities: [], reason: `not available here: ${detected}` };
    const { name, computeCapability, pciBusId } = detected.found;
    // `pci:` tells NVML which GPU is lake's (CUDA and NVML may number devices differently).
    const capabilities = [
      'cuda',
      `sm_${computeCapability.join('')}`,
      'int16',
      'f32',
      'linnos',
      'dense-f32',
      `pci:${pciBusId}`,
    ];
    const fault = cudaThreadFault();
    if (fault !== undefined) {
      return {
        ...base,
        available: false,
        capabilities,
        reason: `not available here: the device faulted in this process (${fault}); its work runs on the CPU path`,
      };
    }
    return { ...base, available: true, capabilities, description: `${name}: ${base.description}` };
  }

  /** Deeper detection is what probe() already does (once): the driver is opened and asked. */
  detect(): BackendReport {
    return this.probe();
  }

  /**
   * The GPU is driven on lakeD's thread (and for `lake backends --verify`); elsewhere the device serves
   * lakeLib's inline path on its CPU twins (see CudaDevice).
   */
  open(
    arena: ShmArena,
    options: { readonly onLakeD?: boolean; readonly forVerification?: boolean } = {},
  ): BackendDevice {
    const detected = this.#detect();
    if (typeof detected === 'string')
      throw new LakeError('LAKE_E_USAGE', `backend ${NAME} cannot be opened: ${detected}`);
    const mode = this.#options.mode ?? gpuSharingModeFromEnv();
    const onGpu = options.onLakeD === true || options.forVerification === true;
    return new CudaDevice(arena, detected.driver, detected.found, { mode, onGpu });
  }

  #detect(): { driver: CudaDriver; found: CudaDeviceFound } | string {
    if (this.#detected !== undefined) return this.#detected;
    const driver = (this.#options.openDriver ?? openKoffiDriver)();
    this.#detected = typeof driver === 'string' ? driver : findDevice(driver, this.#options.ordinal ?? 0);
    if (typeof driver !== 'string' && typeof this.#detected === 'string') driver.unload();
    return this.#detected;
  }
}

/** The device at `ordinal`, or which step of detection failed and how. */
function findDevice(
  driver: CudaDriver,
  ordinal: number,
): { driver: CudaDriver; found: CudaDeviceFound } | string {
  const step = <T>(what: string, work: () => T): T | string => {
    try {
      return work();
    } catch (error) {
      if (error instanceof CudaDriverError) return `${what} failed: ${error.resultName}`;
      return `${what} failed: ${error instanceof Error ? error.message : String(error)}`;
    }
  };
  const init = step('cuInit', () => driver.init());
  if (typeof init === 'string') return init;
  const count = step('cuDeviceGetCount', () => driver.deviceCount());
  if (typeof count === 'string') return count;
  if (count <= ordinal)
    return count === 0 ? 'the CUDA driver sees no device' : `no CUDA device ${ordinal} (${count} devices)`;
  const found = step('cuDeviceGet', () => {
    const device = driver.device(ordinal);
    return {
      ordinal,
      device,
      name: driver.deviceName(device),
      computeCapability: driver.computeCapability(device),
      pciBusId: driver.pciBusId(device),
    };
  });
  if (typeof found === 'string') return found;
  const [major, minor] = found.computeCapability;
  if (
    major < MIN_COMPUTE_CAPABILITY[0] ||
    (major === MIN_COMPUTE_CAPABILITY[0] && minor < MIN_COMPUTE_CAPABILITY[1])
  )
    return `${found.name} has compute capability ${major}.${minor}; lake's PTX needs sm_70 or newer`;
  return { driver, found };
}
