import type { LinnosShape } from '../models/dense.js';
import { backendByName } from './backends/catalog.js';
import type { BackendKind, BackendName } from './backends/types.js';
import { LakeLib } from './lib/lake-lib.js';
import type { LakeLibOptions } from './lib/types.js';
import { calibrateLinnos, syntheticLinnosModel } from './linnos/calibrate.js';
import {
  backendCalibration,
  type CalibrationTable,
  DEFAULT_CALIBRATION_SIZES,
} from './policy/calibration.js';
import { LAKE_BATCHING, LINNOS_SHAPES } from './policy/constants.js';

/** One backend as `lake backends` reports it. */
export interface BackendSummary {
  name: BackendName;
  kind: BackendKind;
  usable: boolean;
  /** Why it cannot run here; absent when usable. */
  reason?: string;
  capabilities: string[];
  description: string;
  /** Not used by lakeD, but `lake backends --verify` runs its kernels (a software GPU adapter). */
  verifiable?: boolean;
  /** Calibrated crossover per model: the smallest batch from which it beats inline; null = never (or unusable). */
  crossovers: Record<LinnosShape, number | null>;
}

export interface BackendsReport {
  backends: BackendSummary[];
  /** The measured tables, one per model. */
  calibration: CalibrationTable[];
  /** LAKE's hard-coded thresholds, for comparison. */
  lakePaperThresholds: Record<LinnosShape, number>;
  /** The largest batch calibrated. */
  maxBatch: number;
  node: string;
}

export interface BackendsReportOptions {
  /** Calibrate batches up to this size (default 1024). */
  maxBatch?: number;
  /** Rounds per batch size (default 5). */
  trials?: number;
  lakeLibOptions?: LakeLibOptions;
  /** Told before each model is calibrated. */
  onModel?: (shape: LinnosShape) => void;
}

/**
 * Every backend lake knows, whether it is usable here and why not, and its crossover per LinnOS model
 * measured now: lakeLib is opened, a seeded NN, NN+1 and NN+2 are loaded on every usable backend, and
 * calibration times them against inline inference (src/lake/policy/calibration.ts).
 */
export async function backendsReport(options: BackendsReportOptions = {}): Promise<BackendsReport> {
  const maxBatch = options.maxBatch ?? 1024;
  const sizes = DEFAULT_CALIBRATION_SIZES.filter((s) => s <= maxBatch);
  if (sizes[sizes.length - 1] !== maxBatch && maxBatch >= 1) sizes.push(maxBatch);
  const lib = await LakeLib.open(options.lakeLibOptions);
  try {
    // detect() where a backend has one: it starts the runtime and names the adapter, or why there is none.
    const reports = lib.listBackends().map((report) => backendByName(report.name).detect?.() ?? report);
    const calibration: CalibrationTable[] = [];
    for (const shape of LINNOS_SHAPES) {
      options.onModel?.(shape);
      calibration.push(
        calibrateLinnos(lib, syntheticLinnosModel(shape), {
          name: shape,
          batchSizes: sizes,
          ...(options.trials !== undefined ? { trials: options.trials } : {}),
        }),
      );
    }
    const backends = reports.map((report): BackendSummary => {
      const crossovers = Object.fromEntries(
        LINNOS_SHAPES.map((shape, i) => [
          shape,
          report.available ? (backendCalibration(calibration[i]!, report.name)?.crossover ?? null) : null,
        ]),
      ) as Record<LinnosShape, number | null>;
      return {
        name: report.name,
        kind: report.kind,
        usable: report.available,
        ...(report.reason !== undefined ? { reason: report.reason } : {}),
        ...(report.verifiable !== undefined ? { verifiable: report.verifiable } : {}),
        capabilities: [...report.capabilities],
        description: report.description,
        crossovers,
      };
    });
    return {
      backends,
      calibration,
      lakePaperThresholds: {
        nn: LAKE_BATCHING.nn.paperThreshold,
        'nn+1': LAKE_BATCHING['nn+1'].paperThreshold,
        'nn+2': LAKE_BATCHING['nn+2'].paperThreshold,
      },
      maxBatch: sizes[sizes.length - 1]!,
      node: process.version,
    };
  } finally {
    await lib.close();
  }
}
