/**
 * The real-clock engine's own cost per I/O on real files, beside fio's. Random reads (4 KiB by default)
 * spread over a few image files, all due at once, so the engine keeps `queueDepth` reads in flight on every
 * device until the workload is done (a closed loop at that depth); then, per device try:
 *
 *   overhead = (entered the kernel - taken from its device's FIFO) + (engine done with it - completion seen)
 *
 * i.e. the time the engine itself holds each I/O beyond the device's (the device's time runs from just before
 * its batch entered the kernel to the moment its completion was seen). The admission policy's time is the
 * engine's: pass a LinnOS policy to include inference.
 *
 * The suite runs, on the same files in the same run, lake's baseline, lake with `linnos` admission (a
 * seeded 31-256-2 model whose output layer always answers "fast", deciding on its submit path as `lake
 * replay` does: every read pays a decision, every completion the history update, and the I/O pattern stays
 * fio's) and fio (replay-overhead-fio.ts) for the same pattern, in rotating order over the
 * repeats, and reports lake's IOPS as ratios to fio's (medians over the repeats).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdmissionPolicy } from '../array/policy.js';
import { createPredictor } from '../kernels/create.js';
import type { Predictor } from '../kernels/types.js';
import { linnosPolicyFactory } from '../linnos/policies.js';
import type { LinnosPolicy } from '../linnos/policy.js';
import type { DenseModel } from '../models/dense.js';
import { Random } from '../random.js';
import { type ArrivalColumns, arrivalsOf } from '../realdev/arrivals.js';
import { type BackendChoice, type BackendKind, createBackend } from '../realdev/backend.js';
import type { RealDevice } from '../realdev/device.js';
import { type LagSummary, replayReal } from '../realdev/engine.js';
import { removeImage } from '../realdev/image.js';
import { closeDevices, openDevices } from '../realdev/open.js';
import { LatencyRecorder } from '../report/histogram.js';
import type { TraceRecord } from '../trace/types.js';
import { type BenchResult, type BenchSuite, median, summarise, withRatios } from './harness.js';
import {
  type FioAvailability,
  type FioPattern,
  type FioRun,
  fioAvailability,
  runFio,
} from './replay-overhead-fio.js';

export interface ReplayOverheadOptions {
  /** Existing files or block devices to read from (only read, never written, never removed). */
  paths?: readonly string[];
  /** Where the image files go (a fresh directory under os.tmpdir() by default, removed afterwards). */
  dir?: string;
  devices?: number;
  fileBytes?: number;
  ios?: number;
  ioBytes?: number;
  queueDepth?: number;
  backend?: BackendChoice;
  policy?: AdmissionPolicy;
  seed?: number;
  spinUs?: number;
}

export interface ReplayOverheadResult {
  backend: BackendKind;
  direct: boolean;
  devices: number;
  queueDepth: number;
  ioBytes: number;
  ios: number;
  wallMs: number;
  iops: number;
  /** Device time of the reads, us (mean over devices weighted by reads). */
  deviceReadMeanUs: number;
  /** Latency the application saw, us. */
  readLatency: { meanUs: number; p50Us: number; p99Us: number };
  /**
   * The engine's own time per device I/O beyond the device's, us: its JavaScript time per try (arrivals,
   * admission, bookkeeping), everything but the system calls and waits.
   */
  overheadUs: number;
  /** From leaving its FIFO to entering the kernel, per try, us. */
  submitDelayUs: LagSummary;
  /** Submission system calls per try, us (the kernel's issue path). */
  syscallUsPerTry: number;
  /** The process's CPU time during the replay per I/O (every thread: the engine's, V8's, the kernel's on its behalf), us. */
  cpuUserUsPerIo: number;
  cpuSystemUsPerIo: number;
  /** Read tries the policy revoked (0 for the baseline and the admit-all LinnOS model). */
  revokes: number;
  policy: string;
}

/** The files a benchmark reads, opened once for every run on them. */
interface BenchFiles {
  devices: RealDevice[];
  paths: readonly string[];
  /** The size every file has at least (offsets stay below it). */
  fileBytes: number;
  release(): void;
}

