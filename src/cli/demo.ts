/**
 * `lake demo`: LinnOS end to end on its embedded default (src/linnos/end-to-end.ts: three simulated SSDs,
 * trace, label, train per device, replay an unseen stretch under each policy), and with --models on the
 * LAKE runtime too (src/lake/linnos/run.ts). This file parses the flags, calls those, prints and reports.
 */
import type { Command } from 'commander';
import { DEFAULT_REVOKE_COST_US } from '../array/engine.js';
import { policyReport } from '../array/run.js';
import { usageError } from '../errors.js';
import { checkOutputs } from '../files/outputs.js';
import { describeFlash } from '../flash/index.js';
import { lakeResultJson } from '../lake/linnos/result-json.js';
import { type LakeLinnosResult, runLakeLinnos } from '../lake/linnos/run.js';
import { parseCrossovers, parseShapeList } from '../lake/linnos/shape-options.js';
import {
  DEFAULT_POLICY_BUDGET_US,
  DEFAULT_POLICY_LOAD_BUDGET_MS,
  type IsolatedPolicy,
  loadUserPolicy,
} from '../lake/policy/user-policy.js';
import {
  type DriftPhase,
  type DriftRunResult,
  type LinnosDriftResult,
  type PhaseQuality,
  runLinnosDrift,
} from '../linnos/drift-demo.js';
import {
  END_TO_END_FLASH,
  END_TO_END_PROFILES,
  type LinnosEndToEndResult,
  runLinnosEndToEnd,
  shareOfOracleGain,
} from '../linnos/end-to-end.js';
import type { DeviceModel } from '../linnos/pipeline.js';
import type { LinnosShape } from '../models/dense.js';
import { createProgress } from '../report/progress.js';
import type { Table } from '../report/table.js';
import type { LatencySummary } from '../report/types.js';
import { reportOutput } from '../report/write.js';
import { profiles } from '../trace/synth.js';
import { parseIntOption, parseNumberOption, parseSeedOption } from './options.js';
import {
  causesMarkdown,
  describeDevice,
  emitRunReport,
  policyJson,
  retrainingJson,
  round3,
} from './run-report.js';

interface DemoFlags {
  seed: string;
  quick?: boolean;
  json?: boolean;
  out: string;
  trainDuration?: string;
  testDuration?: string;
  epochs?: string;
  shape: string;
  revokeCost: string;
  models?: string;
  policy?: string;
  policyBudgetUs?: string;
  policyLoadBudgetMs?: string;
  crossovers?: string;
  drift?: boolean;
  retrain?: boolean;
  inferenceCostUs?: string;
}

const FULL = { trainS: 30, testS: 30, epochs: 15 };
/** --drift: traced stretch, replayed stretch (the change a third of the way in), epochs (first models and retrains). */
const DRIFT = { trainS: 6, testS: 18, epochs: 6 };
const QUICK = { trainS: 6, testS: 4, epochs: 6 };

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'LinnOS end to end on 3 simulated SSDs: trace, label, train, quantise, replay under each policy',
    )
    .option('--seed <n>', 'seed of every random choice', '7')
    .option(
      '--quick',
      `a short run (${QUICK.trainS} s traced, ${QUICK.testS} s replayed, ${QUICK.epochs} epochs)`,
    )
    .option('--train-duration <seconds>', `traced stretch (default ${FULL.trainS})`)
    .option('--test-duration <seconds>', `replayed, unseen stretch (default ${FULL.testS})`)
    .option('--epochs <n>', `training epochs (default ${FULL.epochs})`)
    .option('--shape <shape>', 'nn (31-256-2), nn+1 or nn+2', 'nn')
    .option(
      '--revoke-cost <us>',
      'cost of revoking a read and re-issuing it on the next replica',
      String(DEFAULT_REVOKE_COST_US),
    )
    .option(
      '--models <list>',
      'also run LinnOS on the LAKE runtime with these shapes (nn,nn+1,nn+2): inline vs lakeD vs the contention policy',
    )
    .option(
      '--policy <file>',
      'a JS module exporting the placement policy for --models runs (see docs/lake-policy.md)',
    )
    .option(
      '--policy-budget-us <us>',
      `CPU time one --policy call may take before the policy is stopped (default ${DEFAULT_POLICY_BUDGET_US})`,
    )
    .option(
      '--policy-load-budget-ms <ms>',
      `time the --policy module may take to load (default ${DEFAULT_POLICY_LOAD_BUDGET_MS})`,
    )
    .option(
      '--crossovers <list>',
      'use these crossovers for --models instead of measuring them (nn=9,nn+1=4,nn+2=never, as results.json records them): a reproducible run',
    )
    .option(
      '--inference-cost-us <us>',
      "inference time charged to each read LinnOS predicts (default: measured at the start, rounded up to 0.1 us; the report's params give it)",
    )
    .option('--out <dir>', 'where report.html, cdf.svg, cdf.png and results.json go', 'out/demo')
    .option('--json', 'print results.json on stdout (no progress output)')
    .option(
      '--retrain',
      "LinnOS retrains online: watches each device's accuracy, retrains and swaps its model when it drifts",
    )
    .option(
      '--drift',
      `a workload that changes mid-run (a third of the way into the replayed stretch, default ${DRIFT.testS} s: each SSD takes another profile at twice the rate, with write bursts): linnos with and without online retraining, accuracy before and after, time to recover, read latency (prints only)`,
    )
    .action(async (flags: DemoFlags) => {
      if (flags.drift === true) await driftCommand(flags);
      else await demoCommand(flags);
    });
}

