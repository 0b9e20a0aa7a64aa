import { DEFAULT_REVOKE_COST_US, type ReplayResult, replay } from '../../array/engine.js';
import type { AdmissionPolicy } from '../../array/policy.js';
import { LakeError } from '../../errors.js';
import type { Device } from '../../flash/types.js';
import { type DenseModel, type LinnosShape, linnosLayerSizes } from '../../models/dense.js';
import { LatencyRecorder } from '../../report/histogram.js';
import type { Table } from '../../report/table.js';
import type { LatencySummary } from '../../report/types.js';
import type { TraceRecord } from '../../trace/types.js';
import { type Nvml, NvmlUtilisationSource, openCudaDeviceMonitor } from '../backends/cuda/nvml.js';
import type { BackendReport } from '../backends/types.js';
import { LakeLib } from '../lib/lake-lib.js';
import type { LakeLibOptions, LakeLibStats } from '../lib/types.js';
import type { BatchingOptions } from '../policy/batcher.js';
import {
  backendCalibration,
  type CalibrateOptions,
  type CalibrationTable,
  DEFAULT_CALIBRATION_SIZES,
  nominalCalibration,
} from '../policy/calibration.js';
import { INLINE, LAKE_BATCHING } from '../policy/constants.js';
import { ContentionPolicy } from '../policy/contention.js';
import { gpuSharingModeFromEnv } from '../policy/gpu-mode.js';
import type { GuardedPlacement, PlacementFault } from '../policy/placement.js';
import { type SlowdownReport, SlowdownSignal } from '../policy/slowdown.js';
import { IsolatedPolicy } from '../policy/user-policy.js';
import { UtilisationMonitor, type UtilisationMonitorOptions } from '../policy/utilisation.js';
import { FeatureRegistry } from '../registry/feature-registry.js';
import { LinnosBatchRunner } from './batch-runner.js';
import { calibrateLinnos } from './calibrate.js';
import { type LakeBatchEvent, LakeLinnosPolicy, type LakeLinnosStats } from './policy.js';

/**
 * The runs of LAKE's end-to-end LinnOS table, per model shape:
 * - 'cpu': every read predicted inline the moment it arrives (LAKE's "NN CPU");
 * - 'lakeD': LAKE's block-layer batching (every read waits for its window or a full batch) and every
 *   batch on lakeD (LAKE's "NN GPU");
 * - 'lake': the contention policy: lone reads inline at once, batches from the calibrated crossover on
 *   lakeD, inline while others keep lakeD busy (or a user policy).
 */
export type LakeVariant = 'cpu' | 'lakeD' | 'lake';
export const LAKE_VARIANTS: readonly LakeVariant[] = ['cpu', 'lakeD', 'lake'];

export interface LakeShapeModels {
  shape: LinnosShape;
  /** One model per device (undefined: no model there, reads always submitted). */
  models: readonly (DenseModel | undefined)[];
}

export interface RunLakeLinnosOptions {
  shapes: readonly LakeShapeModels[];
  /** The stretch to replay; each call gives a fresh, identical stream. */
  arrivals: () => Iterable<TraceRecord>;
  /** Fresh, identical devices for each replay. */
  makeDevices: () => Device[];
  revokeCostUs?: number;
  variants?: readonly LakeVariant[];
  /** A lakeLib to use (left open); default: one opened with `lakeLibOptions` and closed at the end. */
  lib?: LakeLib;
  lakeLibOptions?: LakeLibOptions;
  /** Calibration tables to use instead of measuring (one per shape, by model name): reproducible runs. */
  calibration?: readonly CalibrationTable[];
  /**
   * Crossovers to use instead of measuring (`--crossovers`), per shape: the batch size from which lakeD
   * wins, or null for never. Each such shape gets a nominal table (nominalCalibration), and the
   * utilisation check is off unless `utilisation` asks for it: nothing read from this machine's clock
   * decides placement, so two runs with one seed and the same crossovers are identical.
   */
  crossovers?: Partial<Record<LinnosShape, number | null>>;
  /** How to measure the tables that are not given (default sizes up to 64). */
  calibrate?: CalibrateOptions;
  /** A user placement policy for the 'lake' runs (loadUserPolicy). */
  userPolicy?: GuardedPlacement;
  onUserPolicyFault?: (fault: PlacementFault) => void;
  /** Batching per shape, over LAKE's defaults (window, max batch) and the 'likely' hold rule. */
  batching?: Partial<Record<LinnosShape, Partial<BatchingOptions>>>;
  /** lakeD utilisation sampling (default LAKE's 20 ms / 70%, none when `crossovers` are given); false: none. */
  utilisation?: UtilisationMonitorOptions | false;
  /**
   * NVML for the cuda backend's device (default: libnvidia-ml.so.1, opened where cuda is usable); read only
   * when utilisation is sampled. The run closes it.
   */
  nvml?: Nvml;
  onRunStart?: (shape: LinnosShape, variant: LakeVariant) => void;
  onBatch?: (shape: LinnosShape, variant: LakeVariant, event: LakeBatchEvent) => void;
}

