/**
 * LinnOS offline, per device: replay records -> 31-digit vectors -> inflection-point labels (tangent method,
 * then the paper's refinement) -> a trained model -> a quantised predictor for serving. One model per device,
 * as LinnOS trains them.
 */
import { DEFAULT_REVOKE_COST_US } from '../array/engine.js';
import type { IoRecord } from '../array/types.js';
import { createPredictor } from '../kernels/create.js';
import type { Backend, Predictor } from '../kernels/types.js';
import type { LossKind } from '../learn/mlp.js';
import type { DenseModel, LinnosShape } from '../models/dense.js';
import { extractLinnosDataset } from './extract.js';
import { LINNOS_FEATURES } from './features.js';
import {
  fixedPercentileThreshold,
  inflectionPoint,
  type LatencyThreshold,
  labelByThreshold,
  refineThreshold,
} from './labels.js';
import { type EpochStats, type TrainingReport, trainLinnos } from './train.js';

export interface DeviceModel {
  device: number;
  /** Vectors extracted for this device (reads submitted after its first 4 completed reads). */
  vectors: number;
  /** The tangent method's threshold, and the one used (refined, or a fixed percentile). */
  tangent: LatencyThreshold;
  threshold: LatencyThreshold;
  /** Fraction of this device's vectors labelled slow. */
  slowFraction: number;
  model: DenseModel;
  report: TrainingReport;
  /** Serving predictor (quantised). */
  predictor: Predictor;
  /** Fraction of held-back vectors on which the serving predictor decides as the float model does. */
  servingAgreement: number;
  /** The held-back vectors (the last 20% in time), for measuring serving cost on real inputs. */
  heldBack: Uint8Array;
}

export interface TrainArrayOptions {
  records: readonly IoRecord[];
  deviceCount: number;
  shape?: LinnosShape;
  loss?: LossKind;
  epochs?: number;
  seed?: number;
  revokeCostUs?: number;
  /** Label at this fixed percentile instead of the refined inflection point. */
  labelPercentile?: number;
  /** Serving backend (default 'auto': int16 WASM SIMD when available). */
  backend?: Backend | 'auto';
  onEpoch?: (device: number, epoch: number, stats: EpochStats) => void;
}

/** Read latencies on each device (device time, completion - submission), from replay records. */
export function readLatenciesByDevice(records: readonly IoRecord[], deviceCount: number): Float64Array[] {
  const counts = new Array<number>(deviceCount).fill(0);
  for (const r of records) if (r.read && r.servedBy < deviceCount) counts[r.servedBy]!++;
  const out = counts.map((c) => new Float64Array(c));
  const at = new Array<number>(deviceCount).fill(0);
  for (const r of records) {
    if (r.read && r.servedBy < deviceCount) out[r.servedBy]![at[r.servedBy]!++] = r.completeUs - r.submitUs;
  }
  return out;
}

