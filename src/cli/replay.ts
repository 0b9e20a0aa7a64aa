/**
 * `lake replay --devices a.img,b.img,c.img --trace x.trace[,y,z] --policies baseline,linnos --model m.json
 * --out dir/`: replay a trace on real devices (files or block devices, O_DIRECT) under each admission policy
 * with the real-clock engine, and report as `lake simulate` does: the same tables, results.json, cdf.svg,
 * cdf.png and report.html, plus what real devices add (late/slack counts, the engine's backend, and the
 * kernel's own per-I/O times from /proc/diskstats beside lake's).
 */
import type { Command } from 'commander';
import { DEFAULT_REVOKE_COST_US } from '../array/engine.js';
import { parsePolicyList } from '../array/policies.js';
import { type PolicyRun, policyReport } from '../array/run.js';
import {
  CephReplicas,
  DEFAULT_CEPH_CAPACITY_BYTES,
  describePrepared,
  type PreparedObjects,
} from '../ceph/replicas.js';
import { usageError } from '../errors.js';
import { checkOutputs, type InputPath, type OutputPath } from '../files/outputs.js';
import { createPredictor } from '../kernels/create.js';
import type { Predictor } from '../kernels/types.js';
import { WorkerTrainer } from '../lake/linnos/retrain-trainer.js';
import {
  type FalseSubmitCount,
  falseSubmitCountOfStats,
  linnosPolicyFactory,
  type OnlineRetraining,
  pooledFalseSubmitPct,
  type SubmitModel,
} from '../linnos/policies.js';
import type { LinnosShape } from '../models/dense.js';
import { readModelSource } from '../models/model-source.js';
import { type ArrivalColumns, captureWorkload, loadArrivals, traceWorkload } from '../realdev/arrivals.js';
import { type BackendChoice, backendChoices } from '../realdev/backend.js';
import { DEFAULT_LATE_AFTER_US, DEFAULT_QUEUE_DEPTH, DEFAULT_SPIN_US } from '../realdev/engine.js';
import { type DirectMode, openDevices, parseByteSize } from '../realdev/open.js';
import {
  type PolicyDevice,
  type RealPolicyRun,
  type RunPreparation,
  runRealPolicies,
} from '../realdev/run.js';
import { createProgress, type Progress } from '../report/progress.js';
import type { Table } from '../report/table.js';
import { reportOutput } from '../report/write.js';
import {
  parseFormatOption,
  parseIntOption,
  parseNumberOption,
  parseSeedOption,
  splitList,
} from './options.js';
import { emitRunReport, policyJson, retrainingJson, round3 } from './run-report.js';

/** The options `lake replay` and `lake record` share: devices, trace, and how to drive them. */
export interface RealDeviceFlags {
  devices?: string;
  /** A Ceph cluster's ceph.conf: the devices are its replica pools (--pools) instead of files. */
  ceph?: string;
  pools?: string;
  objectSize?: string;
  trace?: string;
  format?: string;
  skipBad?: boolean;
  size?: string;
  queueDepth: string;
  backend: string;
  io: string;
  revokeCost: string;
  lateAfter: string;
  spin: string;
  duration?: string;
  rateScale: string;
  allowBlockWrites?: boolean;
  allowExistingFiles?: boolean;
  sqpoll?: boolean;
  json?: boolean;
}

interface ReplayFlags extends RealDeviceFlags {
  policies: string;
  model?: string;
  modelBackend: string;
  retrain?: boolean;
  seed: string;
  warmUp: string;
  out?: string;
}