function log(quiet: boolean, text: string): void {
  if (!quiet) process.stderr.write(`${text}\n`);
}

interface DemoSettings extends RunSettings {
  /** --models: shapes run on the LAKE runtime too (empty: none). */
  lakeShapes: LinnosShape[];
  crossovers: Partial<Record<LinnosShape, number | null>> | undefined;
  policyBudgetUs: number;
  policyLoadBudgetMs: number;
  /** --retrain: LinnOS retrains online during the replays. */
  retrain: boolean;
  quiet: boolean;
}

/** What every demo run takes: seed, stretches and epochs (the preset's unless given), costs and shape. */
interface RunSettings {
  seed: number;
  trainS: number;
  testS: number;
  epochs: number;
  revokeCostUs: number;
  shape: LinnosShape;
  /** --inference-cost-us: the time charged per predicted read, fixed (undefined: measured). */
  inferenceCostUs: number | undefined;
}

function parseRunSettings(
  flags: DemoFlags,
  preset: { trainS: number; testS: number; epochs: number },
  minTestS: number,
): RunSettings {
  const shape = flags.shape;
  if (shape !== 'nn' && shape !== 'nn+1' && shape !== 'nn+2')
    throw usageError(`--shape must be nn, nn+1 or nn+2, got "${shape}"`);
  return {
    seed: parseSeedOption('--seed', flags.seed),
    trainS:
      flags.trainDuration !== undefined
        ? parseNumberOption('--train-duration', flags.trainDuration, 1)
        : preset.trainS,
    testS:
      flags.testDuration !== undefined
        ? parseNumberOption('--test-duration', flags.testDuration, minTestS)
        : preset.testS,
    epochs: flags.epochs !== undefined ? parseIntOption('--epochs', flags.epochs, 1) : preset.epochs,
    revokeCostUs: parseNumberOption('--revoke-cost', flags.revokeCost, 0),
    shape,
    inferenceCostUs:
      flags.inferenceCostUs !== undefined
        ? parseNumberOption('--inference-cost-us', flags.inferenceCostUs, 0)
        : undefined,
  };
}