async function openBenchFiles(options: ReplayOverheadOptions): Promise<BenchFiles> {
  const given = options.paths;
  const deviceCount = given?.length ?? options.devices ?? 3;
  const ownDir = given === undefined && options.dir === undefined;
  const dir = ownDir ? mkdtempSync(join(tmpdir(), 'lake-bench-')) : (options.dir ?? '.');
  const paths = given ?? Array.from({ length: deviceCount }, (_, i) => join(dir, `bench${i}.img`));
  let devices: RealDevice[];
  try {
    // Given paths are only read (the user named them for this): no image mark is asked of them.
    devices = await openDevices(
      paths,
      given === undefined
        ? { sizeBytes: options.fileBytes ?? 64 << 20, quiet: true }
        : { allowExistingFiles: true },
    );
  } catch (error) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    devices,
    paths,
    fileBytes: Math.min(...devices.map((d) => d.capacityBytes)),
    release() {
      closeDevices(devices);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
      else for (const d of devices) if (d.created) removeImage(d.path);
    },
  };
}

/** `ios` reads of `ioBytes`, uniform over the files' first `fileBytes`, round-robin over the devices, all due at 0. */
function benchArrivals(options: ReplayOverheadOptions, files: BenchFiles): ArrivalColumns {
  const ios = options.ios ?? 20000;
  const ioBytes = options.ioBytes ?? 4096;
  const deviceCount = files.devices.length;
  const random = new Random(options.seed ?? 1);
  const records: TraceRecord[] = [];
  const blocks = Math.floor(files.fileBytes / ioBytes);
  for (let i = 0; i < ios; i++) {
    records.push({
      arrivalMs: 0,
      device: i % deviceCount,
      offset: random.int(blocks) * ioBytes,
      size: ioBytes,
      read: true,
    });
  }
  return arrivalsOf(records);
}

/** One replay of `arrivals` on the files, timed; the backend is made for it and closed after. */
async function lakeRun(
  files: BenchFiles,
  arrivals: ArrivalColumns,
  options: ReplayOverheadOptions,
  policy: AdmissionPolicy,
): Promise<ReplayOverheadResult> {
  const devices = files.devices;
  const ioBytes = options.ioBytes ?? 4096;
  const queueDepth = options.queueDepth ?? 32;
  const backend = createBackend(devices, {
    ...(options.backend !== undefined ? { backend: options.backend } : {}),
    maxInFlight: queueDepth * devices.length,
    maxIoBytes: ioBytes,
  });
  // The engine's own latency sink (a histogram, as `lake replay` keeps): no record object per I/O.
  const readLatency = new LatencyRecorder();
  try {
    const cpuBefore = process.cpuUsage();
    const result = await replayReal(arrivals, {
      devices,
      backend,
      policy,
      queueDepth,
      measureOverhead: true,
      ...(options.spinUs !== undefined ? { spinUs: options.spinUs } : {}),
      readLatency,
    });
    const cpu = process.cpuUsage(cpuBefore);
    let reads = 0;
    let readUs = 0;
    for (const d of result.deviceTime) {
      reads += d.reads;
      readUs += d.reads * d.readMeanUs;
    }
    return {
      backend: backend.kind,
      direct: devices.every((d) => d.direct),
      devices: devices.length,
      queueDepth,
      ioBytes,
      ios: arrivals.count,
      wallMs: result.wallMs,
      iops: arrivals.count / (result.wallMs / 1000),
      deviceReadMeanUs: reads > 0 ? readUs / reads : 0,
      readLatency: {
        meanUs: readLatency.avgUs,
        p50Us: readLatency.percentileUs(50),
        p99Us: readLatency.percentileUs(99),
      },
      overheadUs: result.cost?.engineUsPerTry ?? 0,
      submitDelayUs: result.cost?.submitDelay ?? { meanUs: 0, p50Us: 0, p90Us: 0, p99Us: 0, maxUs: 0 },
      syscallUsPerTry: result.cost?.syscallUsPerTry ?? 0,
      cpuUserUsPerIo: cpu.user / arrivals.count,
      cpuSystemUsPerIo: cpu.system / arrivals.count,
      revokes: result.revokes,
      policy: policy.name,
    };
  } finally {
    await backend.close();
  }
}

export async function benchReplayOverhead(
  options: ReplayOverheadOptions = {},
): Promise<ReplayOverheadResult> {
  const files = await openBenchFiles(options);
  try {
    return await lakeRun(
      files,
      benchArrivals(options, files),
      options,
      options.policy ?? { name: 'baseline' },
    );
  } finally {
    files.release();
  }
}