/** Adds the shared options to a command. */
export function addRealDeviceOptions(command: Command): Command {
  return command
    .option('--devices <paths>', 'files or block devices, comma-separated (files are created with --size)')
    .option(
      '--ceph <conf>',
      "a Ceph cluster's ceph.conf: replay on its replica pools (--pools) instead of --devices",
    )
    .option('--pools <list>', 'with --ceph: replica pools, one per device, each pinned to one OSD (r0,r1,r2)')
    .option('--object-size <bytes>', 'with --ceph: RADOS object size a pool holds its device in', '4M')
    .option('--trace <files>', 'trace file, or one per device (comma-separated); blktrace: the per-CPU files')
    .option('--format <format>', 'trace format (detected when absent), or blktrace / blkparse for a capture')
    .option('--skip-bad', 'skip and count malformed trace lines')
    .option(
      '--size <bytes>',
      'create missing device files at this size (e.g. 1G); files that exist must match; with --ceph: the device each pool holds (default 128M)',
    )
    .option('--queue-depth <n>', 'I/Os in flight per device at most', String(DEFAULT_QUEUE_DEPTH))
    .option('--backend <name>', `I/O backend: ${backendChoices.join(', ')}`, 'auto')
    .option(
      '--io <mode>',
      'direct (O_DIRECT, fail without), buffered, or auto (direct where allowed)',
      'auto',
    )
    .option(
      '--revoke-cost <us>',
      'cost of revoking a read and re-issuing it on the next replica',
      String(DEFAULT_REVOKE_COST_US),
    )
    .option(
      '--late-after <us>',
      'an I/O taken up this long after its time counts as late',
      String(DEFAULT_LATE_AFTER_US),
    )
    .option(
      '--spin <us>',
      'spin this long for a completion before sleeping in the kernel',
      String(DEFAULT_SPIN_US),
    )
    .option('--duration <seconds>', "replay only the trace's first seconds")
    .option('--rate-scale <x>', "multiply the trace's arrival rate", '1')
    .option('--allow-block-writes', "let the trace's writes reach block devices (never mounted ones)")
    .option(
      '--allow-existing-files',
      "replay on regular files lake did not create; the trace's writes overwrite their data",
    )
    .option(
      '--sqpoll',
      'io_uring: a kernel thread takes submissions (no system call per batch; keeps a CPU busy)',
    )
    .option('--json', 'print JSON on stdout (no progress bar)');
}

export interface OpenedWorkload {
  devices: PolicyDevice[];
  /** With --ceph: the cluster's replica pools (the devices), and what was written to prepare them. */
  cluster?: CephReplicas;
  prepared?: PreparedObjects;
  arrivals: ArrivalColumns;
  tracePaths: string[];
  queueDepth: number;
  backend: BackendChoice;
  revokeCostUs: number;
  lateAfterUs: number;
  spinUs: number;
  rateScale: number;
  durationS: number | undefined;
  sqpoll: boolean;
}

/** The engine settings a replay and a recording both take from the opened workload. */
export function engineSettings(workload: OpenedWorkload): Pick<
  OpenedWorkload,
  'backend' | 'queueDepth' | 'revokeCostUs' | 'lateAfterUs' | 'spinUs' | 'sqpoll'
> & {
  makeBackend?: CephReplicas['makeBackend'];
} {
  const { backend, queueDepth, revokeCostUs, lateAfterUs, spinUs, sqpoll } = workload;
  const cluster = workload.cluster !== undefined ? { makeBackend: workload.cluster.makeBackend } : {};
  return { backend, queueDepth, revokeCostUs, lateAfterUs, spinUs, sqpoll, ...cluster };
}

/** Where a command's devices are: --devices (files) or --ceph with --pools, never both. */
function deviceNames(flags: RealDeviceFlags): string[] {
  if (flags.ceph !== undefined) {
    if (flags.devices !== undefined) throw usageError('--devices and --ceph exclude each other: give one');
    if (flags.pools === undefined)
      throw usageError('--ceph needs --pools (the replica pools, e.g. r0,r1,r2)');
    // The cluster's backend is librados: the file backends' choices do not apply to it.
    for (const [flag, value] of [
      ['--backend', flags.backend],
      ['--io', flags.io],
    ] as const)
      if (value !== undefined && value !== 'auto')
        throw usageError(
          `${flag} applies to files and block devices, not to --ceph (the cluster is reached through librados)`,
        );
    if (flags.sqpoll === true) throw usageError('--sqpoll applies to io_uring on files, not to --ceph');
    return splitList(flags.pools);
  }
  if (flags.pools !== undefined) throw usageError("--pools needs --ceph (the cluster's ceph.conf)");
  if (flags.devices === undefined)
    throw usageError(
      '--devices is required (files or block devices, comma-separated), or --ceph with --pools',
    );
  return splitList(flags.devices);
}