function parseDemoFlags(flags: DemoFlags): DemoSettings {
  const run = parseRunSettings(flags, flags.quick === true ? QUICK : FULL, 1);
  const lakeShapes = flags.models !== undefined ? parseShapeList(flags.models) : [];
  if (flags.crossovers !== undefined && lakeShapes.length === 0)
    throw usageError('--crossovers sets the crossovers of the --models runs: give --models too');
  if (flags.policy !== undefined && lakeShapes.length === 0)
    throw usageError('--policy places the batches of the --models runs: give --models too');
  const crossovers =
    flags.crossovers !== undefined ? parseCrossovers(flags.crossovers, lakeShapes) : undefined;
  const policyBudgetUs =
    flags.policyBudgetUs !== undefined
      ? parseNumberOption('--policy-budget-us', flags.policyBudgetUs, 1)
      : DEFAULT_POLICY_BUDGET_US;
  const policyLoadBudgetMs =
    flags.policyLoadBudgetMs !== undefined
      ? parseNumberOption('--policy-load-budget-ms', flags.policyLoadBudgetMs, 1)
      : DEFAULT_POLICY_LOAD_BUDGET_MS;
  return {
    ...run,
    lakeShapes,
    crossovers,
    policyBudgetUs,
    policyLoadBudgetMs,
    retrain: flags.retrain === true,
    quiet: flags.json === true,
  };
}

function workloadLines(): string[] {
  return END_TO_END_PROFILES.map((p, i) => {
    const w = profiles[p];
    return `ssd${i}: ${p} (${Math.round(1e6 / w.meanInterArrivalUs)} IOPS, ${Math.round(w.readFraction * 100)}% reads, reads ${w.read.meanKiB} KiB mean, writes ${w.write.meanKiB} KiB mean)`;
  });
}

function modelLine(m: DeviceModel): string {
  const q = m.report.quality;
  return (
    `ssd${m.device}: threshold ${Math.round(m.threshold.thresholdUs)} us (p${m.threshold.percentile.toFixed(1)}, ${m.threshold.method}; tangent ${Math.round(m.tangent.thresholdUs)} us), ` +
    `accuracy ${pct(q.accuracy)} vs majority ${pct(q.majorityRate)}, ROC-AUC ${q.rocAuc.toFixed(3)}`
  );
}

async function demoCommand(flags: DemoFlags): Promise<void> {
  const settings = parseDemoFlags(flags);
  const { seed, quiet } = settings;
  const warnings: string[] = [];
  const warn = (message: string): void => {
    warnings.push(message);
    process.stderr.write(`lake: warning: ${message}\n`);
  };
  const userPolicy: IsolatedPolicy | undefined =
    flags.policy !== undefined
      ? await loadUserPolicy(flags.policy, {
          budgetUs: settings.policyBudgetUs,
          loadBudgetMs: settings.policyLoadBudgetMs,
        })
      : undefined;
  let lake: LakeLinnosResult | undefined;
  let e2e: LinnosEndToEndResult;
  const started = performance.now();
  try {
    // The report directory is checked now, not after a run of minutes.
    checkOutputs(
      [reportOutput(flags.out)],
      flags.policy !== undefined ? [{ flag: '--policy', path: flags.policy }] : [],
    );
    const workloadText = workloadLines();
    log(
      quiet,
      `lake demo (seed ${seed}): LinnOS on ${END_TO_END_PROFILES.length} simulated SSDs, no write bursts`,
    );
    for (const line of workloadText) log(quiet, `  ${line}`);
    log(quiet, describeFlash({ ...END_TO_END_FLASH, name: 'each SSD' }).replace(/^/gm, '  '));
    log(
      quiet,
      `  traced stretch ${settings.trainS} s, then an unseen ${settings.testS} s stretch replayed per policy`,
    );
    const bar = createProgress({
      label: 'train',
      total: END_TO_END_PROFILES.length * settings.epochs,
      quiet,
    });
    e2e = await runLinnosEndToEnd({
      seed,
      trainS: settings.trainS,
      testS: settings.testS,
      epochs: settings.epochs,
      shape: settings.shape,
      revokeCostUs: settings.revokeCostUs,
      lakeShapes: settings.lakeShapes,
      onTraced: (t) => log(quiet, `traced ${t.ios} I/Os (${t.reads} reads)`),
      onEpoch: () => bar.increment(),
      onTrained: (models) => {
        bar.stop();
        for (const m of models) log(quiet, modelLine(m));
      },
      onRunStart: (spec) => log(quiet, `replaying the unseen stretch under ${spec.name}...`),
      onWarning: warn,
      ...(settings.retrain ? { retrain: {} } : {}),
      ...(settings.inferenceCostUs !== undefined ? { inferenceCostUs: settings.inferenceCostUs } : {}),
    });
    // LinnOS on the LAKE runtime, per shape: inline, every batch on lakeD, and the contention policy.
    if (e2e.lakeShapeModels.length > 0)
      lake = await runLakeLinnos({
        shapes: e2e.lakeShapeModels,
        arrivals: e2e.testArrivals,
        makeDevices: e2e.makeDevices,
        revokeCostUs: settings.revokeCostUs,
        ...(settings.crossovers !== undefined ? { crossovers: settings.crossovers } : {}),
        ...(userPolicy ? { userPolicy, onUserPolicyFault: (f: { message: string }) => warn(f.message) } : {}),
        onRunStart: (s, v) => log(quiet, `replaying under ${s} on LAKE (${v})...`),
      });
  } finally {
    await userPolicy?.close();
  }
  await emitDemoReport({ settings, e2e, lake, warnings, started, out: flags.out });
}