export interface LakeVariantRun {
  shape: LinnosShape;
  variant: LakeVariant;
  /** e.g. 'nn/lake'. */
  name: string;
  /** 'auto' for the contention policy, else where every batch ran. */
  placement: string;
  batching: BatchingOptions;
  read: LatencySummary;
  revokes: number;
  replay: ReplayResult;
  stats: LakeLinnosStats;
  batches: number;
  meanBatch: number;
  largestBatch: number;
  /** Calibrated inference time charged per batch, mean, us. */
  meanInferenceUs: number;
  /** Wall-clock time per batch's inference call, mean, us. */
  meanWallUs: number;
  /** Mean virtual time a predicted read waited for its decision (batching + inference), us. */
  meanWaitUs: number;
}

export interface LakeShapeResult {
  shape: LinnosShape;
  calibration: CalibrationTable;
  crossovers: Record<string, number | null>;
  runs: LakeVariantRun[];
  /** Variants that could not run here, and why. */
  skipped: { variant: LakeVariant; reason: string }[];
}

/** How the user policy fared over the 'lake' runs. */
export interface UserPolicyReport {
  name: string;
  /** Calls it answered. */
  calls: number;
  /** Calls whose answer was a fault (a throw, a bad value, an overrun): the default decided instead. */
  faults: number;
  /** Batches the default decided because the policy had been stopped. */
  afterStop: number;
  firstFault?: string;
  /** Why it was stopped (it overran its budget at load or in a call), when it was. */
  stopped?: string;
  /** Its budgets, when it ran on its own thread (loadUserPolicy). */
  budgetUs?: number;
  loadBudgetMs?: number;
  /** Mean round trip of an answered call, us (a timing). */
  meanCallUs?: number;
}

/** A backend whose device faulted in lakeD: the policy stopped placing batches there. */
export interface LakeBackendFault {
  backend: string;
  reason: string;
  /** The run and batch index (LakeLinnosStats.backendFaults) it was learned at; absent: before the runs. */
  run?: string;
  batch?: number;
}

export interface LakeLinnosResult {
  baseline: LatencySummary;
  /** Detection at the start of the run (`backendFaults` says which faulted later). */
  backends: BackendReport[];
  /** Backends whose device faulted in lakeD, in calibration or a run, and when the policy learned it. */
  backendFaults: LakeBackendFault[];
  /** What each GPU's slowdown signal did over all the runs (none without NVML or utilisation sampling). */
  slowdown: SlowdownReport[];
  shapes: LakeShapeResult[];
  lakeLib: LakeLibStats;
  userPolicy?: UserPolicyReport;
  /**
   * The crossovers placement used, as `--crossovers` takes them back (e.g. 'nn=9,nn+1=4'): per shape the
   * smallest crossover among the usable backends, 'never' when none wins.
   */
  crossoversFlag: string;
  /** Whether they were given (nominal tables, no utilisation check) or measured on this machine. */
  crossoverSource: 'measured' | 'given';
  /** LAKE's end-to-end table: latency and inference placement per shape and run. */
  table: Table;
}

/** Batch sizes the demo calibrates (and builds nominal tables for): crossovers from 1 to 64. */
export const DEFAULT_DEMO_CALIBRATION_SIZES = DEFAULT_CALIBRATION_SIZES.filter((s) => s <= 64);

/**
 * LinnOS on LAKE end to end: replays the stretch under the baseline, then for each shape under each
 * variant, on fresh devices, with every prediction going through the feature registry and the contention
 * policy to inline or lakeD; returns latency and inference placement per run, and LAKE's table.
 */
