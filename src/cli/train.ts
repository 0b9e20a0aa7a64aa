/**
 * `lake train (--trace FILE | --vectors FILE) --out model.json [options] [--json]`: LinnOS training end to
 * end: vectors (extracted from a trace with per-I/O latency, or read from a vector file), fast/slow labels
 * (the inflection point refined by simulated revocation, a fixed percentile, or a given threshold), a dense
 * network trained as LinnOS trains it (src/linnos/train.ts), the model saved as a lake model file, and the
 * quality report on the held-back part: accuracy beside the majority-class rate, false-submit and
 * false-revoke rates, ROC-AUC and PR-AUC.
 *
 * Data: with --device N the vectors of that device; otherwise every device's vectors pooled in record
 * (time) order. The label threshold is chosen on all the selected vectors' latencies.
 */
import type { Command } from 'commander';
import { DEFAULT_REVOKE_COST_US } from '../array/engine.js';
import { usageError } from '../errors.js';
import { checkOutputs } from '../files/outputs.js';
import type { ClassifierReport } from '../learn/metrics.js';
import type { LossKind } from '../learn/mlp.js';
import { type DeviceDataset, groupByDevice } from '../linnos/dataset.js';
import { extractLinnosFromTraceBatches } from '../linnos/extract.js';
import { LINNOS_FEATURE_SCHEMA } from '../linnos/features.js';
import { type LatencyThreshold, labelByThreshold } from '../linnos/labels.js';
import { MIN_THRESHOLD_READS } from '../linnos/minimums.js';
import {
  type SplitKind,
  type TrainingBackend,
  type TrainingReport,
  type TrainResult,
  trainLinnos,
} from '../linnos/train.js';
import {
  chooseLabelThreshold,
  selectTrainingData,
  type ThresholdChoice,
  type TrainingSelection,
  timeSplitProblem,
  trainedPartsProblem,
  trainingWarnings,
} from '../linnos/training-set.js';
import { readLinnosVectors } from '../linnos/vector-file.js';
import type { LinnosShape } from '../models/dense.js';
import { type JsonValue, saveModel } from '../models/model-file.js';
import { countBatches, createProgress, type Progress } from '../report/progress.js';
import { formatUs, markdownTable } from '../report/table.js';
import { openTrace } from '../trace/read.js';
import { traceFormats } from '../trace/types.js';
import {
  parseChoiceOption,
  parseFormatOption,
  parseIntOption,
  parseNumberOption,
  parseSeedOption,
} from './options.js';
import { type CommandOutput, emitWarnings, processOutput } from './output.js';

interface TrainFlags {
  trace?: string;
  vectors?: string;
  format?: string;
  skipBad?: boolean;
  device?: string;
  shape: string;
  loss: string;
  epochs: string;
  batch: string;
  lr: string;
  slowWeight: string;
  split: string;
  validation: string;
  patience?: string;
  seed: string;
  backend: string;
  percentile?: string;
  threshold?: string;
  refine: boolean;
  revokeCost: string;
  out?: string;
  json?: boolean;
}

export const DEFAULT_TRAIN = {
  shape: 'nn',
  loss: 'hinge',
  epochs: '15',
  batch: '128',
  lr: '0.001',
  slowWeight: '5',
  split: 'time',
  validation: '0.2',
  seed: '1',
  backend: 'auto',
  revokeCost: String(DEFAULT_REVOKE_COST_US),
} as const;