/** Connects to the cluster and prepares its replica pools for the workload (saying what it wrote). */
async function openCephWorkload(
  flags: RealDeviceFlags & { ceph: string },
  pools: string[],
  arrivals: ArrivalColumns,
  sizeBytes: number | undefined,
): Promise<{ cluster: CephReplicas; prepared: PreparedObjects }> {
  const cluster = await CephReplicas.open({
    confPath: flags.ceph,
    pools,
    capacityBytes: sizeBytes ?? DEFAULT_CEPH_CAPACITY_BYTES,
    objectBytes: parseByteSize(flags.objectSize ?? '4M'),
  });
  try {
    const progress = createProgress({ label: 'prepare pools', total: 1, quiet: flags.json === true });
    const prepared = await cluster.prepare(arrivals, (done, total) => progress.update(done / total));
    progress.stop();
    if (flags.json !== true)
      process.stderr.write(`lake: prepared the replica pools: ${describePrepared(prepared)}\n`);
    return { cluster, prepared };
  } catch (error) {
    await cluster.close();
    throw error;
  }
}

function warn(message: string): void {
  process.stderr.write(`lake: warning: ${message}\n`);
}

/**
 * Loads the trace (all of it, before any device is touched), then opens or creates the devices. First of all,
 * the devices and `files.outputs` are checked against the traces and `files.inputs` (no output is an input).
 */
export async function openWorkload(
  flags: RealDeviceFlags,
  files: { inputs?: InputPath[]; outputs?: OutputPath[] } = {},
): Promise<OpenedWorkload> {
  const names = deviceNames(flags);
  if (flags.trace === undefined) throw usageError('--trace is required');
  const paths = flags.ceph === undefined ? names : [];
  const tracePaths = splitList(flags.trace);
  if (names.length === 0)
    throw usageError(
      flags.ceph === undefined
        ? '--devices must name at least one file or block device'
        : '--pools must name at least one pool',
    );
  if (tracePaths.length === 0) throw usageError('--trace must name at least one file');
  checkOutputs(
    [
      ...paths.map((path) => ({ flag: '--devices', path, kind: 'device' as const })),
      ...(files.outputs ?? []),
    ],
    [
      ...tracePaths.map((path) => ({ flag: '--trace', path })),
      ...(flags.ceph !== undefined ? [{ flag: '--ceph', path: flags.ceph }] : []),
      ...(files.inputs ?? []),
    ],
  );
  const queueDepth = parseIntOption('--queue-depth', flags.queueDepth, 1);
  if (queueDepth > 4096) throw usageError(`--queue-depth must be at most 4096, got ${queueDepth}`);
  const backend = backendChoices.find((b) => b === flags.backend);
  if (backend === undefined)
    throw usageError(`--backend must be one of ${backendChoices.join(', ')}, got "${flags.backend}"`);
  const ioModes: Record<string, DirectMode> = { auto: 'auto', direct: 'on', buffered: 'off' };
  const direct = ioModes[flags.io];
  if (direct === undefined) throw usageError(`--io must be auto, direct or buffered, got "${flags.io}"`);
  const revokeCostUs = parseNumberOption('--revoke-cost', flags.revokeCost, 0);
  const lateAfterUs = parseNumberOption('--late-after', flags.lateAfter, 0);
  const spinUs = parseNumberOption('--spin', flags.spin, 0);
  const rateScale = parseNumberOption('--rate-scale', flags.rateScale, 0);
  if (rateScale === 0) throw usageError('--rate-scale must be > 0');
  const durationS =
    flags.duration !== undefined ? parseNumberOption('--duration', flags.duration, 0) : undefined;
  const sizeBytes = flags.size !== undefined ? parseByteSize(flags.size) : undefined;
  const capture = flags.format === 'blktrace' || flags.format === 'blkparse' ? flags.format : undefined;
  const format = capture === undefined ? parseFormatOption(flags.format) : undefined;
  const readOptions = { ...(format ? { format } : {}), skipBad: flags.skipBad === true };
  const source =
    capture !== undefined
      ? await captureWorkload(tracePaths, capture)
      : traceWorkload(tracePaths, names.length, readOptions);
  const arrivals = await loadArrivals(source, {
    rateScale,
    ...(durationS !== undefined ? { untilMs: durationS * 1000 } : {}),
  });
  if (arrivals.count === 0) throw usageError('the trace holds no I/O to replay');
  const common = {
    arrivals,
    tracePaths,
    queueDepth,
    backend,
    revokeCostUs,
    lateAfterUs,
    spinUs,
    rateScale,
    durationS,
    sqpoll: flags.sqpoll === true,
  };
  if (flags.ceph !== undefined) {
    const { cluster, prepared } = await openCephWorkload(
      { ...flags, ceph: flags.ceph },
      names,
      arrivals,
      sizeBytes,
    );
    return { ...common, devices: cluster.devices, cluster, prepared };
  }
  const devices = await openDevices(paths, {
    ...(sizeBytes !== undefined ? { sizeBytes } : {}),
    write: arrivals.writes > 0,
    allowBlockWrites: flags.allowBlockWrites === true,
    allowExistingFiles: flags.allowExistingFiles === true,
    quiet: flags.json === true,
    direct,
    onWarning: warn,
  });
  return { ...common, devices };
}