export async function runLakeLinnos(options: RunLakeLinnosOptions): Promise<LakeLinnosResult> {
  const variants = options.variants ?? LAKE_VARIANTS;
  const revokeCostUs = options.revokeCostUs ?? DEFAULT_REVOKE_COST_US;
  const lib = options.lib ?? (await LakeLib.open(options.lakeLibOptions));
  const runners: LinnosBatchRunner[] = [];
  let gpuLoad: GpuLoad | undefined;
  try {
    const backends = lib.listBackends();
    const baseline = replayOnce(options, { name: 'baseline' }, revokeCostUs).read;
    const tables = calibrationTables(lib, options, backends);
    const sampleUtilisation =
      options.utilisation !== undefined ? options.utilisation !== false : options.crossovers === undefined;
    const monitor = sampleUtilisation
      ? new UtilisationMonitor(lib, options.utilisation === undefined ? {} : options.utilisation || {})
      : undefined;
    // The GPU's own load from NVML (another process computing on it), where cuda runs: LAKE's check; and
    // lake's own cuda batches against their calibration, the signal that moves first.
    gpuLoad = monitor !== undefined ? openGpuLoad(backends, options, tables) : undefined;
    const contention = new ContentionPolicy({
      tables,
      backends,
      gpuMode: gpuSharingModeFromEnv(),
      ...(gpuLoad !== undefined
        ? {
            deviceMonitors: { cuda: gpuLoad.monitor },
            ...(gpuLoad.slowdown !== undefined ? { slowdown: { cuda: gpuLoad.slowdown } } : {}),
          }
        : {}),
      ...(monitor !== undefined ? { monitor } : {}),
      ...(options.userPolicy !== undefined ? { user: options.userPolicy } : {}),
      ...(options.onUserPolicyFault !== undefined ? { onFault: options.onUserPolicyFault } : {}),
      deviceFaults: lib,
    });
    const registry = new FeatureRegistry();
    const shapes: LakeShapeResult[] = [];
    for (const [i, { shape, models }] of options.shapes.entries()) {
      const batching: BatchingOptions = {
        windowUs: LAKE_BATCHING[shape].windowUs,
        maxBatch: LAKE_BATCHING[shape].maxBatch,
        hold: 'likely',
        ...options.batching?.[shape],
      };
      const shapeRunners = models.map((model) => {
        if (model === undefined) return undefined;
        const runner = LinnosBatchRunner.open(lib, model, { name: shape, capacity: batching.maxBatch });
        runners.push(runner);
        return runner;
      });
      const backend = shapeRunners.find((r) => r !== undefined)?.backends[0]?.name;
      const result: LakeShapeResult = {
        shape,
        calibration: tables[i]!,
        crossovers: contention.crossovers(shape),
        runs: [],
        skipped: [],
      };
      for (const variant of variants) {
        const plan = variantPlan(variant, batching, backend);
        if (plan === undefined) {
          const reasons = backends.filter((b) => !b.available).map((b) => `${b.name}: ${b.reason ?? ''}`);
          result.skipped.push({ variant, reason: `no lakeD backend is usable (${reasons.join('; ')})` });
          continue;
        }
        options.onRunStart?.(shape, variant);
        const onBatch = options.onBatch;
        const policy = new LakeLinnosPolicy({
          name: `${shape}/${variant}`,
          model: shape,
          runners: shapeRunners,
          contention,
          registry,
          batching: plan.batching,
          placement: plan.placement,
          ...(onBatch !== undefined ? { onBatch: (event) => onBatch(shape, variant, event) } : {}),
        });
        const run = replayOnce(options, policy, revokeCostUs);
        result.runs.push(variantRun(shape, variant, plan, policy.stats, run.read, run.result));
      }
      for (const runner of shapeRunners) runner?.close();
      shapes.push(result);
    }
    const userPolicy = userPolicyReport(contention, options.userPolicy);
    return {
      baseline,
      backends,
      backendFaults: backendFaults(contention, shapes),
      slowdown: gpuLoad?.slowdown !== undefined ? [{ ...gpuLoad.slowdown.report }] : [],
      shapes,
      lakeLib: lib.stats(),
      ...(userPolicy !== undefined ? { userPolicy } : {}),
      crossoversFlag: crossoversFlag(tables, backends),
      crossoverSource: options.crossovers !== undefined ? 'given' : 'measured',
      table: lakeTable(baseline, shapes),
    };
  } finally {
    if (gpuLoad !== undefined) gpuLoad.source.close();
    else if (options.nvml !== undefined) options.nvml.close();
    if (options.lib === undefined) await lib.close();
    else for (const runner of runners) runner.close();
  }
}