interface DemoReportInput {
  settings: DemoSettings;
  e2e: LinnosEndToEndResult;
  lake: LakeLinnosResult | undefined;
  warnings: string[];
  /** performance.now() at the start of the run (the summary's wall time). */
  started: number;
  out: string;
}

async function emitDemoReport(input: DemoReportInput): Promise<void> {
  const { settings, e2e, lake, warnings } = input;
  const { runs, models } = e2e;
  const workloadText = workloadLines();
  const deviceText = describeFlash({ ...END_TO_END_FLASH, name: 'each SSD' });
  const params = {
    command: 'lake demo',
    seed: settings.seed,
    workload: workloadText.join('; '),
    writeBursts: false,
    devices: `${e2e.profiles.length} x simulated SSD`,
    flash: deviceText,
    trainSeconds: settings.trainS,
    testSeconds: settings.testS,
    shape: settings.shape,
    epochs: settings.epochs,
    revokeCostUs: settings.revokeCostUs,
    // Charged to each read LinnOS predicts, measured or fixed (the summary says which): a run with
    // --inference-cost-us and this figure gives the same output as a run that measured it.
    inferenceCostUs: e2e.inference.chargedUs,
    policies: e2e.specs.map((s) => s.name).join(', '),
  };
  const json = {
    tool: 'lake',
    command: 'demo',
    params,
    policies: Object.fromEntries(
      runs.map((run) => [run.spec.name, policyJson(run, policyReport(run), describeDevice)]),
    ),
    models: Object.fromEntries(models.map((m) => [`ssd${m.device}`, modelJson(m)])),
    linnos: {
      falseSubmitRatePct: e2e.falseSubmitPct !== undefined ? round3(e2e.falseSubmitPct) : null,
      hedgePercentile: round3(e2e.hedgePercentile),
      online: Object.fromEntries(e2e.linnosPolicies.map((p) => [p.name, p.stats])),
      ...(settings.retrain ? { retraining: retrainingJson(e2e.linnosPolicies) } : {}),
    },
    inference: {
      nsPerPrediction: round3(e2e.inference.nsPerPrediction),
      backend: e2e.inference.backend,
      batch: 1,
    },
    ...(lake ? { lake: lakeResultJson(lake) } : {}),
    warnings,
  };
  const summary = `${summaryLines(input).join('\n')}\n\n${causesMarkdown(runs)}`;
  await emitRunReport({
    title: 'lake demo: LinnOS on three simulated SSDs',
    subtitle: `${workloadText.join('; ')}. No write bursts. Seed ${settings.seed}.`,
    params,
    runs,
    json,
    extraTables: lake ? [qualityTable(e2e), lake.table] : [qualityTable(e2e)],
    extraMarkdown: summary,
    extraSections: [{ heading: 'Summary', markdown: summary }],
    outDir: input.out,
    jsonMode: settings.quiet,
  });
}