export function registerTrain(program: Command, output: CommandOutput = processOutput): void {
  program
    .command('train')
    .description('train a LinnOS fast/slow model from a trace with per-I/O latency or a vector file')
    .option('--trace <file>', 'trace with per-I/O latency (linnos-output or heimdall)')
    .option('--vectors <file>', 'or a LinnOS vector file (raw 10-column, digits, or lake features output)')
    .option('--format <format>', `trace format: ${traceFormats.join(' | ')} (detected when absent)`)
    .option('--skip-bad', 'skip and count malformed trace lines')
    .option('--device <n>', 'train on this device only (default: all devices pooled in time order)')
    .option('--shape <shape>', 'nn (31-256-2) | nn+1 | nn+2', DEFAULT_TRAIN.shape)
    .option(
      '--loss <loss>',
      'hinge (categorical hinge, as LinnOS) | xent (cross-entropy)',
      DEFAULT_TRAIN.loss,
    )
    .option('--epochs <n>', 'epochs', DEFAULT_TRAIN.epochs)
    .option('--batch <n>', 'mini-batch size', DEFAULT_TRAIN.batch)
    .option('--lr <x>', 'Adam learning rate', DEFAULT_TRAIN.lr)
    .option(
      '--slow-weight <w>',
      'weight of slow-class samples (false submits cost more)',
      DEFAULT_TRAIN.slowWeight,
    )
    .option('--split <kind>', 'time (validate on the last part) | random', DEFAULT_TRAIN.split)
    .option('--validation <fraction>', 'fraction held back for validation', DEFAULT_TRAIN.validation)
    .option('--patience <n>', 'stop after n epochs without a better validation loss (keeps the best)')
    .option('--seed <n>', 'seed of initialisation, split, shuffles and label refinement', DEFAULT_TRAIN.seed)
    .option('--backend <b>', 'wasm | js | auto', DEFAULT_TRAIN.backend)
    .option(
      '--percentile <p>',
      'label reads above this latency percentile slow (instead of the inflection point)',
    )
    .option('--threshold <us>', 'label reads above this latency slow')
    .option('--no-refine', 'inflection point by the tangent method alone')
    .option('--revoke-cost <us>', 'revoke cost in the label refinement', DEFAULT_TRAIN.revokeCost)
    .option('--out <file>', 'model file to write')
    .option('--json', 'print JSON (no progress bar)')
    .action(async (flags: TrainFlags) => {
      output.write(await trainCommand(flags, output));
    });
}

/** Per-device datasets from the trace or vector file named by the flags. */
async function loadDatasets(flags: TrainFlags, stages: Progress, since: number): Promise<DeviceDataset[]> {
  if ((flags.trace === undefined) === (flags.vectors === undefined)) {
    throw usageError('give exactly one of --trace FILE and --vectors FILE');
  }
  if (flags.trace !== undefined) {
    const format = parseFormatOption(flags.format);
    const reader = openTrace(flags.trace, { ...(format ? { format } : {}), skipBad: flags.skipBad === true });
    const progress = createProgress({
      label: `read ${flags.trace}`,
      unit: 'records',
      quiet: flags.json === true,
      showAfterMs: 1000,
      since,
    });
    return extractLinnosFromTraceBatches(
      countBatches(reader, progress, () =>
        stages.setLabel(`train: vectors of ${reader.summary.records} records`),
      ),
    );
  }
  const file = readLinnosVectors(flags.vectors!);
  return groupByDevice(file.dataset, file.device);
}

/** How --threshold, --percentile, --no-refine and --revoke-cost set the label threshold. */
function thresholdChoice(flags: TrainFlags): ThresholdChoice {
  if (flags.threshold !== undefined && flags.percentile !== undefined) {
    throw usageError('give at most one of --threshold and --percentile');
  }
  if (flags.threshold !== undefined) {
    const thresholdUs = parseNumberOption('--threshold', flags.threshold, 0);
    return { kind: 'fixed', thresholdUs, text: flags.threshold };
  }
  if (flags.percentile !== undefined) {
    const percentile = parseNumberOption('--percentile', flags.percentile, { min: 0, max: 100 });
    return { kind: 'percentile', percentile, text: flags.percentile };
  }
  // --revoke-cost is read only where it is used: the refinement.
  const revokeCostUs = flags.refine ? parseNumberOption('--revoke-cost', flags.revokeCost, 0) : 0;
  return { kind: 'inflection', refine: flags.refine, revokeCostUs };
}

/** Finite numbers as they are, others as null: model files and JSON output take no NaN. */
function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function qualityJson(q: ClassifierReport): { [key: string]: JsonValue } {
  return {
    count: q.count,
    slow: q.slow,
    accuracy: finite(q.accuracy),
    majorityRate: finite(q.majorityRate),
    falseSubmitRate: finite(q.falseSubmitRate),
    falseRevokeRate: finite(q.falseRevokeRate),
    precision: finite(q.precision),
    recall: finite(q.recall),
    f1: finite(q.f1),
    rocAuc: finite(q.rocAuc),
    prAuc: finite(q.prAuc),
  };
}

/** The training flags, parsed (each error names its flag). */
interface TrainSettings {
  shape: LinnosShape;
  loss: LossKind;
  split: SplitKind;
  backend: TrainingBackend | 'auto';
  epochs: number;
  batchSize: number;
  learningRate: number;
  slowWeight: number;
  validationFraction: number;
  seed: number;
  patience: number | undefined;
  device: number | undefined;
}