interface GpuLoad {
  monitor: UtilisationMonitor;
  source: NvmlUtilisationSource;
  /** Absent when a table is nominal: its figures are not this machine's, so no batch can be held to them. */
  slowdown: SlowdownSignal | undefined;
}

/** NVML's view of the cuda device and the slowdown signal over it; undefined where cuda or NVML is missing. */
function openGpuLoad(
  backends: readonly BackendReport[],
  options: RunLakeLinnosOptions,
  tables: readonly CalibrationTable[],
): GpuLoad | undefined {
  const monitorOptions = options.utilisation || {};
  let opened: { monitor: UtilisationMonitor; source: NvmlUtilisationSource } | undefined;
  if (options.nvml === undefined) opened = openCudaDeviceMonitor(backends, monitorOptions);
  else if (backends.some((b) => b.name === 'cuda' && b.available)) {
    const source = new NvmlUtilisationSource(options.nvml);
    opened = { monitor: new UtilisationMonitor(source, monitorOptions), source };
  }
  if (opened === undefined) return undefined;
  const timed = tables.every((t) => t.source !== 'nominal');
  const slowdown = timed
    ? new SlowdownSignal({ backend: 'cuda', monitor: opened.monitor, processes: opened.source })
    : undefined;
  return { ...opened, slowdown };
}

/**
 * One calibration table per shape: given (`calibration`), nominal from a given crossover (`crossovers`), or
 * measured on this machine.
 */
function calibrationTables(
  lib: LakeLib,
  options: RunLakeLinnosOptions,
  backends: readonly BackendReport[],
): CalibrationTable[] {
  const usableBackends = backends
    .filter((b) => b.available)
    .map((b) => ({ backend: b.name, mode: b.kind === 'cpu' ? ('split' as const) : ('offload' as const) }));
  return options.shapes.map((s) => {
    const given = options.calibration?.find((t) => t.model === s.shape);
    if (given !== undefined) return given;
    const crossover = options.crossovers?.[s.shape];
    if (crossover !== undefined) {
      const sizes = linnosLayerSizes(s.shape);
      let multiplyAccumulates = 0;
      for (let l = 0; l + 1 < sizes.length; l++) multiplyAccumulates += sizes[l]! * sizes[l + 1]!;
      return nominalCalibration({
        model: s.shape,
        multiplyAccumulates,
        crossover,
        backends: usableBackends,
        batchSizes: options.calibrate?.batchSizes ?? DEFAULT_DEMO_CALIBRATION_SIZES,
      });
    }
    const model = s.models.find((m) => m !== undefined);
    if (model === undefined) throw new LakeError('LAKE_E_USAGE', `no model for shape ${s.shape}`);
    return calibrateLinnos(lib, model, {
      name: s.shape,
      batchSizes: DEFAULT_DEMO_CALIBRATION_SIZES,
      ...options.calibrate,
    });
  });
}

/** Every backend the policy marked faulted, with the run and batch it learned it at (if in a run). */
function backendFaults(contention: ContentionPolicy, shapes: readonly LakeShapeResult[]): LakeBackendFault[] {
  return contention.faults().map(({ backend, reason }) => {
    for (const shape of shapes) {
      for (const run of shape.runs) {
        const at = run.stats.backendFaults[backend];
        if (at !== undefined) return { backend, reason, run: run.name, batch: at.batch };
      }
    }
    return { backend, reason };
  });
}

/** What the user placement policy did, when one placed the batches. */
function userPolicyReport(
  contention: ContentionPolicy,
  userPolicy: GuardedPlacement | undefined,
): UserPolicyReport | undefined {
  const guard = contention.guard;
  if (guard === undefined) return undefined;
  const isolated = userPolicy instanceof IsolatedPolicy ? userPolicy.stats() : undefined;
  return {
    name: guard.policy.name,
    calls: guard.calls,
    faults: guard.faults,
    afterStop: guard.afterStop,
    ...(guard.firstFault !== undefined ? { firstFault: guard.firstFault } : {}),
    ...(guard.stopped !== undefined ? { stopped: guard.stopped } : {}),
    ...(isolated !== undefined
      ? { budgetUs: isolated.budgetUs, loadBudgetMs: isolated.loadBudgetMs, meanCallUs: isolated.meanCallUs }
      : {}),
  };
}

/**
 * The crossovers as `--crossovers` takes them: per table the smallest crossover among the usable
 * backends (what decides whether a batch is worth waiting for), 'never' when none wins.
 */
