import {
  UtilisationMonitor,
  type UtilisationMonitorOptions,
  type UtilisationSource,
} from '../../policy/utilisation.js';
import type { BackendReport } from '../types.js';
import { type KoffiLibrary, loadKoffi, openLibrary } from './koffi-driver.js';
import { SampleIntervalEstimate, SampleRing } from './nvml-window.js';

/**
 * What LAKE's contention policy asks of the GPU, from NVML (libnvidia-ml.so.1, installed with the NVIDIA
 * driver): the processes running compute work on it (the instant signal: a context appears when a job
 * starts, and goes when it exits), the driver's timestamped utilisation samples, of the device and per
 * process, and, where the driver keeps no samples, the utilisation of the last sample period (1/6 s to 1 s
 * by device). Tests implement Nvml with a fake, and the koffi binding against a stub library.
 */
export interface GpuProcess {
  readonly pid: number;
  readonly usedMemoryBytes: number;
}

/** nvmlDeviceGetSamples(NVML_GPU_UTILIZATION_SAMPLES) as read: the arrays are reused by the next read. */
export interface NvmlDeviceSamples {
  readonly count: number;
  /** CPU time the driver took each sample, us since the epoch. */
  readonly timestampUs: Float64Array;
  /** Percent of the time since the driver's previous sample with a kernel running, 0..100. */
  readonly percent: Float64Array;
}

/** nvmlDeviceGetProcessUtilization as read: one sample per process busy in a sample period; reused. */
export interface NvmlProcessSamples {
  readonly count: number;
  readonly pid: Uint32Array;
  readonly timestampUs: Float64Array;
  /** smUtil: percent of the sample period the process's kernels ran on the SMs. */
  readonly smPercent: Float64Array;
}

export interface Nvml {
  /** Percent of the last sample period with a kernel running, 0..100. */
  utilisationPercent(): number;
  /** The processes with a compute context; the list is reused by the next call. */
  computeProcesses(): readonly GpuProcess[];
  /** Device samples stamped after `afterUs`; undefined where the driver keeps none (NOT_SUPPORTED, vGPU). */
  deviceSamples(afterUs: number): NvmlDeviceSamples | undefined;
  /** Per-process samples stamped after `afterUs`; undefined where the driver offers none. */
  processSamples(afterUs: number): NvmlProcessSamples | undefined;
  /** nvmlShutdown and unload. */
  close(): void;
}

// nvmlReturn_t values (nvml.h).
const NVML_SUCCESS = 0;
const NVML_ERROR_NOT_SUPPORTED = 3;
const NVML_ERROR_NO_PERMISSION = 4;
const NVML_ERROR_NOT_FOUND = 6;
const NVML_ERROR_INSUFFICIENT_SIZE = 7;
const NVML_ERROR_FUNCTION_NOT_FOUND = 13;
/** nvmlSamplingType_t: NVML_TOTAL_POWER_SAMPLES = 0, NVML_GPU_UTILIZATION_SAMPLES = 1, ... */
const NVML_GPU_UTILIZATION_SAMPLES = 1;
/**
 * nvmlSample_t { unsigned long long timeStamp; nvmlValue_t sampleValue; }, nvmlValue_t an 8-byte union
 * (double dVal, unsigned int uiVal, unsigned long ulVal, unsigned long long ullVal, signed long long sllVal;
 * newer headers add int siVal, unsigned short usVal): 16 bytes, the value at offset 8.
 */
const SAMPLE_BYTES = 16;
/**
 * nvmlProcessUtilizationSample_t { unsigned int pid; unsigned long long timeStamp; unsigned int smUtil,
 * memUtil, encUtil, decUtil; }: pid at 0, 4 bytes of padding, timeStamp at 8, smUtil at 16: 32 bytes.
 */
const PROCESS_SAMPLE_BYTES = 32;
const MAX_PROCESSES = 256;
/** Fewest samples a buffer holds, whatever the driver's first count said (it grows on INSUFFICIENT_SIZE). */
const MIN_SAMPLES = 64;

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

/** A result that means "this driver or device does not offer it": the caller falls back. */
function unsupported(result: number): boolean {
  return (
    result === NVML_ERROR_NOT_SUPPORTED ||
    result === NVML_ERROR_NO_PERMISSION ||
    result === NVML_ERROR_FUNCTION_NOT_FOUND
  );
}

/** A 64-bit little-endian unsigned field, without a BigInt (exact below 2^53: us stamps are ~2^51). */
function readUint64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
}