/**
 * A LinnOS policy over a seeded 31-256-2 model (He-scaled normal first layer) whose output layer always
 * answers "fast" (zero weights, bias favouring output 0), built as `lake replay` builds its linnos policy
 * (linnosPolicyFactory with the model behind each device's predictor): each device decides on a submit path
 * of its own (the default backend's incremental twin: pend_now's rows on top of the history's partial sums,
 * kept up to date as reads complete), none is revoked, so the devices see the baseline's reads. `predictor`
 * is the one serving predictor behind every device's path; close() frees the submit paths and it.
 */
export function admitAllLinnos(
  devices: number,
  seed = 1,
): { policy: LinnosPolicy; predictor: Predictor; close(): Promise<void> } {
  const random = new Random(seed);
  const model: DenseModel = {
    layers: [
      {
        inputs: 31,
        outputs: 256,
        weights: Float32Array.from({ length: 31 * 256 }, () => random.normal() * Math.sqrt(2 / 31)),
        bias: Float32Array.from({ length: 256 }, () => random.normal() * 0.1),
      },
      { inputs: 256, outputs: 2, weights: new Float32Array(512), bias: Float32Array.from([1, -1]) },
    ],
  };
  const predictor = createPredictor(model);
  const factory = linnosPolicyFactory(
    Array.from({ length: devices }, () => predictor),
    undefined,
    undefined,
    { models: Array.from({ length: devices }, () => ({ model })) },
  );
  factory.makePolicy({ kind: 'linnos', name: 'linnos', hedged: false }, {});
  const policy = factory.policies[0]!;
  return {
    policy,
    predictor,
    close: async () => {
      await factory.close();
      predictor.dispose();
    },
  };
}

export interface FioComparisonOptions extends Omit<ReplayOverheadOptions, 'policy'> {
  /** Repeats of each of the three runs (default 3). */
  samples?: number;
  /** The fio to run (default `fio` on PATH). */
  fioCommand?: string;
  /** Also replay with the admit-all LinnOS policy (default true). */
  linnos?: boolean;
}

/** Every run of a comparison; `fio` is empty and `reference` says why when fio is absent. */
export interface FioComparison {
  baseline: ReplayOverheadResult[];
  linnos: ReplayOverheadResult[];
  fio: FioRun[];
  reference: FioAvailability;
  /** fio was installed but a run failed (no fio figure is kept after that): what it said. */
  fioError?: string;
  pattern: FioPattern;
}

/** Baseline, linnos and fio on the same files, `samples` times each, in an order that rotates per repeat. */
export async function compareWithFio(options: FioComparisonOptions = {}): Promise<FioComparison> {
  const samples = options.samples ?? 3;
  const files = await openBenchFiles(options);
  try {
    const arrivals = benchArrivals(options, files);
    const reference = fioAvailability(options.fioCommand);
    const pattern: FioPattern = {
      paths: files.paths,
      fileBytes: files.fileBytes,
      ioBytes: options.ioBytes ?? 4096,
      ios: arrivals.count,
      queueDepth: options.queueDepth ?? 32,
      direct: files.devices.every((d) => d.direct),
      seed: options.seed ?? 1,
    };
    const comparison: FioComparison = { baseline: [], linnos: [], fio: [], reference, pattern };
    const runs: (() => Promise<void>)[] = [
      async () => {
        comparison.baseline.push(await lakeRun(files, arrivals, options, { name: 'baseline' }));
      },
    ];
    if (options.linnos !== false) {
      runs.push(async () => {
        const linnos = admitAllLinnos(files.devices.length, options.seed ?? 1);
        try {
          comparison.linnos.push(await lakeRun(files, arrivals, options, linnos.policy));
        } finally {
          await linnos.close();
        }
      });
    }
    if (reference.available) {
      runs.push(async () => {
        // A failing fio leaves lake's figures standing: the reference row says why it is missing.
        if (comparison.fioError !== undefined) return;
        try {
          comparison.fio.push(runFio(pattern, options.fioCommand));
        } catch (error) {
          comparison.fioError = (error as Error).message;
        }
      });
    }
    for (let i = 0; i < samples; i++)
      for (let k = 0; k < runs.length; k++) await runs[(i + k) % runs.length]!();
    return comparison;
  } finally {
    files.release();
  }
}

/** The reference row's name (lake's IOPS rows carry their ratio to it). */
const fioIopsName = (queueDepth: number): string => `IOPS, QD${queueDepth}, fio io_uring (reference)`;
/** I/Os per run in the suite: about a second of the disk at fio's rate, so that start-up is a small part. */
const SUITE_IOS = 60000;