function qualityTable(e2e: LinnosEndToEndResult): Table {
  return {
    title: 'model quality per device (held-back last 20% of the traced stretch, time-ordered)',
    headers: [
      'device',
      'threshold (us)',
      'pct',
      'slow %',
      'accuracy',
      'majority',
      'false submit',
      'false revoke',
      'ROC-AUC',
      'PR-AUC',
      'serving = float',
    ],
    rows: e2e.models.map((m) => {
      const q = m.report.quality;
      return [
        `ssd${m.device} (${e2e.profiles[m.device]})`,
        String(Math.round(m.threshold.thresholdUs)),
        `p${m.threshold.percentile.toFixed(1)}`,
        pct(m.slowFraction),
        pct(q.accuracy),
        pct(q.majorityRate),
        pct(q.falseSubmitRate),
        pct(q.falseRevokeRate),
        q.rocAuc.toFixed(3),
        q.prAuc.toFixed(3),
        pct(m.servingAgreement, 2),
      ];
    }),
  };
}

function summaryLines(input: DemoReportInput): string[] {
  const { e2e, lake, warnings } = input;
  const lines: string[] = [];
  const byName = (name: string) => e2e.runs.find((r) => r.spec.name === name);
  const baselineRun = byName('baseline');
  const linnosRun = byName('linnos');
  const oracle = byName('greedy-oracle');
  if (baselineRun && linnosRun) {
    const b = baselineRun.read.summary();
    const l = linnosRun.read.summary();
    lines.push(
      `- linnos average read latency ${Math.round(l.avgUs)} us vs baseline ${Math.round(b.avgUs)} us (${signedPct(l.avgUs / b.avgUs - 1)}); p99.9 ${Math.round(l.p999Us)} vs ${Math.round(b.p999Us)} us.`,
    );
    if (oracle) {
      const o = oracle.read.summary();
      const share = shareOfOracleGain(b.avgUs, l.avgUs, o.avgUs);
      lines.push(
        `- beside the greedy oracle (best replica per read given the queues now; not an upper bound): it averages ${Math.round(o.avgUs)} us; linnos reaches ${share !== undefined ? pct(share) : '-'} of its average-latency gain.`,
      );
    }
  }
  const f = e2e.falseSubmitPct;
  lines.push(
    `- linnos+hl hedges at p${e2e.hedgePercentile.toFixed(1)} of the baseline's read latency (pooled false-submit rate ${f !== undefined ? `${f.toFixed(1)}%` : 'unknown: no slow read held back'}).`,
  );
  const { nsPerPrediction, backend, decisionNs, chargedUs, chargedMeasured } = e2e.inference;
  lines.push(
    `- inference: ${nsPerPrediction.toFixed(0)} ns per prediction at batch 1 (${backend ?? 'none'} backend, measured on held-back vectors).`,
    `- charged: ${chargedUs} us of inference per read linnos and linnos+hl predict (${chargedMeasured ? `a decision on the submit path measured ${decisionNs.toFixed(0)} ns at the start, rounded up to 0.1 us` : 'fixed by --inference-cost-us'}); reproduce with --inference-cost-us ${chargedUs}.`,
  );
  if (input.settings.retrain)
    for (const p of e2e.linnosPolicies) {
      const devices = p.online?.report() ?? [];
      const retrains = devices.reduce((n, d) => n + d.retrains.length, 0);
      const audits = devices.reduce((n, d) => n + d.audits, 0);
      lines.push(
        `- ${p.name} retrained online (--retrain): ${retrains} retrain(s), ${audits} reads predicted slow submitted as audits; accuracy in service ${devices.map((d) => `ssd${d.device} ${pct(d.accuracy)}`).join(', ')}.`,
      );
    }
  if (lake !== undefined) lines.push(...lakeLines(lake));
  lines.push(`- wall time ${((performance.now() - input.started) / 1000).toFixed(1)} s.`);
  if (warnings.length > 0) lines.push('', 'Warnings:', ...warnings.map((w) => `- ${w}`));
  return lines;
}