export function registerReplay(program: Command): void {
  addRealDeviceOptions(
    program
      .command('replay')
      .description('replay a trace on real devices (files or block devices) under each admission policy'),
  )
    .option('--policies <list>', 'baseline, random, random@P, hedgingNN, linnos, linnos+hl', 'baseline')
    .option('--model <files>', 'LinnOS model file(s): one for all devices or one per device (.json or .h)')
    .option('--model-backend <name>', 'inference kernel: auto, wasm, js or exact', 'auto')
    .option(
      '--retrain',
      'linnos retrains online: per device it watches its accuracy and retrains in a worker thread when it drifts (lake model files only: they record their label threshold)',
    )
    .option('--seed <n>', 'seed of the random policy', '7')
    .option(
      '--warm-up <seconds>',
      "replay the trace's first seconds under the baseline, unmeasured, before the first policy (0: none)",
      '1',
    )
    .option('--out <dir>', 'write results.json, cdf.svg, cdf.png and report.html here')
    .action(async (flags: ReplayFlags) => {
      await replayCommand(flags);
    });
}

interface LoadedModels {
  predictors: (Predictor | undefined)[];
  paths: string[];
  /**
   * The models' false-submit rate in %, pooled over the slow reads each lake model file was scored on
   * (pooledFalseSubmitPct); undefined when no file records one (LinnOS headers do not).
   */
  falseSubmitPct: number | undefined;
  /** Per device: the label threshold and layer widths its lake model file records (LinnOS headers: none). */
  labels: ({ thresholdUs: number | undefined; shape: string } | undefined)[];
  /** Per device: the model behind its predictor, for LinnOS's submit path (linnosPolicyFactory). */
  models: (SubmitModel | undefined)[];
}

async function loadModels(
  list: string | undefined,
  deviceCount: number,
  backend: string,
): Promise<LoadedModels> {
  if (list === undefined) throw usageError('the linnos policies need --model (one file, or one per device)');
  const paths = splitList(list);
  if (paths.length !== 1 && paths.length !== deviceCount)
    throw usageError(
      `--model names ${paths.length} files for ${deviceCount} devices: give one, or one per device`,
    );
  if (!['auto', 'wasm', 'js', 'exact'].includes(backend))
    throw usageError(`--model-backend must be auto, wasm, js or exact, got "${backend}"`);
  const sources = await Promise.all(paths.map((p) => readModelSource(p)));
  const counts: FalseSubmitCount[] = [];
  const loaded = sources.map((source) => (source.kind === 'linnos-header' ? source.integer : source.dense));
  const made = sources.map((source) => {
    if (source.kind === 'lake-model') {
      const count = falseSubmitCountOfStats(source.file.meta.trainingStats);
      if (count !== undefined) counts.push(count);
    }
    const model = source.kind === 'linnos-header' ? source.integer : source.dense;
    return createPredictor(model, { backend: backend as 'auto' | 'wasm' | 'js' | 'exact' });
  });
  const labels = sources.map((source) =>
    source.kind === 'lake-model'
      ? { thresholdUs: source.file.meta.labelThresholdUs, shape: source.file.meta.shape }
      : undefined,
  );
  return {
    predictors: Array.from({ length: deviceCount }, (_, d) => made[made.length === 1 ? 0 : d]),
    paths,
    falseSubmitPct: pooledFalseSubmitPct(counts),
    labels: Array.from({ length: deviceCount }, (_, d) => labels[labels.length === 1 ? 0 : d]),
    models: Array.from({ length: deviceCount }, (_, d) => ({ model: loaded[loaded.length === 1 ? 0 : d]! })),
  };
}