/** The fio row when there is no fio figure: errored, saying why, so that the table shows it too. */
function fioAbsent(queueDepth: number, why: string): BenchResult {
  return {
    name: fioIopsName(queueDepth),
    unit: 'ios/s',
    median: Number.NaN,
    min: Number.NaN,
    max: Number.NaN,
    samples: 0,
    state: 'errored',
    error: why,
  };
}

/** Median over the repeats of lake's IOPS over fio's in the same repeat (robust to the load drifting between repeats). */
function pairedRatio(lake: readonly ReplayOverheadResult[], fio: readonly FioRun[]): number | undefined {
  const n = Math.min(lake.length, fio.length);
  if (n === 0) return undefined;
  return median(Array.from({ length: n }, (_, i) => lake[i]!.iops / fio[i]!.iops));
}

/** Real-file replay at queue depth 32 beside fio: IOPS (ratios to fio's), the engine's time and CPU per I/O. */
export async function replayOverheadSuite(samples: number): Promise<BenchSuite> {
  const c = await compareWithFio({ queueDepth: 32, ios: SUITE_IOS, samples });
  return { suite: 'replay-overhead', results: comparisonResults(c) };
}

/** A comparison's rows: IOPS first (lake's as ratios to fio's), then time and CPU per I/O, then the disk's time. */
export function comparisonResults(c: FioComparison): BenchResult[] {
  const qd = c.pattern.queueDepth;
  const last = c.baseline[c.baseline.length - 1]!;
  const details = {
    backend: last.backend,
    direct: last.direct,
    devices: last.devices,
    ioBytes: last.ioBytes,
    ios: last.ios,
  };
  const fioDetails = c.reference.available ? { version: c.reference.version } : {};
  const lakeRows = (label: string, runs: readonly ReplayOverheadResult[]): BenchResult[] => {
    if (runs.length === 0) return [];
    const paired = pairedRatio(runs, c.fio);
    const revokes = runs.reduce((sum, r) => sum + r.revokes, 0);
    return [
      summarise(
        `IOPS, QD${qd}, lake ${label}`,
        'ios/s',
        runs.map((r) => r.iops),
        { ...details, revokes, ...(paired !== undefined ? { pairedRatioToFio: paired } : {}) },
      ),
      summarise(
        `engine time per I/O beyond the device, QD${qd}, ${label}`,
        'us',
        runs.map((r) => r.overheadUs),
        details,
      ),
      summarise(
        `CPU time per I/O (user + system), QD${qd}, lake ${label}`,
        'us',
        runs.map((r) => r.cpuUserUsPerIo + r.cpuSystemUsPerIo),
        { ...details, userUs: median(runs.map((r) => r.cpuUserUsPerIo)) },
      ),
    ];
  };
  const fioRows: BenchResult[] = !c.reference.available
    ? [fioAbsent(qd, `reference absent: ${c.reference.reason}`)]
    : c.fioError !== undefined
      ? [fioAbsent(qd, `fio failed: ${c.fioError}`)]
      : [
          summarise(
            fioIopsName(qd),
            'ios/s',
            c.fio.map((r) => r.iops),
            { ...fioDetails, ios: c.pattern.ios, iodepth: c.pattern.queueDepth * c.pattern.paths.length },
          ),
          summarise(
            `CPU time per I/O (user + system), QD${qd}, fio`,
            'us',
            c.fio.map((r) => r.cpuUserUsPerIo + r.cpuSystemUsPerIo),
            { ...fioDetails, userUs: median(c.fio.map((r) => r.cpuUserUsPerIo)) },
          ),
        ];
  const baselineRows = lakeRows('baseline', c.baseline);
  const linnosRows = lakeRows('linnos', c.linnos);
  // The IOPS rows first, with lake's as ratios to fio's.
  const iopsRows = withRatios(
    [...fioRows, ...baselineRows, ...linnosRows].filter((r) => r.unit === 'ios/s'),
    fioIopsName(qd),
  );
  return [
    ...iopsRows,
    ...[...baselineRows, ...linnosRows, ...fioRows].filter((r) => r.unit !== 'ios/s'),
    summarise(
      `device read time (kernel), QD${qd}, baseline`,
      'us',
      c.baseline.map((r) => r.deviceReadMeanUs),
      details,
    ),
  ];
}
