import {
  UtilisationMonitor,
  type UtilisationMonitorOptions,
  type UtilisationSource,
} from '../../policy/utilisation.js';
import type { BackendReport } from '../types.js';
import { type KoffiLibrary, loadKoffi, openLibrary } from './koffi-driver.js';

/**
 * What LAKE's contention policy asks of the GPU, from NVML (libnvidia-ml.so.1, installed with the NVIDIA
 * driver): the device's utilisation (the share of the last sample period, 1/6 s to 1 s by device, in
 * which a kernel ran) and the processes running compute work on it. Tests implement Nvml with a fake.
 */
export interface GpuProcess {
  readonly pid: number;
  readonly usedMemoryBytes: number;
}

export interface Nvml {
  /** Percent of the last sample period with a kernel running, 0..100. */
  utilisationPercent(): number;
  computeProcesses(): GpuProcess[];
  /** nvmlShutdown and unload. */
  close(): void;
}

const NVML_SUCCESS = 0;
const NVML_ERROR_INSUFFICIENT_SIZE = 7;
const MAX_PROCESSES = 256;

/**
 * Opens NVML on the GPU at PCI address `device` (as cuDeviceGetPCIBusId gives it: CUDA and NVML may
 * number devices differently), or at NVML index `device`; or says why it cannot.
 */
export function openNvml(device: string | number = 0, path = 'libnvidia-ml.so.1'): Nvml | string {
  const koffi = loadKoffi();
  if (typeof koffi === 'string') return koffi;
  const library = openLibrary(koffi, path);
  if (typeof library === 'string') return library;
  try {
    return new KoffiNvml(library, device);
  } catch (error) {
    library.unload();
    return error instanceof Error ? error.message : String(error);
  }
}

type NativeCall = (...args: unknown[]) => unknown;

class KoffiNvml implements Nvml {
  readonly #library: KoffiLibrary;
  readonly #device: unknown;
  readonly #errorString: NativeCall;
  readonly #utilisation: NativeCall;
  readonly #processes: NativeCall;
  /** Bytes per nvmlProcessInfo_t of the entry point found (24 for _v3/_v2, 16 for the first version). */
  readonly #processBytes: number;
  readonly #shutdown: NativeCall;
  readonly #processBuffer: Uint8Array;

  constructor(library: KoffiLibrary, device: string | number) {
    this.#library = library;
    this.#errorString = library.func('const char *nvmlErrorString(int result)');
    this.#shutdown = library.func('int nvmlShutdown()');
    const init = library.func('int nvmlInit_v2()');
    this.#check('nvmlInit_v2', init() as number);
    const [call, handle] =
      typeof device === 'string'
        ? [
            `nvmlDeviceGetHandleByPciBusId_v2(${device})`,
            library.func('int nvmlDeviceGetHandleByPciBusId_v2(const char *pciBusId, _Out_ void **device)'),
          ]
        : [
            `nvmlDeviceGetHandleByIndex_v2(${device})`,
            library.func('int nvmlDeviceGetHandleByIndex_v2(unsigned int index, _Out_ void **device)'),
          ];
    const out: unknown[] = [null];
    const got = handle(device, out) as number;
    if (got !== NVML_SUCCESS) {
      this.#shutdown();
      this.#check(call, got);
    }
    this.#device = out[0];
    this.#utilisation = library.func(
      'int nvmlDeviceGetUtilizationRates(void *device, _Out_ uint32_t *rates)',
    );
    const found = findProcessEntry(library);
    this.#processes = found.call;
    this.#processBytes = found.bytes;
    this.#processBuffer = new Uint8Array(MAX_PROCESSES * found.bytes);
  }

  #check(call: string, result: number): void {
    if (result === NVML_SUCCESS) return;
    const name = this.#errorString(result);
    throw new Error(
      `${call} failed: ${typeof name === 'string' ? name : `nvmlReturn ${result}`} (${result})`,
    );
  }

  utilisationPercent(): number {
    const rates = new Uint32Array(2);
    this.#check('nvmlDeviceGetUtilizationRates', this.#utilisation(this.#device, rates) as number);
    return rates[0]!;
  }

  computeProcesses(): GpuProcess[] {
    const count = new Uint32Array([MAX_PROCESSES]);
    const result = this.#processes(this.#device, count, this.#processBuffer) as number;
    // More processes than the buffer holds: the first MAX_PROCESSES are enough to see "another process".
    if (result !== NVML_ERROR_INSUFFICIENT_SIZE) this.#check('nvmlDeviceGetComputeRunningProcesses', result);
    const view = new DataView(this.#processBuffer.buffer);
    const processes: GpuProcess[] = [];
    for (let i = 0; i < Math.min(count[0]!, MAX_PROCESSES); i++) {
      const at = i * this.#processBytes;
      processes.push({
        pid: view.getUint32(at, true),
        usedMemoryBytes: Number(view.getBigUint64(at + 8, true)),
      });
    }
    return processes;
  }

  close(): void {
    this.#shutdown();
    this.#library.unload();
  }
}