export function trainLinnosArray(options: TrainArrayOptions): DeviceModel[] {
  const seed = options.seed ?? 1;
  const datasets = extractLinnosDataset(options.records);
  const latencies = readLatenciesByDevice(options.records, options.deviceCount);
  const models: DeviceModel[] = [];
  for (const dataset of datasets) {
    const device = dataset.device;
    const own = latencies[device];
    if (own === undefined || own.length < 10 || dataset.count < 100) continue; // too little to learn from
    const tangent = inflectionPoint(own);
    const threshold =
      options.labelPercentile !== undefined
        ? fixedPercentileThreshold(own, options.labelPercentile)
        : refineThreshold({
            latenciesByDevice: latencies,
            device,
            start: tangent,
            revokeCostUs: options.revokeCostUs ?? DEFAULT_REVOKE_COST_US,
            seed: seed + device,
          });
    const labels = labelByThreshold(dataset.latencyUs, threshold.thresholdUs);
    let slow = 0;
    for (let i = 0; i < labels.length; i++) slow += labels[i]!;
    const onEpoch = options.onEpoch;
    const { model, report } = trainLinnos(
      { vectors: dataset.vectors, labels },
      {
        shape: options.shape ?? 'nn',
        loss: options.loss ?? 'hinge',
        ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
        seed: seed * 31 + device,
        split: 'time',
        ...(onEpoch ? { onEpoch: (epoch: number, stats: EpochStats) => onEpoch(device, epoch, stats) } : {}),
      },
    );
    // Calibrate the int16 ranges on real vectors of this device, then check serving against the float model.
    const calibrationCount = Math.min(dataset.count, 4096);
    const calibration = dataset.vectors.subarray(0, calibrationCount * LINNOS_FEATURES);
    const predictor = createPredictor(model, { backend: options.backend ?? 'auto', calibration });
    const reference = createPredictor(model, { backend: 'js' });
    const heldBack = report.validationCount;
    const from = dataset.count - heldBack;
    const xs = dataset.vectors.subarray(from * LINNOS_FEATURES);
    const served = new Uint8Array(heldBack);
    const float = new Uint8Array(heldBack);
    predictor.predictBatch(xs, heldBack, served);
    reference.predictBatch(xs, heldBack, float);
    reference.dispose();
    let agree = 0;
    for (let i = 0; i < heldBack; i++) if (served[i] === float[i]) agree++;
    models.push({
      device,
      vectors: dataset.count,
      tangent,
      threshold,
      slowFraction: dataset.count > 0 ? slow / dataset.count : 0,
      model,
      report,
      predictor,
      servingAgreement: heldBack > 0 ? agree / heldBack : 1,
      heldBack: xs.slice(),
    });
  }
  return models;
}

/** Median ns per prediction at batch 1 over real vectors (the serving path's own cost). */
export function measureInferenceNs(predictor: Predictor, vectors: Uint8Array, repeats = 5): number {
  const n = Math.floor(vectors.length / LINNOS_FEATURES);
  if (n === 0) return Number.NaN;
  const count = Math.min(n, 20000);
  const views = Array.from({ length: count }, (_, i) =>
    vectors.subarray(i * LINNOS_FEATURES, (i + 1) * LINNOS_FEATURES),
  );
  let sink = 0;
  for (let i = 0; i < count; i++) sink += predictor.predict(views[i]!); // warm-up
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < count; i++) sink += predictor.predict(views[i]!);
    samples.push(Number(process.hrtime.bigint() - started) / count);
  }
  if (sink < 0) throw new Error('unreachable');
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1]!;
}

/** One shape's per-device models, as LinnOS on the LAKE runtime takes them (runLakeLinnos). */
export interface ShapeModels {
  shape: LinnosShape;
  /** One model per device (undefined: no model there, reads always submitted). */
  models: readonly (DenseModel | undefined)[];
}

export interface TrainShapesOptions extends Omit<TrainArrayOptions, 'shape' | 'onEpoch'> {
  shapes: readonly LinnosShape[];
  /** Models already trained for some shapes (the demo's own NN): reused, not trained again. */
  trained?: Partial<Record<LinnosShape, readonly DeviceModel[]>>;
  onEpoch?: (shape: LinnosShape, device: number, epoch: number) => void;
}

/**
 * One model per device for each shape, from the same records (trainLinnosArray: label at each device's
 * inflection point, train, quantise). The serving predictors of the models trained here are disposed of:
 * on LAKE each model is served by its batch runner; reused models keep theirs.
 */
export function trainShapeModels(options: TrainShapesOptions): {
  models: ShapeModels[];
  trained: Record<string, DeviceModel[]>;
} {
  const { shapes, trained: given, onEpoch, ...train } = options;
  const trained: Record<string, DeviceModel[]> = {};
  const models = shapes.map((shape): ShapeModels => {
    const reused = given?.[shape];
    const perDevice =
      reused !== undefined
        ? [...reused]
        : trainLinnosArray({
            ...train,
            shape,
            ...(onEpoch !== undefined ? { onEpoch: (device, epoch) => onEpoch(shape, device, epoch) } : {}),
          });
    if (reused === undefined) for (const m of perDevice) m.predictor.dispose();
    trained[shape] = perDevice;
    return {
      shape,
      models: Array.from(
        { length: options.deviceCount },
        (_, d) => perDevice.find((m) => m.device === d)?.model,
      ),
    };
  });
  return { models, trained };
}