function lakeLines(lake: LakeLinnosResult): string[] {
  const lines = [
    lake.crossoverSource === 'given'
      ? `- LAKE runtime: crossovers given (--crossovers ${lake.crossoversFlag}): nominal inference costs, no utilisation check: a rerun with this seed and these crossovers gives the same results.`
      : `- LAKE runtime: crossovers measured on this machine: ${lake.crossoversFlag} (pass --crossovers ${lake.crossoversFlag} to fix them; see docs/lake-policy.md).`,
  ];
  for (const f of lake.backendFaults) {
    const when = f.run !== undefined ? `during ${f.run} (batch ${f.batch})` : 'before the runs';
    lines.push(
      `- ${f.backend} faulted in lakeD ${when}: ${f.reason}; its batches finished on the CPU path, and the contention policy placed none there after (a variant that forces every batch there kept running them on the CPU path).`,
    );
  }
  const user = lake.userPolicy;
  if (user !== undefined) {
    lines.push(
      `- policy ${user.name}: ${user.calls} calls answered, ${user.faults} faults${user.stopped !== undefined ? `, stopped (${user.afterStop} later batches decided by the default placement)` : ''}${user.meanCallUs !== undefined && user.calls > 0 ? `, ${user.meanCallUs.toFixed(1)} us per call` : ''}.`,
    );
  }
  return lines;
}

function modelJson(m: DeviceModel): Record<string, unknown> {
  const q = m.report.quality;
  return {
    accuracy: round3(q.accuracy),
    majorityRate: round3(q.majorityRate),
    falseSubmitRate: round3(q.falseSubmitRate),
    falseRevokeRate: round3(q.falseRevokeRate),
    rocAuc: round3(q.rocAuc),
    prAuc: round3(q.prAuc),
    thresholdUs: round3(m.threshold.thresholdUs),
    thresholdPercentile: round3(m.threshold.percentile),
    thresholdMethod: m.threshold.method,
    tangentThresholdUs: round3(m.tangent.thresholdUs),
    slowFraction: round3(m.slowFraction),
    vectors: m.vectors,
    validationCount: m.report.validationCount,
    servingAgreement: m.servingAgreement,
    shape: m.report.layerSizes,
  };
}

