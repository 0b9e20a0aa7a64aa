/**
 * `lake eval --trace FILE[,FILE...] --pipeline linnos|heimdall|lake|all [--as-published] [--json] ...`:
 * train on the first half of a recorded trace (submit order) and test on the second half, reads only, with
 * features computed from the causal event stream (src/realtrace). `--as-published` runs Heimdall's own
 * protocol instead (leaky features, random split) and says so in every output. `all` runs LinnOS, Heimdall
 * (causal and as published) and lake side by side. Several files are concatenated in time (a workload
 * that changes part-way); the lake pipeline then also reports its online drift handling.
 */
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { type FlashProfileName, flashProfileNames } from '../flash/index.js';
import { fewReadsWarnings, MIN_THRESHOLD_READS } from '../linnos/minimums.js';
import { type DriftReport, runOnline } from '../realtrace/drift.js';
import { evaluatePipeline } from '../realtrace/evaluate.js';
import {
  type EvalStage,
  type PipelineEvaluation,
  pipelineNames,
  resultWarnings,
  splitIndex,
} from '../realtrace/evaluation.js';
import {
  DEFAULT_FALSE_SUBMIT_BUDGET,
  DEFAULT_REFIT_EVERY,
  type LakeModelKind,
  lakeModelKinds,
} from '../realtrace/lake-pipeline.js';
import { type LoadedTrace, type LoadOptions, loadIoTable } from '../realtrace/load.js';
import { createProgress, type Progress } from '../report/progress.js';
import { markdownTable } from '../report/table.js';
import { traceFormats } from '../trace/types.js';
import {
  echoOption,
  parseChoiceOption,
  parseFormatOption,
  parseIntOption,
  parseNumberOption,
  parseSeedOption,
  splitList,
} from './options.js';

interface EvalFlags {
  trace?: string;
  format?: string;
  device?: string;
  window?: string;
  skipBad?: boolean;
  pipeline: string;
  asPublished?: boolean;
  epochs?: string;
  seed: string;
  joint: string;
  lakeModel: string;
  falseSubmitBudget: string;
  refitEvery: string;
  simulate?: boolean;
  arrivals: string;
  flash: string;
  drift: boolean;
  timing: boolean;
  json?: boolean;
}

const stdout = { write: (text: string): void => void process.stdout.write(text) };

export function registerEval(program: Command, output: { write(text: string): void } = stdout): void {
  program
    .command('eval')
    .description(
      'causal, time-ordered evaluation of a fast/slow read predictor on a recorded trace (linnos, heimdall, lake)',
    )
    .option(
      '--trace <files>',
      'trace with per-I/O latency; several (comma-separated) are concatenated in time',
    )
    .option('--format <format>', `trace format: ${traceFormats.join(' | ')} (detected when absent)`)
    .option('--device <n>', 'the trace device to learn on (when a trace holds several)')
    .option(
      '--window <start:count>',
      'use only count records from the start-th (0-based, file order, of --device) of each trace; streams, so traces of any length work',
    )
    .option('--skip-bad', 'skip and count malformed trace lines')
    .option('--pipeline <name>', `${pipelineNames.join(' | ')} | all`, 'lake')
    .option(
      '--as-published',
      "heimdall: Heimdall's published protocol (LEAKS future latencies; random split)",
    )
    .option(
      '--epochs <n>',
      'training epochs of the neural models (default as published: linnos 15, heimdall 20)',
    )
    .option('--seed <n>', 'seed of every random choice', '1')
    .option('--joint <list>', 'heimdall: joint inference sizes P besides 1 (comma-separated)', '3')
    .option('--lake-model <kind>', `lake: ${lakeModelKinds.join(' | ')}`, 'linear')
    .option(
      '--false-submit-budget <f>',
      'lake: the decision threshold keeps false submits at or below this fraction of slow reads',
      String(DEFAULT_FALSE_SUBMIT_BUDGET),
    )
    .option(
      '--refit-every <n>',
      'lake: retrain on all labelled reads each time n more test labels become known (0 = never)',
      String(DEFAULT_REFIT_EVERY),
    )
    .option('--simulate', 'learn from a simulated SSD replaying the trace instead of its recorded latencies')
    .option('--arrivals <which>', 'with --simulate: arrival | submit times as the arrivals', 'arrival')
    .option('--flash <profile>', `with --simulate: ${flashProfileNames.join(', ')}`, 'femu')
    .option('--no-drift', 'lake: skip the online drift run')
    .option('--no-timing', 'skip the serving-time measurements')
    .option('--json', 'print JSON')
    .action(async (flags: EvalFlags) => {
      output.write(await evalCommand(flags));
    });
}

interface ParsedEval {
  paths: string[];
  pipelines: { name: (typeof pipelineNames)[number]; asPublished: boolean }[];
  epochs?: number;
  seed: number;
  joint: number[];
  lakeModel: LakeModelKind;
  budget: number;
  refitEvery: number;
}