async function replayCommand(flags: ReplayFlags): Promise<void> {
  const specs = parsePolicyList(flags.policies);
  const seed = parseSeedOption('--seed', flags.seed);
  const warmUpS = parseNumberOption('--warm-up', flags.warmUp, 0);
  const quiet = flags.json === true;
  // Refuse what cannot run before any device is opened or created.
  if (specs.some((s) => s.kind === 'greedy-oracle'))
    throw usageError(
      "the greedy oracle needs the devices' future: it runs on simulated devices only (lake simulate)",
    );
  const deviceCount = deviceNames(flags).length;
  if (flags.retrain === true && !specs.some((s) => s.kind === 'linnos'))
    throw usageError('--retrain retrains the linnos policies: give --policies linnos or linnos+hl');
  let models: LoadedModels | undefined;
  if (specs.some((s) => s.kind === 'linnos'))
    models = await loadModels(flags.model, deviceCount, flags.modelBackend);
  let workload: OpenedWorkload;
  let retraining: OnlineRetraining | undefined;
  try {
    // Refused (a model file without its label threshold) before any device is opened or created.
    if (flags.retrain === true && models !== undefined) retraining = replayRetraining(models, seed);
    workload = await openWorkload(flags, {
      inputs: splitList(flags.model ?? '').map((path) => ({ flag: '--model', path })),
      ...(flags.out !== undefined ? { outputs: [reportOutput(flags.out)] } : {}),
    });
  } catch (error) {
    for (const p of models?.predictors ?? []) if (p !== undefined && !p.disposed) p.dispose();
    throw error;
  }
  const { devices, arrivals } = workload;
  const linnos =
    models !== undefined
      ? linnosPolicyFactory(models.predictors, models.falseSubmitPct, retraining, { models: models.models })
      : undefined;
  try {
    let progress: Progress | undefined;
    const preparation: RunPreparation = { warmUpIos: 0, synced: 0, buffered: [] };
    const runs = await runRealPolicies(
      {
        arrivals,
        devices,
        specs,
        seed,
        ...engineSettings(workload),
        ...(linnos !== undefined ? { makePolicy: linnos.makePolicy } : {}),
        onWarning: warn,
        warmUpMs: warmUpS * 1000,
        onRunStart: (spec, ios) => {
          progress?.stop();
          progress = createProgress({ label: `replay ${spec.name}`, total: ios, quiet });
        },
        onProgress: (_spec, arrived) => progress?.update(arrived),
      },
      preparation,
    );
    progress?.stop();
    if (!quiet) for (const run of runs) process.stderr.write(`${runLine(run)}\n`);
    const description = workloadDescription(workload);
    const params = {
      command: 'lake replay',
      workload: description,
      devices: devices.map((d) => d.path).join(', '),
      io:
        workload.cluster !== undefined
          ? `librados aio (${workload.cluster.confPath})`
          : devices.every((d) => d.direct)
            ? 'O_DIRECT'
            : devices.some((d) => d.direct)
              ? 'mixed'
              : 'buffered',
      ...(workload.prepared !== undefined ? { prepared: describePrepared(workload.prepared) } : {}),
      backend: runs[0]?.result.backend ?? workload.backend,
      queueDepth: workload.queueDepth,
      policies: specs.map((s) => s.name).join(', '),
      seed,
      revokeCostUs: workload.revokeCostUs,
      lateAfterUs: workload.lateAfterUs,
      warmUp: `${preparation.warmUpIos} I/Os (first ${warmUpS} s, baseline, unmeasured)`,
      ...(models !== undefined ? { models: models.paths.join(', ') } : {}),
    };
    const json = {
      tool: 'lake',
      command: 'replay',
      params,
      devices: devices.map(deviceJson),
      policies: Object.fromEntries(
        runs.map((run) => [
          run.spec.name,
          { ...policyJson(run, policyReport(run), describeRealDevice), replay: replayJson(run) },
        ]),
      ),
      ...(linnos !== undefined && linnos.policies.length > 0
        ? {
            linnos: {
              falseSubmitRatePct: models?.falseSubmitPct !== undefined ? round3(models.falseSubmitPct) : null,
              hedgePercentile: round3(linnos.hedgePercentile),
              online: Object.fromEntries(linnos.policies.map((p) => [p.name, p.stats])),
              ...(flags.retrain === true ? { retraining: retrainingJson(linnos.policies) } : {}),
            },
          }
        : {}),
    };
    await emitRunReport({
      title: 'lake replay: read latency by admission policy on real devices',
      subtitle: `${description} on ${devices.map((d) => d.path).join(', ')}`,
      params,
      runs,
      json,
      extraTables: [timingTable(runs)],
      extraMarkdown: kernelMarkdown(runs),
      ...(flags.out !== undefined ? { outDir: flags.out } : {}),
      jsonMode: quiet,
    });
  } finally {
    await linnos?.close();
    for (const p of models?.predictors ?? []) if (p !== undefined && !p.disposed) p.dispose();
    for (const d of devices) d.close();
    await workload.cluster?.close();
  }
}