function pct(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)}%`;
}

function signedPct(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
}

/** `lake demo --drift`: parse, run runLinnosDrift, print text or JSON (no report files). */
async function driftCommand(flags: DemoFlags): Promise<void> {
  for (const [flag, given] of [
    ['--models', flags.models],
    ['--policy', flags.policy],
    ['--crossovers', flags.crossovers],
    ['--quick', flags.quick],
  ] as const)
    if (given !== undefined) throw usageError(`${flag} does not apply to --drift`);
  const { seed, trainS, testS, epochs, revokeCostUs, inferenceCostUs, shape } = parseRunSettings(
    flags,
    DRIFT,
    3,
  );
  const quiet = flags.json === true;
  const started = performance.now();
  const result = await runLinnosDrift({
    seed,
    trainS,
    // The change comes a third of the way into the replayed stretch.
    changeS: testS / 3,
    afterS: (testS * 2) / 3,
    epochs,
    shape,
    revokeCostUs,
    ...(inferenceCostUs !== undefined ? { inferenceCostUs } : {}),
    retrain: { epochs },
    onStage: (text) => log(quiet, `${text}...`),
  });
  if (quiet) {
    process.stdout.write(`${JSON.stringify(driftJson(result, seed), null, 2)}\n`);
    return;
  }
  process.stdout.write(`${driftText(result, seed, (performance.now() - started) / 1000).join('\n')}\n`);
}

function phaseJson(q: PhaseQuality): Record<string, number | null> {
  return {
    predictions: q.predictions,
    accuracy: round3(q.accuracy),
    falseSubmitRate: round3(q.falseSubmitRate),
    falseRevokeRate: round3(q.falseRevokeRate),
  };
}

function latencyJson(s: LatencySummary): Record<string, number> {
  return { meanUs: round3(s.avgUs), p99Us: round3(s.p99Us), p999Us: round3(s.p999Us) };
}

function driftRunJson(r: DriftRunResult): Record<string, unknown> {
  return {
    retraining: r.retraining,
    accuracy: {
      beforeChange: phaseJson(r.phases.before),
      rightAfter: phaseJson(r.phases.rightAfter),
      settled: phaseJson(r.phases.settled),
    },
    recoveryS: r.recoveryS,
    retrains: r.retrains.length,
    retrainLog: r.retrains.map((x) => ({
      device: x.device,
      reason: x.reason,
      triggeredAtS: round3(x.triggeredAtUs / 1e6),
      swappedAtS: round3(x.swappedAtUs / 1e6),
      rollingAccuracy: round3(x.rollingAccuracy),
      thresholdUs: round3(x.thresholdUs),
      rows: x.rows,
      validationAccuracy: round3(x.validationAccuracy),
    })),
    failedRetrains: r.failedRetrains,
    rejectedRetrains: r.rejectedRetrains,
    audits: r.audits,
    read: latencyJson(r.read),
    windows: r.windows.map((w) => ({ startS: round3(w.startUs / 1e6), accuracy: round3(w.accuracy) })),
  };
}

function driftJson(r: LinnosDriftResult, seed: number): Record<string, unknown> {
  return {
    tool: 'lake',
    command: 'demo --drift',
    params: {
      seed,
      trainSeconds: r.trainS,
      changeAtS: r.changeS,
      afterSeconds: r.afterS,
      before: r.before,
      after: r.after,
      windowMs: r.windowMs,
      tolerance: r.tolerance,
      // Charged to each read linnos predicts, measured or fixed: a run with --inference-cost-us and this
      // figure gives the same output as the run that measured it.
      inferenceCostUs: r.inference.chargedUs,
    },
    baseline: { read: latencyJson(r.baselineRead) },
    static: driftRunJson(r.static),
    online: driftRunJson(r.online),
  };
}

function driftText(r: LinnosDriftResult, seed: number, wallS: number): string[] {
  const phaseCell = (q: PhaseQuality): string =>
    `${pct(q.accuracy)} (FS ${pct(q.falseSubmitRate)}, FR ${pct(q.falseRevokeRate)})`;
  const describe = (p: DriftPhase): string =>
    `${p.profiles.join('/')}${p.rateScale !== 1 ? ` at ${p.rateScale}x the rate` : ''}${p.writeBursts !== false ? ', write bursts' : ''}`;
  const lines = [
    `lake demo --drift (seed ${seed}): ${describe(r.before)} for ${r.trainS} s traced + ${r.changeS} s, then ${describe(r.after)} for ${r.afterS} s`,
    `accuracy at each model's own threshold, audit-weighted, pooled over the devices (FS false submit, FR false revoke):`,
  ];
  for (const run of [r.static, r.online]) {
    const name = run.retraining ? 'linnos, retraining online' : 'linnos, first models ';
    lines.push(
      `  ${name}: before ${phaseCell(run.phases.before)}; right after ${phaseCell(run.phases.rightAfter)}; settled ${phaseCell(run.phases.settled)}`,
    );
    lines.push(
      `    ${run.retrains.length} retrain(s) live${run.rejectedRetrains > 0 ? `, ${run.rejectedRetrains} rejected (held-back accuracy far below the majority rate)` : ''}${run.failedRetrains > 0 ? `, ${run.failedRetrains} failed` : ''}, ${run.audits} audits; ` +
        (run.recoveryS !== null
          ? `back within ${pct(r.tolerance)} of the pre-change accuracy ${run.recoveryS.toFixed(1)} s after the change`
          : 'never back within tolerance of the pre-change accuracy') +
        `; read latency mean ${Math.round(run.read.avgUs)} us, p99 ${Math.round(run.read.p99Us)} us, p99.9 ${Math.round(run.read.p999Us)} us`,
    );
  }
  const b = r.baselineRead;
  const { chargedUs, measuredNs } = r.inference;
  lines.push(
    `  charged: ${chargedUs} us of inference per read linnos predicts (${measuredNs !== null ? `a decision on the submit path measured ${measuredNs.toFixed(0)} ns at the start, rounded up to 0.1 us` : 'fixed by --inference-cost-us'}); reproduce with --inference-cost-us ${chargedUs}`,
    `  baseline read latency mean ${Math.round(b.avgUs)} us, p99 ${Math.round(b.p99Us)} us, p99.9 ${Math.round(b.p999Us)} us`,
    `wall time ${wallS.toFixed(1)} s`,
  );
  return lines;
}
