import { LINNOS_FEATURES } from '../../linnos/features.js';
import { type DenseModel, type LinnosShape, linnosLayerSizes } from '../../models/dense.js';
import { Random } from '../../random.js';
import type { LakeLib } from '../lib/lake-lib.js';
import {
  type CalibrateOptions,
  type CalibrationTable,
  calibrate,
  DEFAULT_CALIBRATION_SIZES,
} from '../policy/calibration.js';
import { LinnosBatchRunner } from './batch-runner.js';

export interface CalibrateLinnosOptions extends CalibrateOptions {
  /** The model's name in the table ('nn', 'nn+1', 'nn+2'). */
  name: string;
  /** Seed of the digit vectors timed (default 1). */
  seed?: number;
}

/**
 * Measures a LinnOS model's calibration table on this machine: its batch runner (inline predictor and the
 * model loaded on every lakeD backend) times batches of seeded random digit vectors at each size.
 */
export function calibrateLinnos(
  lib: LakeLib,
  model: DenseModel,
  options: CalibrateLinnosOptions,
): CalibrationTable {
  const sizes = options.batchSizes ?? DEFAULT_CALIBRATION_SIZES;
  const capacity = Math.max(...sizes);
  const runner = LinnosBatchRunner.open(lib, model, { name: options.name, capacity });
  try {
    const random = new Random(options.seed ?? 1);
    const input = runner.input;
    for (let i = 0; i < capacity * LINNOS_FEATURES; i++) input[i] = random.int(10);
    return calibrate(runner, { ...options, batchSizes: sizes });
  } finally {
    runner.close();
  }
}

/**
 * A LinnOS model of the given shape with seeded random weights: what calibration times when no trained
 * model is at hand (`lake backends`, benchmarks). Inference time does not depend on the weights' values.
 */
export function syntheticLinnosModel(shape: LinnosShape, seed = 1): DenseModel {
  const random = new Random(seed);
  const sizes = linnosLayerSizes(shape);
  const layers = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inputs = sizes[l]!;
    const outputs = sizes[l + 1]!;
    const spread = Math.sqrt(2 / inputs) / (l === 0 ? 4.5 : 1);
    const weights = Float32Array.from({ length: inputs * outputs }, () => random.normal() * spread);
    const bias = Float32Array.from({ length: outputs }, () => random.normal() * 0.1);
    layers.push({ inputs, outputs, weights, bias });
  }
  return { layers };
}