function parseTrainFlags(flags: TrainFlags): TrainSettings {
  if (flags.out === undefined) throw usageError('lake train needs --out FILE (the model file to write)');
  checkOutputs(
    [{ flag: '--out', path: flags.out }],
    [
      { flag: '--trace', path: flags.trace ?? '' },
      { flag: '--vectors', path: flags.vectors ?? '' },
    ],
  );
  const shape = parseChoiceOption<LinnosShape>('--shape', flags.shape, ['nn', 'nn+1', 'nn+2']);
  const loss = parseChoiceOption<LossKind>('--loss', flags.loss, ['hinge', 'xent']);
  const split = parseChoiceOption<SplitKind>('--split', flags.split, ['time', 'random']);
  const backend = parseChoiceOption<TrainingBackend | 'auto'>('--backend', flags.backend, [
    'wasm',
    'js',
    'auto',
  ]);
  const epochs = parseIntOption('--epochs', flags.epochs, 1);
  const batchSize = parseIntOption('--batch', flags.batch, 1);
  const learningRate = parseNumberOption('--lr', flags.lr, { above: 0 });
  const slowWeight = parseNumberOption('--slow-weight', flags.slowWeight, { above: 0 });
  const validationFraction = parseNumberOption('--validation', flags.validation, { min: 0, below: 1 });
  const seed = parseSeedOption('--seed', flags.seed);
  const patience = flags.patience === undefined ? undefined : parseIntOption('--patience', flags.patience, 1);
  if (patience !== undefined && validationFraction === 0) {
    throw usageError('--patience stops on the validation loss: it needs --validation above 0');
  }
  const device = flags.device === undefined ? undefined : parseIntOption('--device', flags.device, 0);
  return {
    shape,
    loss,
    split,
    backend,
    epochs,
    batchSize,
    learningRate,
    slowWeight,
    validationFraction,
    seed,
    patience,
    device,
  };
}

interface LabelledData {
  selection: TrainingSelection;
  threshold: LatencyThreshold;
  labels: Uint8Array;
}

/** Load the input, select the vectors and label them (showing the stages once they take over a second). */
async function loadLabelledData(flags: TrainFlags, settings: TrainSettings): Promise<LabelledData> {
  const started = performance.now();
  // Reading, extracting and labelling take seconds on a large trace: shown once the command has run a second.
  const stages = createProgress({
    label: 'train',
    quiet: flags.json === true,
    showAfterMs: 1000,
    since: started,
  });
  let selection: TrainingSelection;
  let threshold: LatencyThreshold;
  try {
    const datasets = await loadDatasets(flags, stages, started);
    selection = selectTrainingData(datasets, settings.device);
    if (selection.data.count === 0)
      throw usageError(
        `no LinnOS vectors in the input: a vector needs 4 reads completed before it on its device, and training ` +
          `at least ${MIN_THRESHOLD_READS} vectors`,
      );
    stages.setLabel(`train: label threshold of ${selection.data.count} vectors`);
    threshold = chooseLabelThreshold(thresholdChoice(flags), datasets, selection, settings.seed);
    stages.complete();
  } finally {
    stages.stop();
  }
  return { selection, threshold, labels: labelByThreshold(selection.data.latencyUs, threshold.thresholdUs) };
}

/** trainLinnos with the settings, drawing an epoch progress bar unless quiet. */
function trainWithProgress(
  vectors: Uint8Array,
  labels: Uint8Array,
  settings: TrainSettings,
  quiet: boolean,
): TrainResult {
  const { shape, loss, epochs, batchSize, learningRate, slowWeight, split, validationFraction, seed } =
    settings;
  const progress = createProgress({ label: `train ${shape}`, total: epochs, unit: 'epochs', quiet });
  try {
    const result = trainLinnos(
      { vectors, labels },
      {
        shape,
        loss,
        epochs,
        batchSize,
        learningRate,
        slowWeight,
        split,
        validationFraction,
        seed,
        backend: settings.backend,
        ...(settings.patience !== undefined ? { earlyStopPatience: settings.patience } : {}),
        onEpoch: (epoch) => progress.update(epoch),
      },
    );
    // Early stopping ends before the last epoch: the run is complete all the same.
    progress.complete();
    return result;
  } finally {
    progress.stop();
  }
}