/** The newest nvmlDeviceGetComputeRunningProcesses the driver exports, and its struct size. */
function findProcessEntry(library: KoffiLibrary): { call: NativeCall; bytes: number } {
  const signature = (suffix: string): string =>
    `int nvmlDeviceGetComputeRunningProcesses${suffix}(void *device, _Inout_ uint32_t *count, _Out_ uint8_t *infos)`;
  for (const [suffix, bytes] of [
    ['_v3', 24],
    ['_v2', 24],
    ['', 16],
  ] as const) {
    try {
      return { call: library.func(signature(suffix)), bytes };
    } catch {
      // An older driver: try the previous version.
    }
  }
  throw new Error('libnvidia-ml.so.1 exports no nvmlDeviceGetComputeRunningProcesses');
}

/**
 * The GPU's utilisation as LAKE's policy counts it: busy while another process runs compute work on the
 * device, at NVML's utilisation (which includes lake's own kernels: the monitor subtracts those, as it
 * does for lakeD); 0 while only this process uses it ("if more than one process uses it"). An NVML error
 * mid-run reads as idle and is kept in `lastError`: the policy then behaves as without NVML.
 */
export class NvmlUtilisationSource implements UtilisationSource {
  readonly #nvml: Nvml;
  readonly #ownPid: number;
  readonly #clock: () => number;
  #lastAt: number;
  lastError: string | undefined;
  /** Other processes on the device at the last sample. */
  foreignProcesses = 0;

  constructor(nvml: Nvml, options: { ownPid?: number; clock?: () => number } = {}) {
    this.#nvml = nvml;
    this.#ownPid = options.ownPid ?? process.pid;
    this.#clock = options.clock ?? (() => performance.now());
    this.#lastAt = this.#clock();
  }

  utilisation(): { busy: number; windowMs: number } {
    const now = this.#clock();
    const windowMs = now - this.#lastAt;
    this.#lastAt = now;
    try {
      const processes = this.#nvml.computeProcesses();
      const own = processes.filter((p) => p.pid === this.#ownPid).length;
      // In a container NVML reports host pids, so this process may not appear under its own: then one entry
      // is taken to be lake's (lakeD holds a context while the policy samples).
      this.foreignProcesses = own > 0 ? processes.length - own : Math.max(0, processes.length - 1);
      const busy = this.foreignProcesses > 0 ? this.#nvml.utilisationPercent() / 100 : 0;
      return { busy: Math.min(1, Math.max(0, busy)), windowMs };
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      return { busy: 0, windowMs };
    }
  }

  close(): void {
    this.#nvml.close();
  }
}

/**
 * The contention policy's view of the CUDA device's load by other processes, when cuda is usable here and
 * NVML opens (undefined otherwise: the policy then counts lakeD's load alone). close() the source after.
 */
export function openCudaDeviceMonitor(
  backends: readonly BackendReport[],
  options: UtilisationMonitorOptions = {},
): { monitor: UtilisationMonitor; source: NvmlUtilisationSource } | undefined {
  const cuda = backends.find((b) => b.name === 'cuda' && b.available);
  if (cuda === undefined) return undefined;
  const pci = cuda.capabilities.find((c) => c.startsWith('pci:'))?.slice(4);
  const nvml = openNvml(pci ?? 0);
  if (typeof nvml === 'string') return undefined;
  const source = new NvmlUtilisationSource(nvml);
  return { monitor: new UtilisationMonitor(source, options), source };
}