/** nvmlValue_t as nvmlValueType_t says it is stored. */
function readValue(view: DataView, at: number, valueType: number): number {
  switch (valueType) {
    case 0: // NVML_VALUE_TYPE_DOUBLE
      return view.getFloat64(at, true);
    case 2: // NVML_VALUE_TYPE_UNSIGNED_LONG (64-bit on LP64 Linux)
    case 3: // NVML_VALUE_TYPE_UNSIGNED_LONG_LONG
      return readUint64(view, at);
    case 4: // NVML_VALUE_TYPE_SIGNED_LONG_LONG
      return view.getUint32(at, true) + view.getInt32(at + 4, true) * 2 ** 32;
    case 5: // NVML_VALUE_TYPE_SIGNED_INT
      return view.getInt32(at, true);
    case 6: // NVML_VALUE_TYPE_UNSIGNED_SHORT
      return view.getUint16(at, true);
    default: // NVML_VALUE_TYPE_UNSIGNED_INT: how utilisation samples come (nvmlDeviceGetSamples' doc)
      return view.getUint32(at, true);
  }
}

class KoffiNvml implements Nvml {
  readonly #library: KoffiLibrary;
  readonly #device: unknown;
  readonly #errorString: NativeCall;
  readonly #utilisation: NativeCall;
  readonly #processes: NativeCall;
  /** Bytes per nvmlProcessInfo_t of the entry point found (24 for _v3/_v2, 16 for the first version). */
  readonly #processBytes: number;
  readonly #shutdown: NativeCall;
  #processBuffer: Uint8Array;
  #processBufferView: DataView;
  readonly #processPool: { pid: number; usedMemoryBytes: number }[] = [];
  readonly #processList: GpuProcess[] = [];
  readonly #rates = new Uint32Array(2);
  readonly #count = new Uint32Array(1);
  readonly #valueType = new Int32Array(1);
  /** Undefined once the driver said it does not offer them (or does not export the entry point). */
  #samplesCall: NativeCall | undefined;
  #processSamplesCall: NativeCall | undefined;
  #deviceSamples: SampleBuffer<MutableDeviceSamples> | undefined;
  #processSamples: SampleBuffer<MutableProcessSamples> | undefined;

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
    let found: ReturnType<typeof findProcessEntry>;
    try {
      this.#utilisation = library.func(
        'int nvmlDeviceGetUtilizationRates(void *device, _Out_ uint32_t *rates)',
      );
      found = findProcessEntry(library);
    } catch (error) {
      // NVML was initialised above: a driver missing an entry point is shut down before openNvml unloads it.
      this.#shutdown();
      throw error;
    }
    this.#processes = found.call;
    this.#processBytes = found.bytes;
    this.#processBuffer = new Uint8Array(MAX_PROCESSES * found.bytes);
    this.#processBufferView = new DataView(this.#processBuffer.buffer);
    this.#samplesCall = optionalFunc(
      library,
      'int nvmlDeviceGetSamples(void *device, int type, uint64_t lastSeenTimeStamp, _Out_ int *valueType, _Inout_ uint32_t *count, _Out_ uint8_t *samples)',
    );
    this.#processSamplesCall = optionalFunc(
      library,
      'int nvmlDeviceGetProcessUtilization(void *device, _Out_ uint8_t *utilization, _Inout_ uint32_t *count, uint64_t lastSeenTimeStamp)',
    );
  }

  #check(call: string, result: number): void {
    if (result === NVML_SUCCESS) return;
    const name = this.#errorString(result);
    throw new Error(
      `${call} failed: ${typeof name === 'string' ? name : `nvmlReturn ${result}`} (${result})`,
    );
  }

  utilisationPercent(): number {
    this.#check('nvmlDeviceGetUtilizationRates', this.#utilisation(this.#device, this.#rates) as number);
    return this.#rates[0]!;
  }

  computeProcesses(): readonly GpuProcess[] {
    const count = this.#count;
    count[0] = this.#processBuffer.length / this.#processBytes;
    let result = this.#processes(this.#device, count, this.#processBuffer) as number;
    if (result === NVML_ERROR_INSUFFICIENT_SIZE) {
      // The driver fills nothing then and says how many there are: grow (with room for a few more, as
      // processes come and go between the calls) and ask again, once.
      this.#processBuffer = new Uint8Array((count[0]! + 16) * this.#processBytes);
      this.#processBufferView = new DataView(this.#processBuffer.buffer);
      count[0] = this.#processBuffer.length / this.#processBytes;
      result = this.#processes(this.#device, count, this.#processBuffer) as number;
    }
    this.#check('nvmlDeviceGetComputeRunningProcesses', result);
    const view = this.#processBufferView;
    const pool = this.#processPool;
    const list = this.#processList;
    const n = Math.min(count[0]!, this.#processBuffer.length / this.#processBytes);
    // Entries are kept and rewritten: a poll allocates nothing while the number of processes holds.
    while (pool.length < n) pool.push({ pid: 0, usedMemoryBytes: 0 });
    list.length = n;
    for (let i = 0; i < n; i++) {
      const at = i * this.#processBytes;
      const entry = pool[i]!;
      entry.pid = view.getUint32(at, true);
      entry.usedMemoryBytes = readUint64(view, at + 8);
      list[i] = entry;
    }
    return list;
  }

  deviceSamples(afterUs: number): NvmlDeviceSamples | undefined {
    const call = this.#samplesCall;
    if (call === undefined) return undefined;
    // First use: a NULL buffer asks how many samples the driver keeps (nvmlDeviceGetSamples' doc).
    if (this.#deviceSamples === undefined) {
      this.#count[0] = 0;
      const sized = this.#readDevice(call, afterUs, null);
      if (unsupported(sized)) return this.#noDeviceSamples();
      if (sized !== NVML_ERROR_NOT_FOUND) this.#check('nvmlDeviceGetSamples', sized);
      this.#deviceSamples = deviceSampleBuffer(Math.max(MIN_SAMPLES, this.#count[0]!));
    }
    let { buffer, view, series } = this.#deviceSamples;
    this.#count[0] = series.timestampUs.length;
    let result = this.#readDevice(call, afterUs, buffer);
    if (result === NVML_ERROR_INSUFFICIENT_SIZE) {
      this.#deviceSamples = deviceSampleBuffer(Math.max(2 * series.timestampUs.length, this.#count[0]!));
      ({ buffer, view, series } = this.#deviceSamples);
      this.#count[0] = series.timestampUs.length;
      result = this.#readDevice(call, afterUs, buffer);
    }
    if (unsupported(result)) return this.#noDeviceSamples();
    series.count = 0;
    if (result === NVML_ERROR_NOT_FOUND) return series; // nothing newer than afterUs
    this.#check('nvmlDeviceGetSamples', result);
    series.count = Math.min(this.#count[0]!, series.timestampUs.length);
    for (let i = 0; i < series.count; i++) {
      series.timestampUs[i] = readUint64(view, i * SAMPLE_BYTES);
      series.percent[i] = readValue(view, i * SAMPLE_BYTES + 8, this.#valueType[0]!);
    }
    return series;
  }

  #readDevice(call: NativeCall, afterUs: number, buffer: Uint8Array | null): number {
    const type = NVML_GPU_UTILIZATION_SAMPLES;
    return call(this.#device, type, afterUs, this.#valueType, this.#count, buffer) as number;
  }

  #noDeviceSamples(): undefined {
    this.#samplesCall = undefined;
    return undefined;
  }

  processSamples(afterUs: number): NvmlProcessSamples | undefined {
    const call = this.#processSamplesCall;
    if (call === undefined) return undefined;
    // First use: a NULL buffer asks for the count (INSUFFICIENT_SIZE with the count, per the header's doc).
    if (this.#processSamples === undefined) {
      this.#count[0] = 0;
      const sized = call(this.#device, null, this.#count, afterUs) as number;
      if (unsupported(sized)) return this.#noProcessSamples();
      if (sized !== NVML_ERROR_NOT_FOUND && sized !== NVML_ERROR_INSUFFICIENT_SIZE)
        this.#check('nvmlDeviceGetProcessUtilization', sized);
      this.#processSamples = processSampleBuffer(Math.max(MIN_SAMPLES, this.#count[0]!));
    }
    let { buffer, view, series } = this.#processSamples;
    this.#count[0] = series.pid.length;
    let result = call(this.#device, buffer, this.#count, afterUs) as number;
    if (result === NVML_ERROR_INSUFFICIENT_SIZE) {
      this.#processSamples = processSampleBuffer(Math.max(2 * series.pid.length, this.#count[0]!));
      ({ buffer, view, series } = this.#processSamples);
      this.#count[0] = series.pid.length;
      result = call(this.#device, buffer, this.#count, afterUs) as number;
    }
    if (unsupported(result)) return this.#noProcessSamples();
    series.count = 0;
    if (result === NVML_ERROR_NOT_FOUND) return series;
    this.#check('nvmlDeviceGetProcessUtilization', result);
    series.count = Math.min(this.#count[0]!, series.pid.length);
    for (let i = 0; i < series.count; i++) {
      const at = i * PROCESS_SAMPLE_BYTES;
      series.pid[i] = view.getUint32(at, true);
      series.timestampUs[i] = readUint64(view, at + 8);
      series.smPercent[i] = view.getUint32(at + 16, true);
    }
    return series;
  }

  #noProcessSamples(): undefined {
    this.#processSamplesCall = undefined;
    return undefined;
  }

  close(): void {
    this.#shutdown();
    this.#library.unload();
  }
}

interface MutableDeviceSamples extends NvmlDeviceSamples {
  count: number;
}
interface MutableProcessSamples extends NvmlProcessSamples {
  count: number;
}

interface SampleBuffer<Series> {
  readonly buffer: Uint8Array;
  readonly view: DataView;
  readonly series: Series;
}

function deviceSampleBuffer(capacity: number): SampleBuffer<MutableDeviceSamples> {
  const buffer = new Uint8Array(capacity * SAMPLE_BYTES);
  return {
    buffer,
    view: new DataView(buffer.buffer),
    series: { count: 0, timestampUs: new Float64Array(capacity), percent: new Float64Array(capacity) },
  };
}

function processSampleBuffer(capacity: number): SampleBuffer<MutableProcessSamples> {
  const buffer = new Uint8Array(capacity * PROCESS_SAMPLE_BYTES);
  return {
    buffer,
    view: new DataView(buffer.buffer),
    series: {
      count: 0,
      pid: new Uint32Array(capacity),
      timestampUs: new Float64Array(capacity),
      smPercent: new Float64Array(capacity),
    },
  };
}

/** An entry point older drivers may not export: undefined then (the caller falls back). */
function optionalFunc(library: KoffiLibrary, signature: string): NativeCall | undefined {
  try {
    return library.func(signature);
  } catch {
    return undefined;
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
    const call = optionalFunc(library, signature(suffix));
    if (call !== undefined) return { call, bytes };
  }
  throw new Error('libnvidia-ml.so.1 exports no nvmlDeviceGetComputeRunningProcesses');
}

/** Which of NVML's signals gave a reading, finest first. */
export type NvmlSignal = 'process-samples' | 'device-samples' | 'utilisation-rates';

export interface NvmlUtilisationSourceOptions {
  /** lake's process id (lakeD is a worker thread of it); default this process's. */
  ownPid?: number;
  /** Clock of the monitor's windows, ms (tests inject one). */
  clock?: () => number;
  /** The CPU clock NVML stamps its samples with, us since the epoch (tests inject one). */
  epochUs?: () => number;
  /** Span the sampled utilisation is averaged over, ms (default 50; docs/lake-cuda.md says why). */
  windowMs?: number;
}

/** A sample covers at most this many sample periods (slack for the jitter of the driver's stamps). */
const SPAN_SLACK = 1.25;
const DEFAULT_WINDOW_MS = 50;
/** NVML's longest documented sample period (nvmlUtilization_t: 1/6 s to 1 s by product), ms. */
const LONGEST_SAMPLE_PERIOD_MS = 1000;

/**
 * The GPU's utilisation as LAKE's policy counts it: the load of *other* processes on the device, and 0 while
 * no other process has a compute context ("if more than one process uses it"). The finest signal the driver
 * offers serves each reading:
 * - `process-samples` (nvmlDeviceGetProcessUtilization): the other processes' SM utilisation over the last
 *   `windowMs`, lake's own pid left out, so the reading is the foreign load itself;
 * - `device-samples` (nvmlDeviceGetSamples): the device's utilisation over the last `windowMs`, lake's own
 *   kernels included (the monitor subtracts its estimate of them, as it does for lakeD); also used where
 *   NVML lists host pids (in a container) and lake's own samples cannot be told apart;
 * - `utilisation-rates` (nvmlDeviceGetUtilizationRates): the last sample period, 1/6 s to 1 s.
 * A process that exits drops out of computeProcesses at once, and its load with it. An NVML error mid-run
 * reads as idle and is kept in `lastError`: the policy then behaves as without NVML. lake's side of a poll
 * allocates nothing once the processes' sample rings exist: the reading returned is reused by the next.
 */
export class NvmlUtilisationSource implements UtilisationSource {
  readonly #nvml: Nvml;
  readonly #ownPid: number;
  readonly #clock: () => number;
  readonly #epochUs: () => number;
  readonly windowMs: number;
  #lastAt: number;
  lastError: string | undefined;
  /** Other processes on the device at the last sample. */
  foreignProcesses = 0;
  /** The signal of the last reading with another process on the device. */
  signal: NvmlSignal = 'utilisation-rates';
  readonly #interval = new SampleIntervalEstimate();
  readonly #device = new SampleRing();
  /** The processes sampled, and a ring of samples each (parallel arrays: a poll walks them allocating nothing). */
  readonly #pids: number[] = [];
  readonly #rings: SampleRing[] = [];
  #deviceSeenUs = 0;
  #processSeenUs = 0;
  /** lake's own SM percent over the last process-sample window. */
  #ownPercent = 0;
  /** Where the last windowed reading's window ended, us since the epoch. */
  #windowEndUs = 0;
  readonly #plain = { busy: 0, windowMs: 0, sinceMs: 0 };
  readonly #measured = { busy: 0, windowMs: 0, foreign: 0, sinceMs: 0 };

  constructor(nvml: Nvml, options: NvmlUtilisationSourceOptions = {}) {
    this.#nvml = nvml;
    this.#ownPid = options.ownPid ?? process.pid;
    this.#clock = options.clock ?? (() => performance.now());
    // The wall clock itself, as the driver reads it when it stamps a sample: performance.timeOrigin + now()
    // is anchored at the process's start and parts from it at every step of the system clock.
    this.#epochUs = options.epochUs ?? (() => Date.now() * 1000);
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.#lastAt = this.#clock();
  }

  /** The driver's sample period as its samples show it, ms (undefined until two samples of one series). */
  get sampleIntervalMs(): number | undefined {
    return this.#interval.observed ? this.#interval.us / 1000 : undefined;
  }

  /**
   * Other processes with a compute context on the device, read now (one nvmlDeviceGetComputeRunningProcesses,
   * no samples): the instant signal, for a caller that must know at once (the slowdown signal asks it only
   * when lake's own GPU batches run slow). Updates `foreignProcesses`; an NVML error reads as none.
   */
  pollForeignProcesses(): number {
    try {
      this.#countForeign(this.#nvml.computeProcesses());
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      this.foreignProcesses = 0;
    }
    return this.foreignProcesses;
  }

  /** Sets foreignProcesses from the list; returns how many entries are lake's own pid. */
  #countForeign(processes: readonly GpuProcess[]): number {
    let own = 0;
    for (let i = 0; i < processes.length; i++) if (processes[i]!.pid === this.#ownPid) own++;
    // In a container NVML reports host pids, so this process may not appear under its own: then one entry
    // is taken to be lake's (lakeD holds a context while the policy samples).
    this.foreignProcesses = own > 0 ? processes.length - own : Math.max(0, processes.length - 1);
    return own;
  }

  utilisation(): { busy: number; windowMs: number; foreign?: number; sinceMs: number } {
    const now = this.#clock();
    const windowMs = now - this.#lastAt;
    this.#lastAt = now;
    try {
      const processes = this.#nvml.computeProcesses();
      const own = this.#countForeign(processes);
      if (this.foreignProcesses === 0) return this.#reading(0, windowMs, windowMs);
      const nowUs = this.#epochUs();
      if (own > 0 && this.#readProcessSamples()) {
        this.signal = 'process-samples';
        const foreign = this.#processWindowPercent(processes, nowUs);
        const measured = this.#measured;
        measured.busy = clampFraction((foreign + this.#ownPercent) / 100);
        measured.windowMs = windowMs;
        measured.foreign = clampFraction(foreign / 100);
        measured.sinceMs = this.#sinceMs(nowUs, this.#windowEndUs);
        return measured;
      }
      const device = this.#deviceWindowPercent(nowUs);
      if (device === undefined) {
        this.signal = 'utilisation-rates';
        // The last sample period ended up to one period ago and lasted one: up to twice NVML's longest.
        return this.#reading(this.#nvml.utilisationPercent() / 100, windowMs, 2 * LONGEST_SAMPLE_PERIOD_MS);
      }
      this.signal = 'device-samples';
      return this.#reading(device / 100, windowMs, this.#sinceMs(nowUs, this.#windowEndUs));
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      return this.#reading(0, windowMs, windowMs);
    }
  }

  #reading(
    busy: number,
    windowMs: number,
    sinceMs: number,
  ): { busy: number; windowMs: number; sinceMs: number } {
    this.#plain.busy = clampFraction(busy);
    this.#plain.windowMs = windowMs;
    this.#plain.sinceMs = sinceMs;
    return this.#plain;
  }

  /**
   * How long before now (ms) the oldest time a windowed reading speaks of lies: the window reaches `windowMs`
   * back from its end, and a sample that overlaps it averages up to one sample period (with slack) before its
   * stamp. So a reading whose `sinceMs` is shorter than the time since an event rests on no time before it.
   */
  #sinceMs(nowUs: number, endUs: number): number {
    return (nowUs - endUs + this.windowMs * 1000 + this.#interval.us * SPAN_SLACK) / 1000;
  }

  /** Takes in the per-process samples since the newest seen; false where the driver offers none. */
  #readProcessSamples(): boolean {
    const samples = this.#nvml.processSamples(this.#processSeenUs);
    if (samples === undefined) return false;
    for (let i = 0; i < samples.count; i++) {
      const pid = samples.pid[i]!;
      const at = samples.timestampUs[i]!;
      const index = this.#pids.indexOf(pid);
      let ring = this.#rings[index];
      if (ring === undefined) {
        ring = new SampleRing(16);
        this.#pids.push(pid);
        this.#rings.push(ring);
      }
      ring.add(at, samples.smPercent[i]!);
      this.#interval.observe(ring.previousUs, ring.newestUs);
      // The next read asks for samples after the newest seen (NVML's lastSeenTimeStamp).
      if (at > this.#processSeenUs) this.#processSeenUs = at;
    }
    return true;
  }

  /**
   * Other processes' SM percent over the window, which ends at the driver's newest sample, or one sample
   * period before now when the driver has published nothing since (no process was busy). A process without
   * samples in part of the window was idle there (NVML reports only processes busy in a period); one no
   * longer in computeProcesses has exited and counts nothing. Sets #ownPercent to lake's own share.
   */
  #processWindowPercent(processes: readonly GpuProcess[], nowUs: number): number {
    const interval = this.#interval.us;
    const end = Math.max(this.#processSeenUs, nowUs - interval);
    this.#windowEndUs = end;
    const windowUs = this.windowMs * 1000;
    const from = end - windowUs;
    let foreign = 0;
    this.#ownPercent = 0;
    const pids = this.#pids;
    const rings = this.#rings;
    for (let i = pids.length - 1; i >= 0; i--) {
      const pid = pids[i]!;
      const ring = rings[i]!;
      let listed = false;
      for (let j = 0; j < processes.length; j++) if (processes[j]!.pid === pid) listed = true;
      if (!listed) {
        // Gone, and out of every later window: forget it (the last entry takes its place).
        if (ring.newestUs <= from) {
          pids[i] = pids[pids.length - 1]!;
          rings[i] = rings[rings.length - 1]!;
          pids.pop();
          rings.pop();
        }
        continue;
      }
      const percent = ring.busyPercentUs(from, end, interval * SPAN_SLACK) / windowUs;
      if (pid === this.#ownPid) this.#ownPercent += percent;
      else foreign += percent;
    }
    return foreign;
  }

  /** The device's percent over the window (ending as above); undefined without fresh device samples. */
  #deviceWindowPercent(nowUs: number): number | undefined {
    const samples = this.#nvml.deviceSamples(this.#deviceSeenUs);
    if (samples === undefined) return undefined;
    const ring = this.#device;
    for (let i = 0; i < samples.count; i++) {
      const at = samples.timestampUs[i]!;
      ring.add(at, samples.percent[i]!);
      if (at > this.#deviceSeenUs) this.#deviceSeenUs = at;
    }
    this.#interval.observe(ring.previousUs, ring.newestUs);
    const interval = this.#interval.us;
    const end = Math.max(ring.newestUs, nowUs - interval);
    this.#windowEndUs = end;
    const busy = ring.busyPercentUs(end - this.windowMs * 1000, end, interval * SPAN_SLACK);
    return ring.coveredUs > 0 ? busy / ring.coveredUs : undefined;
  }

  close(): void {
    this.#nvml.close();
  }
}

function clampFraction(x: number): number {
  return Math.min(1, Math.max(0, x));
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