/** The model file: the model with its label threshold, training settings and quality figures. */
async function saveTrainedModel(
  out: string,
  source: string,
  data: LabelledData,
  settings: TrainSettings,
  trained: TrainResult,
): Promise<void> {
  const { report } = trained;
  await saveModel(out, trained.model, {
    kind: 'linnos',
    featureSchema: LINNOS_FEATURE_SCHEMA,
    createdAt: new Date().toISOString(),
    ...(data.selection.device !== undefined ? { device: String(data.selection.device) } : {}),
    labelThresholdUs: data.threshold.thresholdUs,
    trainingStats: {
      loss: settings.loss,
      slowWeight: settings.slowWeight,
      epochs: report.epochs,
      bestEpoch: report.bestEpoch,
      batchSize: settings.batchSize,
      learningRate: settings.learningRate,
      split: settings.split,
      seed: settings.seed,
      backend: report.backend,
      trainCount: report.trainCount,
      validationCount: report.validationCount,
      qualityOn: report.qualityOn,
      ...qualityJson(report.quality),
    },
    extra: { source, labelMethod: data.threshold.method, labelPercentile: data.threshold.percentile },
  });
}

/** What --json prints. */
function trainingJson(
  out: string,
  source: string,
  data: LabelledData,
  report: TrainingReport,
  warnings: string[],
): { [key: string]: unknown } {
  return {
    model: out,
    source,
    device: data.selection.device ?? null,
    vectors: data.selection.data.count,
    threshold: data.threshold,
    training: {
      layerSizes: report.layerSizes,
      parameters: report.parameters,
      loss: report.loss,
      backend: report.backend,
      split: report.split,
      trainCount: report.trainCount,
      validationCount: report.validationCount,
      epochs: report.epochs,
      bestEpoch: report.bestEpoch,
      trainSeconds: report.trainSeconds,
      secondsPerMillion: report.secondsPerMillion,
      history: report.history.map((e) => ({
        ...e,
        validationLoss: finite(e.validationLoss),
        validationAccuracy: finite(e.validationAccuracy),
      })),
    },
    qualityOn: report.qualityOn,
    quality: { ...qualityJson(report.quality), confusion: report.quality.confusion },
    warnings,
  };
}

async function trainCommand(flags: TrainFlags, output: CommandOutput): Promise<string> {
  const settings = parseTrainFlags(flags);
  const out = flags.out!;
  const data = await loadLabelledData(flags, settings);
  const splitFlags = `--split ${settings.split}, --validation ${flags.validation}`;
  if (settings.split === 'time') {
    // The validation part is the last vectors: check both parts before spending the training time.
    const problem = timeSplitProblem(data.labels, settings.validationFraction);
    if (problem !== undefined) throw usageError(`${problem} (${splitFlags})`);
  }
  const quiet = flags.json === true;
  const trained = trainWithProgress(data.selection.data.vectors, data.labels, settings, quiet);
  const partsProblem = trainedPartsProblem(trained.report, data.labels);
  if (partsProblem !== undefined) throw usageError(`${partsProblem} (${splitFlags}); no model written`);
  const warnings = trainingWarnings(trained.report);
  const source = flags.trace ?? flags.vectors!;
  await saveTrainedModel(out, source, data, settings, trained);
  emitWarnings(output, warnings);
  if (quiet) return `${JSON.stringify(trainingJson(out, source, data, trained.report, warnings), null, 2)}\n`;
  return formatTraining(data.threshold, trained.report, out);
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'n/a';
}

function num(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : 'n/a';
}

export function formatTraining(threshold: LatencyThreshold, report: TrainingReport, out: string): string {
  const q = report.quality;
  const lines = [
    `label: slow above ${formatUs(threshold.thresholdUs)} us (p${threshold.percentile.toFixed(2)}, ${threshold.method}); ` +
      `${q.slow} of ${q.count} ${report.qualityOn} reads slow`,
    `model: ${report.layerSizes.join('-')} (${report.parameters} parameters), ${report.loss} loss, ` +
      `${report.epochs} epochs (kept ${report.bestEpoch}) on ${report.trainCount} vectors, ` +
      `${report.split}-ordered split; ${report.trainSeconds.toFixed(2)} s (${report.secondsPerMillion.toFixed(2)} s per 1M samples, ${report.backend})`,
    '',
    markdownTable(
      [
        'accuracy',
        'majority rate',
        'false submit',
        'false revoke',
        'precision',
        'recall',
        'F1',
        'ROC-AUC',
        'PR-AUC',
      ],
      [
        [
          pct(q.accuracy),
          pct(q.majorityRate),
          pct(q.falseSubmitRate),
          pct(q.falseRevokeRate),
          pct(q.precision),
          pct(q.recall),
          num(q.f1),
          num(q.rocAuc),
          num(q.prAuc),
        ],
      ],
    ),
    '',
    `model written to ${out}`,
  ];
  return `${lines.join('\n')}\n`;
}