/** --retrain: each device's label threshold and shape from its lake model file; a retrain runs in a worker. */
function replayRetraining(models: LoadedModels, seed: number): OnlineRetraining {
  const shapes: Record<string, LinnosShape> = {
    '31-256-2': 'nn',
    '31-256-256-2': 'nn+1',
    '31-256-256-256-2': 'nn+2',
  };
  const labels = models.labels.map((label, d) => {
    const path = models.paths[models.paths.length === 1 ? 0 : d];
    const shape = label !== undefined ? shapes[label.shape] : undefined;
    if (label?.thresholdUs === undefined || shape === undefined)
      throw usageError(
        `--retrain needs lake model files that record their label threshold and a LinnOS shape: ${path} does not`,
      );
    return { thresholdUs: label.thresholdUs, shape };
  });
  return {
    thresholdsUs: labels.map((l) => l.thresholdUs),
    options: { seed, shape: labels[0]!.shape },
    makeTrainer: () => new WorkerTrainer(),
  };
}

export function workloadDescription(w: OpenedWorkload): string {
  const a = w.arrivals;
  const spanS = a.count > 0 ? (a.arrivalUs[a.count - 1]! - a.arrivalUs[0]!) / 1e6 : 0;
  return `${w.tracePaths.join(', ')}: ${a.count} I/Os (${a.count - a.writes} reads) over ${spanS.toFixed(1)} s${
    w.rateScale !== 1 ? ` at ${w.rateScale}x rate` : ''
  }${w.durationS !== undefined ? `, first ${w.durationS} s` : ''}`;
}

/** What a report says of a device: a file, a block device, or a Ceph replica pool. */
export interface DescribedDevice {
  readonly path: string;
  readonly kind: string;
  readonly capacityBytes: number;
  readonly blockBytes: number;
  readonly direct: boolean;
  readonly created: boolean;
}

export function deviceJson(d: DescribedDevice): Record<string, unknown> {
  return {
    path: d.path,
    kind: d.kind,
    capacityBytes: d.capacityBytes,
    blockBytes: d.blockBytes,
    direct: d.direct,
    created: d.created,
  };
}

function describeRealDevice(run: PolicyRun, i: number): unknown {
  const real = run as RealPolicyRun;
  const time = real.result.deviceTime[i];
  return {
    name: run.devices[i]!.name,
    deviceTime: time
      ? {
          reads: time.reads,
          readMeanUs: round3(time.readMeanUs),
          writes: time.writes,
          writeMeanUs: round3(time.writeMeanUs),
        }
      : null,
  };
}

