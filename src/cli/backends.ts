/**
 * `lake backends [--json]`: every compute backend, whether it is usable here and why not, and its
 * crossover per LinnOS model (NN, NN+1, NN+2), calibrated now by measurement.
 * `lake backends --verify [--json]`: every backend that can run here runs every kernel set on fixed vectors
 * against cpu-wasm (src/lake/backends/verify.ts); exit status 1 when one disagrees.
 */
import type { Command } from 'commander';
import { type VerifyReport, verifyBackends } from '../lake/backends/verify.js';
import { type BackendsReport, backendsReport } from '../lake/backends-report.js';
import { INLINE, LINNOS_SHAPES } from '../lake/policy/constants.js';
import { markdownTable } from '../report/table.js';
import { parseIntOption, parseSeedOption } from './options.js';

interface BackendsFlags {
  json?: boolean;
  maxBatch: string;
  trials: string;
  verify?: boolean;
  fixtures?: string;
  seed: string;
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
    .option('--verify', 'run every kernel set of every backend that can run here against cpu-wasm instead')
    .option('--fixtures <dir>', "--verify: the LinnOS headers and ml_test.h (default: the source tree's)")
    .option('--seed <n>', '--verify: seed of the random models and vectors', '12')
    .action(async (flags: BackendsFlags) => {
      if (flags.verify === true) {
        const seed = parseSeedOption('--seed', flags.seed);
        const report = verifyBackends({
          seed,
          ...(flags.fixtures !== undefined ? { fixtures: flags.fixtures } : {}),
        });
        process.stdout.write(
          flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${verifyText(report)}\n`,
        );
        if (!report.agree) {
          process.stderr.write('lake: a backend disagrees with cpu-wasm (see the report)\n');
          process.exitCode = 1;
        }
        return;
      }
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

function figure(value: number): string {
  if (value === 0) return '0';
  if (!Number.isFinite(value)) return String(value);
  return value.toExponential(2);
}

/** The human view of --verify: one row per backend, then one per check. */
export function verifyText(report: VerifyReport): string {
  const backends = markdownTable(
    ['backend', 'status', 'device or reason', 'checks', 'agree'],
    report.backends.map((b) => [
      b.backend,
      b.status,
      b.reason ?? b.device ?? '',
      String(b.checks.length),
      b.checks.length === 0 ? '-' : String(b.checks.filter((c) => c.agree).length),
    ]),
    ['left', 'left', 'left', 'right', 'right'],
  );
  const rows = report.backends.flatMap((b) =>
    b.checks.map((c) => [
      b.backend,
      `${c.kernelSet}.${c.function}`,
      c.model,
      String(c.vectors),
      c.exact ? 'bit for bit' : 'f32 tolerance',
      String(c.mismatches),
      figure(c.maxAbsError),
      figure(c.maxRelError),
      c.agree ? 'yes' : `NO${c.error !== undefined ? ` (${c.error})` : ''}`,
    ]),
  );
  const checks = markdownTable(
    [
      'backend',
      'kernel',
      'model',
      'vectors',
      'compared',
      'mismatches',
      'max abs error',
      'max rel error',
      'agree',
    ],
    rows,
    ['left', 'left', 'left', 'right', 'left', 'right', 'right', 'right', 'left'],
  );
  const tolerance = `|backend - cpu-wasm| <= ${report.tolerance.abs} + ${report.tolerance.rel} x |cpu-wasm|`;
  return [
    '### backends against cpu-wasm',
    '',
    backends,
    '',
    `Integer kernels must agree bit for bit; f32 kernels within ${tolerance}. LinnOS fixtures: ${report.fixtures ?? 'not found (seeded cases only)'}.`,
    ...(rows.length > 0 ? ['', checks] : []),
  ].join('\n');
}