function parseFlags(flags: EvalFlags): ParsedEval {
  if (flags.trace === undefined) throw usageError('--trace FILE is required');
  const paths = splitList(flags.trace);
  if (paths.length === 0) throw usageError('--trace must name at least one file');
  const asPublished = flags.asPublished === true;
  let pipelines: ParsedEval['pipelines'];
  if (flags.pipeline === 'all') {
    if (asPublished)
      throw usageError('--as-published goes with --pipeline heimdall (all includes it already)');
    pipelines = [
      { name: 'linnos', asPublished: false },
      { name: 'heimdall', asPublished: false },
      { name: 'heimdall', asPublished: true },
      { name: 'lake', asPublished: false },
    ];
  } else {
    const name = pipelineNames.find((p) => p === flags.pipeline);
    if (name === undefined) {
      throw usageError(
        `--pipeline must be one of ${pipelineNames.join(', ')}, all; got ${echoOption(flags.pipeline)}`,
      );
    }
    if (asPublished && name !== 'heimdall')
      throw usageError('--as-published applies to --pipeline heimdall only');
    pipelines = [{ name, asPublished }];
  }
  const lakeModel = parseChoiceOption('--lake-model', flags.lakeModel, lakeModelKinds);
  const budget = parseNumberOption('--false-submit-budget', flags.falseSubmitBudget, { min: 0, below: 1 });
  const joint = splitList(flags.joint).map((p) => parseIntOption('--joint', p, 2));
  const refitEvery = parseIntOption('--refit-every', flags.refitEvery, 0);
  return {
    paths,
    pipelines,
    ...(flags.epochs !== undefined ? { epochs: parseIntOption('--epochs', flags.epochs, 1) } : {}),
    seed: parseSeedOption('--seed', flags.seed),
    joint,
    lakeModel,
    budget,
    refitEvery,
  };
}

