/**
 * `lake backends [--json]`: every compute backend, whether it is usable here and why not, and its
 * crossover per LinnOS model (NN, NN+1, NN+2), calibrated now by measurement.
 */
import type { Command } from 'commander';
import { type BackendsReport, backendsReport } from '../lake/backends-report.js';
import { INLINE, LINNOS_SHAPES } from '../lake/policy/constants.js';
import { markdownTable } from '../report/table.js';
import { parseIntOption } from './options.js';

interface BackendsFlags {
  json?: boolean;
  maxBatch: string;
  trials: string;
}

export function registerBackends(program: Command): void {
  program
    .command('backends')
    .description(
      'list compute backends: usable here or why not, and the calibrated crossover per model (nn, nn+1, nn+2)',
    )
    .option('--max-batch <n>', 'calibrate batches up to this size', '1024')
    .option('--trials <n>', 'timing rounds per batch size', '5')
    .option('--json', 'print the report, calibration tables included, as JSON')
    .action(async (flags: BackendsFlags) => {
      const maxBatch = parseIntOption('--max-batch', flags.maxBatch, 1);
      const trials = parseIntOption('--trials', flags.trials, 1);
      const quiet = flags.json === true;
      const report = await backendsReport({
        maxBatch,
        trials,
        onModel: (shape) => {
          if (!quiet) process.stderr.write(`calibrating ${shape}...\n`);
        },
      });
      process.stdout.write(quiet ? `${JSON.stringify(report, null, 2)}\n` : `${backendsText(report)}\n`);
    });
}

/** The human view: one row per backend, then each model's timings. */
export function backendsText(report: BackendsReport): string {
  const crossover = (c: number | null, usable: boolean): string =>
    !usable ? '-' : c === null ? `never (<= ${report.maxBatch})` : String(c);
  const backends = markdownTable(
    ['backend', 'kind', 'usable', 'why not', ...LINNOS_SHAPES.map((s) => `crossover ${s}`)],
    report.backends.map((b) => [
      b.name,
      b.kind,
      b.usable ? 'yes' : 'no',
      b.reason ?? '',
      ...LINNOS_SHAPES.map((s) => crossover(b.crossovers[s], b.usable)),
    ]),
    ['left', 'left', 'left', 'left', 'right', 'right', 'right'],
  );
  const timed = report.calibration[0]?.backends.map((b) => b.backend) ?? [];
  const timings = markdownTable(
    [
      'batch',
      ...report.calibration.flatMap((t) => [
        `${t.model} ${INLINE}`,
        ...t.backends.map((b) => `${t.model} ${b.backend} (${b.mode})`),
      ]),
    ],
    (report.calibration[0]?.batchSizes ?? []).map((size, i) => [
      String(size),
      ...report.calibration.flatMap((t) => [
        t.inlineUs[i]!.toFixed(2),
        ...t.backends.map((b) => b.usPerBatch[i]!.toFixed(2)),
      ]),
    ]),
  );
  const paper = LINNOS_SHAPES.map((s) => `${s} ${report.lakePaperThresholds[s]}`).join(', ');
  return [
    '### backends',
    '',
    backends,
    '',
    `A crossover is the smallest batch from which the backend beats inline inference at every larger size measured; the contention policy runs smaller batches inline. LAKE hard-coded ${paper} for its GPU.`,
    '',
    `### microseconds per batch (median call${timed.length > 0 ? `; ${timed.join(', ')} measured hot` : ''})`,
    '',
    timings,
  ].join('\n');
}