export function replayJson(run: RealPolicyRun): Record<string, unknown> {
  const r = run.result;
  return {
    backend: r.backend,
    queueDepth: r.queueDepth,
    ios: r.ios,
    wallMs: round3(r.wallMs),
    late: r.late,
    lateFraction: round3(r.lateFraction * 1000) / 1000,
    lateAfterUs: r.lateAfterUs,
    slack: r.slack,
    lagUs: {
      mean: round3(r.lag.meanUs),
      p50: round3(r.lag.p50Us),
      p99: round3(r.lag.p99Us),
      max: round3(r.lag.maxUs),
    },
    cancelledHedges: r.cancelledHedges,
    ignoredCompletions: r.ignoredCompletions,
    reorderedArrivals: r.reorderedArrivals,
    ioErrors: r.ioErrors,
    ...(r.firstError !== undefined ? { firstError: r.firstError } : {}),
    kernel: run.kernel.map((k) => ({
      device: k.name,
      reads: k.reads,
      readMeanUs: round3(k.readMeanUs),
      writes: k.writes,
      writeMeanUs: round3(k.writeMeanUs),
    })),
  };
}

function runLine(run: RealPolicyRun): string {
  const r = run.result;
  return `${run.spec.name}: ${r.ios} I/Os in ${(r.wallMs / 1000).toFixed(1)} s on ${r.backend}, late ${(r.lateFraction * 100).toFixed(2)}% (>${r.lateAfterUs} us), lag p99 ${r.lag.p99Us.toFixed(0)} us${r.ioErrors > 0 ? `, ${r.ioErrors} I/O ERRORS (${r.firstError})` : ''}`;
}

function timingTable(runs: readonly RealPolicyRun[]): Table {
  return {
    title: 'timing on the wall clock (late: taken up after its time + the --late-after allowance)',
    headers: [
      'policy',
      'backend',
      'wall (s)',
      'late',
      'lag p50 (us)',
      'lag p90 (us)',
      'lag p99 (us)',
      'slack',
      'revokes',
      'hedges cancelled',
      'I/O errors',
    ],
    rows: runs.map((run) => {
      const r = run.result;
      return [
        run.spec.name,
        r.backend,
        (r.wallMs / 1000).toFixed(2),
        `${(r.lateFraction * 100).toFixed(2)}%`,
        r.lag.p50Us.toFixed(1),
        r.lag.p90Us.toFixed(1),
        r.lag.p99Us.toFixed(1),
        String(r.slack),
        String(r.revokes),
        String(r.cancelledHedges),
        String(r.ioErrors),
      ];
    }),
  };
}

/** lake's device times beside the kernel's own (/proc/diskstats) for the same runs. */
export function kernelMarkdown(runs: readonly RealPolicyRun[]): string {
  const rows: string[] = [];
  for (const run of runs) {
    let reads = 0;
    let readUs = 0;
    let writes = 0;
    let writeUs = 0;
    for (const t of run.result.deviceTime) {
      reads += t.reads;
      readUs += t.reads * t.readMeanUs;
      writes += t.writes;
      writeUs += t.writes * t.writeMeanUs;
    }
    for (const k of run.kernel) {
      rows.push(
        `| ${run.spec.name} | ${k.name} | ${reads} | ${(readUs / Math.max(1, reads)).toFixed(1)} | ${k.reads} | ${k.readMeanUs.toFixed(1)} | ${writes} | ${(writeUs / Math.max(1, writes)).toFixed(1)} | ${k.writes} | ${k.writeMeanUs.toFixed(1)} |`,
      );
    }
  }
  if (rows.length === 0) return '';
  return [
    "### Device time: lake vs the kernel (/proc/diskstats counts every I/O on the disk, other processes' too)",
    '',
    '| policy | disk | lake reads | lake read mean (us) | kernel reads | kernel read mean (us) | lake writes | lake write mean (us) | kernel writes | kernel write mean (us) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}
