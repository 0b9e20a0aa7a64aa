import { usageError } from '../../errors.js';
import { type DeviceModel, type TrainArrayOptions, trainLinnosArray } from '../../linnos/pipeline.js';
import type { LinnosShape } from '../../models/dense.js';
import { LINNOS_SHAPES } from '../policy/constants.js';
import { DEFAULT_DEMO_CALIBRATION_SIZES, type LakeLinnosResult, type LakeShapeModels } from './run.js';

/** Parses `--models nn,nn+1,nn+2`: known shapes, each once, at least one. */
export function parseShapeList(text: string): LinnosShape[] {
  const shapes: LinnosShape[] = [];
  for (const part of text.split(',')) {
    const name = part.trim();
    if (name === '') continue;
    const shape = LINNOS_SHAPES.find((s) => s === name);
    if (shape === undefined)
      throw usageError(`--models: unknown model "${name}" (expected ${LINNOS_SHAPES.join(', ')})`);
    if (shapes.includes(shape)) throw usageError(`--models: ${shape} is listed twice`);
    shapes.push(shape);
  }
  if (shapes.length === 0) throw usageError('--models must name at least one of nn, nn+1, nn+2');
  return shapes;
}

/**
 * Parses `--crossovers nn=9,nn+1=4,nn+2=never` for the shapes `--models` runs: each of them once, a whole
 * batch size or `never`; a shape the run does not have is refused, so is a missing one.
 */
export function parseCrossovers(
  text: string,
  shapes: readonly LinnosShape[],
): Partial<Record<LinnosShape, number | null>> {
  const crossovers: Partial<Record<LinnosShape, number | null>> = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq).trim();
    const value = eq < 0 ? '' : item.slice(eq + 1).trim();
    const shape = LINNOS_SHAPES.find((s) => s === name);
    if (shape === undefined)
      throw usageError(`--crossovers: unknown model "${name}" (expected ${LINNOS_SHAPES.join(', ')})`);
    if (shape in crossovers) throw usageError(`--crossovers: ${shape} is given twice`);
    if (!shapes.includes(shape))
      throw usageError(`--crossovers: ${shape} is not among --models (${shapes.join(',')})`);
    const largest = DEFAULT_DEMO_CALIBRATION_SIZES[DEFAULT_DEMO_CALIBRATION_SIZES.length - 1]!;
    if (value === 'never') crossovers[shape] = null;
    else if (/^[0-9]+$/.test(value) && Number(value) >= 1 && Number(value) <= largest)
      crossovers[shape] = Number(value);
    else
      throw usageError(
        `--crossovers: ${shape}=${value} must be a batch size from 1 to ${largest}, or never (e.g. ${shape}=8)`,
      );
  }
  const missing = shapes.filter((s) => !(s in crossovers));
  if (missing.length > 0)
    throw usageError(`--crossovers must give every model of --models: missing ${missing.join(', ')}`);
  return crossovers;
}

export interface TrainShapesOptions extends Omit<TrainArrayOptions, 'shape' | 'onEpoch'> {
  shapes: readonly LinnosShape[];
  /** Models already trained for some shapes (the demo's own NN): reused, not trained again. */
  trained?: Partial<Record<LinnosShape, readonly DeviceModel[]>>;
  onEpoch?: (shape: LinnosShape, device: number, epoch: number) => void;
}

/**
 * One model per device for each shape, from the traced stretch (src/linnos/pipeline.ts: label at each
 * device's inflection point, train, quantise), as runLakeLinnos takes them. The serving predictors the
 * pipeline builds are disposed of: on LAKE each model is served by its batch runner.
 */
export function trainShapeModels(options: TrainShapesOptions): {
  models: LakeShapeModels[];
  trained: Record<string, DeviceModel[]>;
} {
  const { shapes, trained: given, onEpoch, ...train } = options;
  const trained: Record<string, DeviceModel[]> = {};
  const models = shapes.map((shape): LakeShapeModels => {
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

/**
 * The demo's results.json view of a LinnOS-on-LAKE run: numbers rounded, per shape and run. Everything
 * read from this machine's clock is under `timing` (wall-clock time per batch, the user policy's call
 * cost); the rest is the same on every run with one seed and the same crossovers (`crossoverSource`
 * 'given'). With measured crossovers the calibration tables are timings too: they are recorded with the
 * crossovers they gave.
 */
export function lakeResultJson(result: LakeLinnosResult): Record<string, unknown> {
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  const { meanCallUs, ...userPolicy } = result.userPolicy ?? { name: '' };
  return {
    baseline: {
      avgUs: r3(result.baseline.avgUs),
      p99Us: r3(result.baseline.p99Us),
      p999Us: r3(result.baseline.p999Us),
    },
    backends: result.backends.map((b) => ({
      name: b.name,
      usable: b.available,
      ...(b.reason !== undefined ? { reason: b.reason } : {}),
    })),
    crossovers: result.crossoversFlag,
    crossoverSource: result.crossoverSource,
    shapes: Object.fromEntries(
      result.shapes.map((shape) => [
        shape.shape,
        {
          crossovers: shape.crossovers,
          calibration: {
            source: shape.calibration.source,
            batchSizes: shape.calibration.batchSizes,
            inlineUs: shape.calibration.inlineUs.map(r3),
            backends: Object.fromEntries(
              shape.calibration.backends.map((b) => [b.backend, b.usPerBatch.map(r3)]),
            ),
          },
          skipped: shape.skipped,
          runs: Object.fromEntries(
            shape.runs.map((run) => [
              run.variant,
              {
                placement: run.placement,
                batching: run.batching,
                read: {
                  count: run.read.count,
                  avgUs: r3(run.read.avgUs),
                  p99Us: r3(run.read.p99Us),
                  p999Us: r3(run.read.p999Us),
                },
                revokes: run.revokes,
                decisions: run.stats.decisions,
                unpredicted: run.stats.unpredicted,
                decisionsBy: run.stats.decisionsBy,
                batchesBy: run.stats.batchesBy,
                reasons: run.stats.reasons,
                closes: run.stats.closes,
                batchSizes: run.stats.batchSizes,
                meanBatch: r3(run.meanBatch),
                meanInferenceUs: r3(run.meanInferenceUs),
                meanWaitUs: r3(run.meanWaitUs),
                policyFaults: run.replay.policyFaults,
                inferenceFaults: run.stats.faults,
              },
            ]),
          ),
        },
      ]),
    ),
    lakeLib: { restarts: result.lakeLib.restarts, failures: result.lakeLib.failures.length },
    ...(result.userPolicy !== undefined ? { userPolicy } : {}),
    timing: {
      wallUsPerBatch: Object.fromEntries(
        result.shapes.flatMap((shape) => shape.runs.map((run) => [run.name, r3(run.meanWallUs)])),
      ),
      ...(meanCallUs !== undefined ? { userPolicyCallUs: r3(meanCallUs) } : {}),
    },
  };
}