export function crossoversFlag(
  tables: readonly CalibrationTable[],
  backends: readonly BackendReport[],
): string {
  return tables
    .map((table) => {
      let best: number | null = null;
      for (const b of backends) {
        const c = b.available ? backendCalibration(table, b.name)?.crossover : undefined;
        if (c !== undefined && c !== null && (best === null || c < best)) best = c;
      }
      return `${table.model}=${best ?? 'never'}`;
    })
    .join(',');
}

interface VariantPlan {
  placement: string;
  batching: BatchingOptions;
}

function variantPlan(
  variant: LakeVariant,
  batching: BatchingOptions,
  backend: string | undefined,
): VariantPlan | undefined {
  switch (variant) {
    case 'cpu':
      return { placement: INLINE, batching: { ...batching, hold: 'never' } };
    case 'lakeD':
      return backend === undefined
        ? undefined
        : { placement: backend, batching: { ...batching, hold: 'always' } };
    case 'lake':
      return { placement: 'auto', batching };
  }
}

function replayOnce(
  options: RunLakeLinnosOptions,
  policy: AdmissionPolicy,
  revokeCostUs: number,
): { read: LatencySummary; result: ReplayResult } {
  const read = new LatencyRecorder();
  const result = replay(options.arrivals(), {
    devices: options.makeDevices(),
    policy,
    revokeCostUs,
    readLatency: read,
  });
  return { read: read.summary(), result };
}

function variantRun(
  shape: LinnosShape,
  variant: LakeVariant,
  plan: VariantPlan,
  stats: LakeLinnosStats,
  read: LatencySummary,
  result: ReplayResult,
): LakeVariantRun {
  let batches = 0;
  let largest = 0;
  stats.batchSizes.forEach((count, size) => {
    batches += count;
    if (count > 0) largest = size;
  });
  return {
    shape,
    variant,
    name: `${shape}/${variant}`,
    placement: plan.placement,
    batching: plan.batching,
    read,
    revokes: result.revokes,
    replay: result,
    stats,
    batches,
    meanBatch: batches > 0 ? stats.decisions / batches : 0,
    largestBatch: largest,
    meanInferenceUs: batches > 0 ? stats.chargedUs / batches : 0,
    meanWallUs: batches > 0 ? stats.wallUs / batches : 0,
    meanWaitUs: stats.decisions > 0 ? stats.waitedUs / stats.decisions : 0,
  };
}

function fixed(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

/** LAKE's end-to-end table: one row per shape and run, latency and where inference ran. */
export function lakeTable(baseline: LatencySummary, shapes: readonly LakeShapeResult[]): Table {
  const rows: string[][] = [
    ['baseline', '-', fixed(baseline.avgUs), fixed(baseline.p99Us), fixed(baseline.p999Us), '1.000'],
  ];
  for (const shape of shapes) {
    for (const run of shape.runs) {
      const inline = run.stats.decisionsBy[INLINE] ?? 0;
      const onLakeD = run.stats.decisions - inline;
      rows.push([
        run.shape,
        run.variant,
        fixed(run.read.avgUs),
        fixed(run.read.p99Us),
        fixed(run.read.p999Us),
        (run.read.avgUs / baseline.avgUs).toFixed(3),
        String(inline),
        String(onLakeD),
        String(run.batches),
        fixed(run.meanBatch, 2),
        String(run.largestBatch),
        fixed(run.meanInferenceUs, 2),
        fixed(run.meanWallUs, 2),
        fixed(run.meanWaitUs, 2),
        String(run.revokes),
      ]);
    }
  }
  const crossovers = shapes
    .map(
      (s) =>
        `${s.shape} ${Object.entries(s.crossovers)
          .map(([b, c]) => `${b} ${c ?? 'never'}`)
          .join(', ')}`,
    )
    .join('; ');
  return {
    title: `LinnOS on LAKE: read latency (us) and where inference ran (calibrated crossovers: ${crossovers})`,
    headers: [
      'model',
      'run',
      'avg',
      'p99',
      'p99.9',
      'avg vs baseline',
      'inline decisions',
      'lakeD decisions',
      'batches',
      'mean batch',
      'max batch',
      'inference us/batch',
      'wall us/batch',
      'wait us/read',
      'revokes',
    ],
    rows: rows.map((r) => (r.length < 15 ? [...r, ...new Array<string>(15 - r.length).fill('')] : r)),
  };
}
