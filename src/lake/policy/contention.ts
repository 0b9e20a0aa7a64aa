import { LakeError } from '../../errors.js';
import type { BackendReport } from '../backends/types.js';
import { backendCalibration, batchCostUs, type CalibrationTable } from './calibration.js';
import { INLINE, UTILISATION_THRESHOLD } from './constants.js';
import { type GpuSharingMode, PRIORITY_STREAM_BACKENDS } from './gpu-mode.js';
import {
  type BackendState,
  defaultPlacement,
  defaultReason,
  type GuardedPlacement,
  type PlacementFault,
  PlacementGuard,
  type PlacementInput,
  type PlacementReason,
} from './placement.js';
import type { SlowdownSignal } from './slowdown.js';
import type { UtilisationMonitor } from './utilisation.js';

export interface ContentionPolicyOptions {
  /** One calibration table per model. */
  tables: readonly CalibrationTable[];
  /** Every backend with its capability detection (LakeLib.listBackends()). */
  backends: readonly BackendReport[];
  /** lakeD's utilisation (default: none sampled, i.e. never busy). */
  monitor?: UtilisationMonitor;
  /**
   * Per backend, how busy other processes keep its device (the GPU's utilisation from NVML for cuda):
   * a backend counts the higher of lakeD's and its device's foreign load.
   */
  deviceMonitors?: Readonly<Partial<Record<string, UtilisationMonitor>>>;
  /**
   * 'yield' (LAKE's, the default): a device that others keep busy is skipped. 'priority': lake's kernels
   * run on a high-priority stream (the device opens it), so device load no longer moves batches off it;
   * lakeD's own load still does (src/lake/policy/gpu-mode.ts).
   */
  gpuMode?: GpuSharingMode;
  /**
   * Per GPU backend, the slowdown signal (src/lake/policy/slowdown.ts): lake's own batches there running
   * slower than calibrated while another process is on the device count as foreign load 1 at once. It counts
   * in both modes: in 'priority' it is the sign that the high-priority stream did not keep lake's latency.
   * The caller reports each batch's time with observeBatch.
   */
  slowdown?: Readonly<Partial<Record<string, SlowdownSignal>>>;
  /** A user placement policy (validated on every call); default: defaultPlacement. */
  user?: GuardedPlacement;
  /** Told once of the first fault of the user policy. */
  onFault?: (fault: PlacementFault) => void;
  /** Where lakeD's device faults are learned (the LakeLib the batches run through). */
  deviceFaults?: DeviceFaultSource;
}

/**
 * Devices lakeD reported faulted (LakeLib implements it): `faultEpoch` changes when the list grows, so the
 * policy reads one number per decision and the list only after a fault.
 */
export interface DeviceFaultSource {
  readonly faultEpoch: number;
  deviceFaults(): readonly { readonly backend: string; readonly reason: string }[];
}

/** A backend the policy no longer places on, and why. */
export interface BackendFault {
  readonly backend: string;
  readonly reason: string;
}

/** Where a closing batch runs, what that costs by the calibration, and why. */
export interface PlacementChoice {
  placement: string;
  costUs: number;
  reason: PlacementReason;
}

/**
 * LAKE's contention policy, the part that places a closed batch: the calibrated crossover between inline
 * and each backend, the utilisation check, and an optional user policy in place of the default. Batching
 * itself (window, maximum size) is the batcher's; the caller runs the batch where this says.
 */
export class ContentionPolicy {
  readonly monitor: UtilisationMonitor | undefined;
  readonly deviceMonitors: Readonly<Partial<Record<string, UtilisationMonitor>>>;
  readonly gpuMode: GpuSharingMode;
  readonly slowdown: Readonly<Partial<Record<string, SlowdownSignal>>>;
  readonly guard: PlacementGuard | undefined;
  readonly #tables = new Map<string, CalibrationTable>();
  readonly #reports: readonly BackendReport[];
  readonly #faultSource: DeviceFaultSource | undefined;
  #faultEpoch = 0;
  /** Why each backend is faulted, by report index (undefined: not faulted). */
  readonly #faults: (string | undefined)[];
  #worth: { model: string; skipped: number; value: number | null } | undefined;

  constructor(options: ContentionPolicyOptions) {
    for (const table of options.tables) this.#tables.set(table.model, table);
    this.#reports = options.backends;
    this.#faults = options.backends.map(() => undefined);
    this.#faultSource = options.deviceFaults;
    this.monitor = options.monitor;
    this.deviceMonitors = options.deviceMonitors ?? {};
    this.gpuMode = options.gpuMode ?? 'yield';
    this.slowdown = options.slowdown ?? {};
    this.guard = options.user === undefined ? undefined : new PlacementGuard(options.user, options.onFault);
  }