/** `start:count`, two whole numbers, count at least 1. */
function parseWindow(text: string): { start: number; count: number } {
  const match = /^(\d+):(\d+)$/.exec(text.trim());
  if (match === null)
    throw usageError(`--window must be START:COUNT (e.g. 0:50000), got ${echoOption(text)}`);
  const start = Number(match[1]);
  const count = Number(match[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || count < 1) {
    throw usageError(`--window must be START:COUNT with COUNT >= 1, got ${echoOption(text)}`);
  }
  return { start, count };
}

async function evalCommand(flags: EvalFlags): Promise<string> {
  const parsed = parseFlags(flags);
  const format = parseFormatOption(flags.format);
  const arrivals = parseChoiceOption('--arrivals', flags.arrivals, ['arrival', 'submit'] as const);
  const flash = parseChoiceOption<FlashProfileName>('--flash', flags.flash, flashProfileNames);
  const load: LoadOptions = {
    ...(format !== undefined ? { format } : {}),
    skipBad: flags.skipBad === true,
    ...(flags.device !== undefined ? { device: parseIntOption('--device', flags.device, 0) } : {}),
    ...(flags.window !== undefined ? { window: parseWindow(flags.window) } : {}),
    simulate: flags.simulate === true,
    arrivals,
    flash,
    seed: parsed.seed,
  };
  // Stages and counts on a terminal: loading, then per pipeline labels, features, training and scoring.
  const progress = createProgress({ label: 'eval: loading', quiet: flags.json === true });
  try {
    return await evaluate(flags, parsed, load, progress);
  } finally {
    progress.stop();
  }
}

async function evaluate(
  flags: EvalFlags,
  parsed: ParsedEval,
  load: LoadOptions,
  progress: Progress,
): Promise<string> {
  const loaded = await loadIoTable(parsed.paths, {
    ...load,
    onProgress: (p) =>
      progress.setLabel(
        p.stage === 'reading'
          ? `eval: reading ${p.path}: ${p.records} records`
          : `eval: replaying ${p.records} records of ${p.path} on a simulated SSD`,
      ),
  });
  if (loaded.table.count < 200) {
    throw usageError(
      `${parsed.paths.join(', ')}: ${loaded.table.count} I/Os is too few to train and test on`,
    );
  }
  const timing = flags.timing !== false;
  const results: PipelineEvaluation[] = parsed.pipelines.map((p, k) =>
    evaluatePipeline(loaded.table, {
      onStage: (stage) =>
        progress.setLabel(
          `eval [${k + 1}/${parsed.pipelines.length}] ${p.name}${p.asPublished ? ' (as published)' : ''}: ${describeStage(stage)}`,
        ),
      pipeline: p.name,
      asPublished: p.asPublished,
      seed: parsed.seed,
      joint: parsed.joint,
      lakeModel: parsed.lakeModel,
      falseSubmitBudget: parsed.budget,
      lakeRefitEvery: parsed.refitEvery,
      timeServing: timing,
      ...(parsed.epochs !== undefined ? { epochs: parsed.epochs } : {}),
    }),
  );
  let drift: { online: DriftReport; static: DriftReport } | undefined;
  if (flags.drift !== false && parsed.pipelines.some((p) => p.name === 'lake')) {
    const common = {
      initialTrainEnd: splitIndex(loaded.table),
      model: parsed.lakeModel,
      falseSubmitBudget: parsed.budget,
    };
    progress.setLabel(`eval: drift watch over ${loaded.table.count} I/Os, with and without retraining`);
    drift = {
      online: runOnline(loaded.table, common),
      static: runOnline(loaded.table, { ...common, retrain: false }),
    };
  }
  progress.setLabel(`eval: ${results.length} pipeline(s) evaluated`);
  progress.complete();
  return flags.json === true
    ? jsonReport(loaded, flags, results, drift)
    : textReport(loaded, flags, results, drift);
}

function describeStage(s: EvalStage): string {
  const what = {
    features: `features of ${s.count} ${s.unit}`,
    labels: `labels of ${s.count} ${s.unit}`,
    training: `training on ${s.count} ${s.unit}`,
    scoring: `scoring ${s.count} test ${s.unit}`,
    timing: `timing the serving path on ${s.count} ${s.unit}`,
  }[s.stage];
  return s.detail === undefined ? what : `${what} (${s.detail})`;
}

const pct = (v: number): string => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : 'n/a');
const num = (v: number, digits = 3): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const ns = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(0)} ns` : 'n/a');

function title(r: PipelineEvaluation): string {
  return r.variant === 'as-published' ? `${r.pipeline} (as published)` : `${r.pipeline} (causal)`;
}

function describeDrift(drift: { online: DriftReport; static: DriftReport }): string {
  const o = drift.online;
  const first = o.retrains[0];
  return (
    `drift watch (lake online from the split on, retraining only when its rolling accuracy drops): ${o.retrains.length} retrain(s)` +
    (first !== undefined
      ? `, first at read ${first.startedAtRead} (rolling accuracy ${num(first.rollingAccuracy)} < ${num(first.bar)})`
      : '') +
    `; rolling accuracy ${num(o.minRollingAccuracy)}-${num(o.maxRollingAccuracy)}; ` +
    `accuracy with retraining ${num(o.accuracy)} vs ${num(drift.static.accuracy)} without`
  );
}

function textReport(
  loaded: LoadedTrace,
  flags: EvalFlags,
  results: PipelineEvaluation[],
  drift: { online: DriftReport; static: DriftReport } | undefined,
): string {
  const lines: string[] = [];
  const source = loaded.files
    .map((f) => {
      const window =
        f.firstRecord !== undefined ? `, records ${f.firstRecord}-${f.firstRecord + f.ios - 1}` : '';
      return `${f.path} (${f.format}, ${f.ios} I/Os${window})`;
    })
    .join(' + ');
  lines.push(`lake eval: ${source}${flags.simulate === true ? ' replayed on a simulated SSD' : ''}`);
  for (const w of allWarnings(results)) lines.push(`WARNING ${w}`);
  lines.push('');
  if (results.length === 1) {
    const r = results[0]!;
    const m = r.metrics;
    lines.push(`${title(r)}: ${r.model}`);
    lines.push(
      `split: ${r.split === 'time' ? 'time-ordered (first half trains, second half tests)' : 'random 80/20'}; ` +
        `train ${r.trainCount} reads, test ${r.testCount} reads`,
    );
    lines.push(
      `labels: ${r.labels.method}; threshold ${r.labels.thresholdUs} us (p${num(r.labels.percentile, 1)}); ` +
        `slow: train ${pct(r.labels.trainSlowFraction)}, test ${pct(r.labels.testSlowFraction)}`,
    );
    lines.push('');
    const rows: string[][] = [
      ['ROC-AUC', num(m.rocAuc)],
      ['PR-AUC', num(m.prAuc)],
      ['accuracy', pct(m.accuracy)],
      ['F1', num(m.f1)],
      ['false submit (FNR)', pct(m.falseSubmitRate)],
      ['false revoke (FPR)', pct(m.falseRevokeRate)],
      ['decision threshold', `${num(r.decisionThreshold, 4)} (${r.thresholdRule})`],
      ['inference per prediction', `${ns(r.servingNs)} (${r.servingPath})`],
    ];
    if (r.featureNsPerEvent !== undefined)
      rows.push(['feature upkeep per submit/completion', ns(r.featureNsPerEvent)]);
    if (r.featureNsPerRead !== undefined) rows.push(['feature vector per read', ns(r.featureNsPerRead)]);
    rows.push(['training', `${r.trainSeconds.toFixed(2)} s`]);
    if (r.refit !== undefined) {
      rows.push([
        'retraining while serving',
        `${r.refit.refits} retrains live (every ${r.refit.every} known labels, ${r.refit.delayUs / 1000} ms to go live), ${r.refit.secondsPerRefit.toFixed(2)} s each`,
      ]);
    }
    for (const j of r.joint) {
      rows.push([
        `joint P=${j.p} ROC-AUC`,
        `${num(j.metrics.rocAuc)} (accuracy ${pct(j.metrics.accuracy)}, ${j.groups} groups, ${ns(j.servingNsPerGroup)} per group, ${ns(j.servingNsPerRead)} per read)`,
      ]);
    }
    if (r.crossTruth !== undefined) {
      rows.push(['ROC-AUC vs period truth', num(r.crossTruth.period.rocAuc)]);
      rows.push(['ROC-AUC vs latency truth', num(r.crossTruth.latency.rocAuc)]);
    }
    lines.push(markdownTable(['metric', 'value'], rows));
  } else {
    const rows = results.map((r) => [
      title(r) + (r.leaksFuture ? ' [LEAKS]' : ''),
      num(r.metrics.rocAuc),
      num(r.metrics.prAuc),
      pct(r.metrics.accuracy),
      num(r.metrics.f1),
      pct(r.metrics.falseSubmitRate),
      pct(r.metrics.falseRevokeRate),
      pct(r.labels.testSlowFraction),
      ns(r.servingNs),
      r.crossTruth ? num(r.crossTruth.period.rocAuc) : '-',
      r.crossTruth ? num(r.crossTruth.latency.rocAuc) : '-',
    ]);
    lines.push(
      markdownTable(
        [
          'pipeline',
          'ROC-AUC',
          'PR-AUC',
          'accuracy',
          'F1',
          'FNR',
          'FPR',
          'slow',
          'ns/pred',
          'vs period',
          'vs latency',
        ],
        rows,
      ),
    );
    lines.push('');
    lines.push(
      'ROC-AUC etc. are on each pipeline\u2019s own labels; "vs period" / "vs latency" score the same test reads ' +
        'against the shared truths (Heimdall period labels; latency above the training knee).',
    );
    for (const r of results) {
      if (r.refit === undefined) continue;
      lines.push(
        `${title(r)} retrained ${r.refit.refits} time(s) while serving (every ${r.refit.every} newly known labels; ` +
          `${r.refit.secondsPerRefit.toFixed(2)} s each; --refit-every 0 keeps one model).`,
      );
    }
  }
  if (drift !== undefined) {
    lines.push('');
    lines.push(describeDrift(drift));
  }
  return `${lines.join('\n')}\n`;
}

/** Leaks first (every output says them), then what makes a result hard to read. */
function allWarnings(results: readonly PipelineEvaluation[]): string[] {
  const warnings = results.filter((r) => r.leaksFuture).map((r) => `${title(r)}: ${r.leakNote}`);
  for (const r of results) {
    for (const w of resultWarnings(r)) warnings.push(`${title(r)}: ${w}`);
    for (const w of sampleWarnings(r)) warnings.push(`${title(r)}: ${w}`);
  }
  return warnings;
}

/** Figures that rest on too few reads: a part under MIN_THRESHOLD_READS, or a class under MIN_CLASS_READS. */
function sampleWarnings(r: PipelineEvaluation): string[] {
  const warnings: string[] = [];
  for (const [part, count, slowFraction] of [
    ['training', r.trainCount, r.labels.trainSlowFraction],
    ['test', r.testCount, r.labels.testSlowFraction],
  ] as const) {
    if (count < MIN_THRESHOLD_READS) {
      warnings.push(
        `the ${part} part holds only ${count} reads (at least ${MIN_THRESHOLD_READS} make a latency threshold and its figures more than noise; give a longer trace or --window)`,
      );
    }
    const slow = Number.isFinite(slowFraction) ? Math.round(slowFraction * count) : 0;
    warnings.push(...fewReadsWarnings(`the ${part} part`, { count, slow }));
  }
  return warnings;
}

function jsonReport(
  loaded: LoadedTrace,
  flags: EvalFlags,
  results: PipelineEvaluation[],
  drift: { online: DriftReport; static: DriftReport } | undefined,
): string {
  const warnings = allWarnings(results);
  const json = {
    tool: 'lake',
    command: 'eval',
    trace: loaded.files,
    simulated: flags.simulate === true,
    warnings,
    pipelines: results.map(({ test: _test, ...rest }) => rest),
    ...(drift !== undefined
      ? {
          drift: {
            summary: describeDrift(drift),
            online: drift.online,
            static: { accuracy: drift.static.accuracy, reads: drift.static.reads },
          },
        }
      : {}),
  };
  return `${JSON.stringify(json, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}