  table(model: string): CalibrationTable {
    const table = this.#tables.get(model);
    if (table === undefined) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `no calibration for model ${model} (have ${[...this.#tables.keys()].join(', ') || 'none'})`,
      );
    }
    return table;
  }

  /**
   * The backend's device faulted in lakeD (its accelerator gave up; its batches run on the CPU twin): from
   * now on it is not usable, and its reason is the fault. The policy's fault source calls this for each
   * fault it reports; true when the backend was not marked yet.
   */
  markFaulted(backend: string, reason: string): boolean {
    const index = this.#indexOf(backend);
    if (index < 0 || this.#faults[index] !== undefined) return false;
    this.#faults[index] = reason;
    this.#worth = undefined;
    return true;
  }

  /** Why the backend is marked faulted; undefined when it is not. */
  fault(backend: string): string | undefined {
    this.#learnFaults();
    const index = this.#indexOf(backend);
    return index < 0 ? undefined : this.#faults[index];
  }

  /** Every backend marked faulted. */
  faults(): BackendFault[] {
    this.#learnFaults();
    const faults: BackendFault[] = [];
    this.#reports.forEach((r, i) => {
      const reason = this.#faults[i];
      if (reason !== undefined) faults.push({ backend: r.name, reason });
    });
    return faults;
  }

  /**
   * Microseconds a batch of `batchSize` costs where it runs. On a faulted backend the CPU twin runs it:
   * cpu-wasm's kernel over every row, the work inline does, so inline's calibrated time (a lower bound:
   * the round trip to lakeD is not in it), never the GPU's calibrated time.
   */
  costUs(model: string, placement: string, batchSize: number): number {
    const table = this.table(model);
    if (placement !== INLINE && this.fault(placement) === undefined)
      return batchCostUs(table, placement, batchSize);
    return batchCostUs(table, INLINE, batchSize);
  }

  /** Every backend as the placement function sees it for a batch of `batchSize` of `model`. */
  backendStates(model: string, batchSize: number): BackendState[] {
    const table = this.table(model);
    const lakeD = this.monitor?.foreign() ?? 0;
    this.#learnFaults();
    return this.#reports.map((report, i) => {
      const foreign = Math.max(lakeD, this.#deviceForeign(report.name));
      const calibration = backendCalibration(table, report.name);
      const fault = this.#faults[i];
      const usable = report.available && calibration !== undefined && fault === undefined;
      const base = {
        name: report.name,
        kind: report.kind,
        usable,
        crossover: calibration?.crossover ?? null,
        batchUs: usable ? batchCostUs(table, report.name, batchSize) : undefined,
        utilisation: usable ? foreign : 0,
      };
      if (usable) return base;
      if (fault !== undefined)
        return {
          ...base,
          reason: `faulted in lakeD (${fault}); its batches run on the CPU path`,
          faulted: true as const,
        };
      return { ...base, reason: report.reason ?? `not calibrated for ${model}` };
    });
  }

  /** Places a closing batch of `batchSize` reads of `model` on a device with the given inter-arrival time. */
  choose(model: string, batchSize: number, interArrivalUs: number): PlacementChoice {
    const input = this.input(model, batchSize, interArrivalUs);
    let placement: string;
    let reason: PlacementReason;
    if (this.guard !== undefined) {
      const chosen = this.guard.choose(input);
      placement = chosen.placement;
      reason = chosen.faulted ? 'user-fallback' : 'user';
    } else {
      placement = defaultPlacement(input);
      reason = defaultReason(input, placement);
      if (this.#slowdownRaised() && defaultPlacement(this.#withoutSlowdown(input)) !== placement)
        reason = 'slowdown';
    }
    const costUs = placement === INLINE ? input.inlineUs : this.costUs(model, placement, batchSize);
    return { placement, costUs, reason };
  }

  /**
   * A batch ran on `placement`: its calibrated cost (the choice's costUs) and the wall time the caller
   * waited for it, us, and the clock when it ended (performance.now() ms, the monitors' clock). Feeds the
   * backend's slowdown signal, if it has one; a batch that faulted is not a timing and is not reported.
   */
  observeBatch(placement: string, calibratedUs: number, measuredUs: number, endMs: number): void {
    this.slowdown[placement]?.observe(calibratedUs, measuredUs, endMs);
  }

  input(model: string, batchSize: number, interArrivalUs: number): PlacementInput {
    const backends = this.backendStates(model, batchSize);
    let utilisation = 0;
    for (const b of backends) if (b.usable && b.utilisation > utilisation) utilisation = b.utilisation;
    return {
      batchSize,
      model,
      interArrivalUs,
      utilisation,
      inlineUs: batchCostUs(this.table(model), INLINE, batchSize),
      backends,
    };
  }

  /** Each backend's calibrated crossover for `model` (null: never wins, or not calibrated). */
  crossovers(model: string): Record<string, number | null> {
    const table = this.table(model);
    return Object.fromEntries(
      this.#reports.map((r) => [r.name, backendCalibration(table, r.name)?.crossover ?? null]),
    );
  }

  /**
   * The smallest batch worth holding reads back for: the lowest crossover among usable backends that other
   * clients do not keep busy; null when no backend wins at any batch size the table knows.
   */
  worthBatching(model: string): number | null {
    // Asked on every read: recomputed only when the model, the utilisation samples or the faults change.
    // `skipped` has bit i set when backend i is overloaded (lakeD's load, or others' on its device) or
    // faulted; no allocation per read.
    this.#learnFaults();
    const lakeDOverloaded = this.monitor?.overloaded() ?? false;
    const threshold = this.monitor?.threshold ?? UTILISATION_THRESHOLD;
    const reports = this.#reports;
    const faults = this.#faults;
    let skipped = 0;
    for (let i = 0, bit = 1; i < reports.length; i++, bit *= 2)
      if (lakeDOverloaded || faults[i] !== undefined || this.#deviceForeign(reports[i]!.name) > threshold)
        skipped += bit;
    const cached = this.#worth;
    if (cached !== undefined && cached.model === model && cached.skipped === skipped) return cached.value;
    let best: number | null = null;
    const table = this.table(model);
    for (let i = 0, bit = 1; i < reports.length; i++, bit *= 2) {
      const report = reports[i]!;
      if (Math.floor(skipped / bit) % 2 === 1 || !report.available) continue;
      const crossover = backendCalibration(table, report.name)?.crossover;
      if (crossover !== undefined && crossover !== null && (best === null || crossover < best))
        best = crossover;
    }
    this.#worth = { model, skipped, value: best };
    return best;
  }

  /** Marks what the fault source reported since the last look: one number compared per decision. */
  #learnFaults(): void {
    const source = this.#faultSource;
    if (source === undefined || source.faultEpoch === this.#faultEpoch) return;
    this.#faultEpoch = source.faultEpoch;
    for (const fault of source.deviceFaults()) this.markFaulted(fault.backend, fault.reason);
  }

  /**
   * Other processes' load on a backend's device: 1 while its slowdown signal holds (lake's own batches there
   * are slowed by another process), else NVML's reading; in 'priority' mode, where lake's stream outranks
   * the others, their load alone is not counted, but a slowdown is: lake's batches are slow all the same.
   */
  #deviceForeign(backend: string): number {
    if (this.slowdown[backend]?.contended() === true) return 1;
    return this.#monitoredForeign(backend);
  }

  /** Other processes' load on a backend's device as its monitor reads it (none in 'priority' mode). */
  #monitoredForeign(backend: string): number {
    if (this.gpuMode === 'priority' && PRIORITY_STREAM_BACKENDS.includes(backend)) return 0;
    return this.deviceMonitors[backend]?.foreign() ?? 0;
  }

  /** The report index of a backend, -1 when the policy does not know it (a loop: asked per GPU batch). */
  #indexOf(backend: string): number {
    const reports = this.#reports;
    for (let i = 0; i < reports.length; i++) if (reports[i]!.name === backend) return i;
    return -1;
  }

  /** Whether any backend's slowdown signal is raised (one property read each; no allocation). */
  #slowdownRaised(): boolean {
    for (const report of this.#reports) if (this.slowdown[report.name]?.raised === true) return true;
    return false;
  }

  /**
   * The input as NVML and lakeD alone would give it: each raised backend's utilisation from its monitors.
   * Built only while a signal is raised, to tell whether the signal moved the batch.
   */
  #withoutSlowdown(input: PlacementInput): PlacementInput {
    const lakeD = this.monitor?.foreign() ?? 0;
    const backends = input.backends.map((b) => {
      if (this.slowdown[b.name]?.raised !== true || !b.usable) return b;
      return { ...b, utilisation: Math.max(lakeD, this.#monitoredForeign(b.name)) };
    });
    return { ...input, backends };
  }
}
