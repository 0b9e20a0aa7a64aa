/**
 * `lake demo`: LinnOS end to end on its embedded default. Three simulated SSDs each replay their own
 * workload (Azure, Bing-I, Cosmos); a first stretch is traced under the plain path, labelled at each device's
 * inflection point, and a model is trained per device and quantised; then a later, unseen stretch is replayed
 * under baseline, hedging95, linnos, linnos+hl and greedy-oracle.
 */
import type { Command } from 'commander';
import { mergeStreams, replay } from '../array/engine.js';
import { parsePolicyList } from '../array/policies.js';
import { policyReport, runPolicies, type Workload } from '../array/run.js';
import type { IoRecord } from '../array/types.js';
import { usageError } from '../errors.js';
import { checkOutputs } from '../files/outputs.js';
import { createFlashDevice, describeFlash, type FlashOptions } from '../flash/index.js';
import { lakeResultJson, parseCrossovers, parseShapeList, trainShapeModels } from '../lake/linnos/demo.js';
import { runLakeLinnos } from '../lake/linnos/run.js';
import {
  DEFAULT_POLICY_BUDGET_US,
  DEFAULT_POLICY_LOAD_BUDGET_MS,
  type IsolatedPolicy,
  loadUserPolicy,
} from '../lake/policy/user-policy.js';
import { majorityWarning } from '../learn/metrics.js';
import { type DeviceModel, measureInferenceNs, trainLinnosArray } from '../linnos/pipeline.js';
import { LinnosPolicy } from '../linnos/policy.js';
import { createProgress } from '../report/progress.js';
import type { Table } from '../report/table.js';
import { reportOutput } from '../report/write.js';
import { type ProfileName, profiles, synthesize } from '../trace/synth.js';
import type { TraceRecord } from '../trace/types.js';
import { parseIntOption, parseNumberOption, parseSeedOption } from './options.js';
import { causesMarkdown, describeDevice, emitRunReport, policyJson, round3 } from './run-report.js';

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
}

export const DEMO_PROFILES: readonly ProfileName[] = ['azure', 'bing-i', 'cosmos'];
export const DEMO_POLICIES = 'baseline,hedging95,linnos,linnos+hl,greedy-oracle';
const FULL = { trainS: 30, testS: 30, epochs: 15 };
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
    .option('--revoke-cost <us>', 'cost of revoking a read and re-issuing it on the next replica', '5')
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
    .option('--out <dir>', 'where report.html, cdf.svg, cdf.png and results.json go', 'out/demo')
    .option('--json', 'print results.json on stdout (no progress output)')
    .action(async (flags: DemoFlags) => {
      await demoCommand(flags);
    });
}

function log(quiet: boolean, text: string): void {
  if (!quiet) process.stderr.write(`${text}\n`);
}

async function demoCommand(flags: DemoFlags): Promise<void> {
  const seed = parseSeedOption('--seed', flags.seed);
  const preset = flags.quick === true ? QUICK : FULL;
  const trainS =
    flags.trainDuration !== undefined
      ? parseNumberOption('--train-duration', flags.trainDuration, 1)
      : preset.trainS;
  const testS =
    flags.testDuration !== undefined
      ? parseNumberOption('--test-duration', flags.testDuration, 1)
      : preset.testS;
  const epochs = flags.epochs !== undefined ? parseIntOption('--epochs', flags.epochs, 1) : preset.epochs;
  const revokeCostUs = parseNumberOption('--revoke-cost', flags.revokeCost, 0);
  const shape = flags.shape;
  if (shape !== 'nn' && shape !== 'nn+1' && shape !== 'nn+2')
    throw usageError(`--shape must be nn, nn+1 or nn+2, got "${shape}"`);
  const quiet = flags.json === true;
  const warnings: string[] = [];
  const warn = (message: string): void => {
    warnings.push(message);
    process.stderr.write(`lake: warning: ${message}\n`);
  };
  const shapes = flags.models !== undefined ? parseShapeList(flags.models) : [];
  if (flags.crossovers !== undefined && shapes.length === 0)
    throw usageError('--crossovers sets the crossovers of the --models runs: give --models too');
  if (flags.policy !== undefined && shapes.length === 0)
    throw usageError('--policy places the batches of the --models runs: give --models too');
  const crossovers = flags.crossovers !== undefined ? parseCrossovers(flags.crossovers, shapes) : undefined;
  const policyBudgetUs =
    flags.policyBudgetUs !== undefined
      ? parseNumberOption('--policy-budget-us', flags.policyBudgetUs, 1)
      : DEFAULT_POLICY_BUDGET_US;
  const policyLoadBudgetMs =
    flags.policyLoadBudgetMs !== undefined
      ? parseNumberOption('--policy-load-budget-ms', flags.policyLoadBudgetMs, 1)
      : DEFAULT_POLICY_LOAD_BUDGET_MS;
  const userPolicy: IsolatedPolicy | undefined =
    flags.policy !== undefined
      ? await loadUserPolicy(flags.policy, { budgetUs: policyBudgetUs, loadBudgetMs: policyLoadBudgetMs })
      : undefined;
  // The report directory is checked now, not after a run of minutes.
  checkOutputs(
    [reportOutput(flags.out)],
    flags.policy !== undefined ? [{ flag: '--policy', path: flags.policy }] : [],
  );
  const started = performance.now();

  const deviceCount = DEMO_PROFILES.length;
  const flash: FlashOptions = { profile: 'femu' };
  const makeDevices = () =>
    DEMO_PROFILES.map((_, i) =>
      createFlashDevice({ ...flash, name: `ssd${i}`, seed: seed * 10 + i + 1, reuseResult: true }),
    );
  const trainMs = trainS * 1000;
  const testMs = testS * 1000;
  // One continuous workload per device; the first stretch trains, the later one is replayed unseen.
  const streams = () =>
    DEMO_PROFILES.map((profile, i) =>
      synthesize(profile, { durationMs: trainMs + testMs, seed: seed * 1000 + i }),
    );
  const trainArrivals = (): Iterable<TraceRecord> => takeWhileBefore(mergeStreams(streams()), trainMs);
  const testArrivals = (): Iterable<TraceRecord> => shiftFrom(mergeStreams(streams()), trainMs);

  const workloadText = DEMO_PROFILES.map((p, i) => {
    const w = profiles[p];
    return `ssd${i}: ${p} (${Math.round(1e6 / w.meanInterArrivalUs)} IOPS, ${Math.round(w.readFraction * 100)}% reads, reads ${w.read.meanKiB} KiB mean, writes ${w.write.meanKiB} KiB mean)`;
  });
  const deviceText = describeFlash({ ...flash, name: 'each SSD' });
  log(quiet, `lake demo (seed ${seed}): LinnOS on ${deviceCount} simulated SSDs, no write bursts`);
  for (const line of workloadText) log(quiet, `  ${line}`);
  log(quiet, deviceText.replace(/^/gm, '  '));
  log(quiet, `  traced stretch ${trainS} s, then an unseen ${testS} s stretch replayed per policy`);

  // 1. Trace the first stretch on the plain path.
  const records: IoRecord[] = [];
  const traced = replay(trainArrivals(), {
    devices: makeDevices(),
    policy: { name: 'baseline' },
    revokeCostUs,
    onRecord: (r) => records.push(r),
  });
  log(quiet, `traced ${traced.ios} I/Os (${traced.reads} reads)`);

  // 2-4. Label, train and quantise one model per device.
  const bar = createProgress({ label: 'train', total: deviceCount * epochs, quiet });
  const models = trainLinnosArray({
    records,
    deviceCount,
    shape,
    epochs,
    seed,
    revokeCostUs,
    onEpoch: () => bar.increment(),
  });
  bar.stop();
  const lakeShapes =
    shapes.length > 0
      ? trainShapeModels({
          records,
          deviceCount,
          shapes,
          epochs,
          seed,
          revokeCostUs,
          trained: { [shape]: models },
        })
      : undefined;
  const lakeModels = lakeShapes?.models ?? [];
  records.length = 0;
  for (const m of models) {
    const q = m.report.quality;
    log(
      quiet,
      `ssd${m.device}: threshold ${Math.round(m.threshold.thresholdUs)} us (p${m.threshold.percentile.toFixed(1)}, ${m.threshold.method}; tangent ${Math.round(m.tangent.thresholdUs)} us), ` +
        `accuracy ${pct(q.accuracy)} vs majority ${pct(q.majorityRate)}, ROC-AUC ${q.rocAuc.toFixed(3)}`,
    );
  }
  // A model no better than always predicting the majority class is worth nothing: say so, per model.
  const qualityByShape: [string, readonly DeviceModel[]][] = [[shape, models]];
  for (const [s, trained] of Object.entries(lakeShapes?.trained ?? {}))
    if (s !== shape) qualityByShape.push([s, trained]);
  for (const [s, trained] of qualityByShape) {
    for (const m of trained) {
      const message = majorityWarning(
        `ssd${m.device} ${s} model (held-back reads of the traced stretch)`,
        m.report.quality,
      );
      if (message !== undefined) warn(message);
    }
  }
  const predictors = Array.from(
    { length: deviceCount },
    (_, d) => models.find((m) => m.device === d)?.predictor,
  );
  let slowHeld = 0;
  let missedHeld = 0;
  for (const m of models) {
    slowHeld += m.report.quality.confusion.truePositive + m.report.quality.confusion.falseNegative;
    missedHeld += m.report.quality.confusion.falseNegative;
  }
  const falseSubmitPct = slowHeld > 0 ? (100 * missedHeld) / slowHeld : 0;
  const hedgePercentile = falseSubmitPct <= 5 ? 95 : 100 - falseSubmitPct;

  // 5. Replay the unseen stretch under each policy.
  const specs = parsePolicyList(DEMO_POLICIES);
  const linnosPolicies: LinnosPolicy[] = [];
  const workload: Workload = { kind: 'memory', arrivals: testArrivals };
  const runs = await runPolicies({
    workload,
    makeDevices,
    specs,
    seed,
    revokeCostUs,
    makePolicy: (spec, prior) => {
      if (spec.kind !== 'linnos') return undefined;
      let hedgeAfterUs: number | undefined;
      if (spec.hedged) {
        const baseline = prior.baseline;
        if (baseline === undefined) return undefined;
        hedgeAfterUs = baseline.read.percentileUs(hedgePercentile);
      }
      const policy = new LinnosPolicy({
        name: spec.name,
        predictors,
        ...(hedgeAfterUs !== undefined ? { hedgeAfterUs } : {}),
      });
      linnosPolicies.push(policy);
      return policy;
    },
    onRunStart: (spec) => log(quiet, `replaying the unseen stretch under ${spec.name}...`),
  });

  // LinnOS on the LAKE runtime, per shape: inline, every batch on lakeD, and the contention policy.
  let lake: Awaited<ReturnType<typeof runLakeLinnos>> | undefined;
  try {
    lake =
      lakeModels.length > 0
        ? await runLakeLinnos({
            shapes: lakeModels,
            arrivals: testArrivals,
            makeDevices,
            revokeCostUs,
            ...(crossovers !== undefined ? { crossovers } : {}),
            ...(userPolicy
              ? { userPolicy, onUserPolicyFault: (f: { message: string }) => warn(f.message) }
              : {}),
            onRunStart: (s, v) => log(quiet, `replaying under ${s} on LAKE (${v})...`),
          })
        : undefined;
  } finally {
    await userPolicy?.close();
  }

  // Serving cost on real vectors of the traced stretch.
  const probe = models[0];
  const nsPerPrediction = probe ? measureInferenceNs(probe.predictor, probe.heldBack) : Number.NaN;
  for (const m of models) m.predictor.dispose();

  const params = {
    command: 'lake demo',
    seed,
    workload: workloadText.join('; '),
    writeBursts: false,
    devices: `${deviceCount} x simulated SSD`,
    flash: deviceText,
    trainSeconds: trainS,
    testSeconds: testS,
    shape,
    epochs,
    revokeCostUs,
    policies: specs.map((s) => s.name).join(', '),
  };
  const baselineRun = runs.find((r) => r.spec.name === 'baseline');
  const json = {
    tool: 'lake',
    command: 'demo',
    params,
    policies: Object.fromEntries(
      runs.map((run) => [run.spec.name, policyJson(run, policyReport(run), describeDevice)]),
    ),
    models: Object.fromEntries(models.map((m) => [`ssd${m.device}`, modelJson(m)])),
    linnos: {
      falseSubmitRatePct: round3(falseSubmitPct),
      hedgePercentile: round3(hedgePercentile),
      online: Object.fromEntries(linnosPolicies.map((p) => [p.name, p.stats])),
    },
    inference: {
      nsPerPrediction: round3(nsPerPrediction),
      backend: probe?.predictor.backend ?? null,
      batch: 1,
    },
    ...(lake ? { lake: lakeResultJson(lake) } : {}),
    warnings,
  };
  const qualityTable: Table = {
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
    rows: models.map((m) => {
      const q = m.report.quality;
      return [
        `ssd${m.device} (${DEMO_PROFILES[m.device]})`,
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
  const oracle = runs.find((r) => r.spec.name === 'greedy-oracle');
  const linnosRun = runs.find((r) => r.spec.name === 'linnos');
  const summaryLines: string[] = [];
  if (baselineRun && linnosRun) {
    const b = baselineRun.read.summary();
    const l = linnosRun.read.summary();
    summaryLines.push(
      `- linnos average read latency ${Math.round(l.avgUs)} us vs baseline ${Math.round(b.avgUs)} us (${signedPct(l.avgUs / b.avgUs - 1)}); p99.9 ${Math.round(l.p999Us)} vs ${Math.round(b.p999Us)} us.`,
    );
    if (oracle) {
      const o = oracle.read.summary();
      const gap = b.avgUs - o.avgUs;
      summaryLines.push(
        `- beside the greedy oracle (best replica per read given the queues now; not an upper bound): it averages ${Math.round(o.avgUs)} us; linnos reaches ${gap > 0 ? pct((b.avgUs - l.avgUs) / gap) : '-'} of its average-latency gain.`,
      );
    }
  }
  summaryLines.push(
    `- linnos+hl hedges at p${hedgePercentile.toFixed(1)} of the baseline's read latency (pooled false-submit rate ${falseSubmitPct.toFixed(1)}%).`,
  );
  summaryLines.push(
    `- inference: ${nsPerPrediction.toFixed(0)} ns per prediction at batch 1 (${probe?.predictor.backend ?? 'none'} backend, measured on held-back vectors).`,
  );
  if (lake !== undefined) {
    summaryLines.push(
      lake.crossoverSource === 'given'
        ? `- LAKE runtime: crossovers given (--crossovers ${lake.crossoversFlag}): nominal inference costs, no utilisation check: a rerun with this seed and these crossovers gives the same results.`
        : `- LAKE runtime: crossovers measured on this machine: ${lake.crossoversFlag} (pass --crossovers ${lake.crossoversFlag} to fix them; see docs/lake-policy.md).`,
    );
    const user = lake.userPolicy;
    if (user !== undefined) {
      summaryLines.push(
        `- policy ${user.name}: ${user.calls} calls answered, ${user.faults} faults${user.stopped !== undefined ? `, stopped (${user.afterStop} later batches decided by the default placement)` : ''}${user.meanCallUs !== undefined && user.calls > 0 ? `, ${user.meanCallUs.toFixed(1)} us per call` : ''}.`,
      );
    }
  }
  summaryLines.push(`- wall time ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  if (warnings.length > 0) summaryLines.push('', 'Warnings:', ...warnings.map((w) => `- ${w}`));
  const summary = summaryLines.join('\n');
  await emitRunReport({
    title: 'lake demo: LinnOS on three simulated SSDs',
    subtitle: `${workloadText.join('; ')}. No write bursts. Seed ${seed}.`,
    params,
    runs,
    json,
    extraTables: lake ? [qualityTable, lake.table] : [qualityTable],
    extraMarkdown: `${summary}\n\n${causesMarkdown(runs)}`,
    extraSections: [{ heading: 'Summary', markdown: `${summary}\n\n${causesMarkdown(runs)}` }],
    outDir: flags.out,
    jsonMode: quiet,
  });
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

function* takeWhileBefore(arrivals: Iterable<TraceRecord>, endMs: number): Generator<TraceRecord> {
  for (const r of arrivals) {
    if (r.arrivalMs >= endMs) return;
    yield r;
  }
}

function* shiftFrom(arrivals: Iterable<TraceRecord>, startMs: number): Generator<TraceRecord> {
  for (const r of arrivals) if (r.arrivalMs >= startMs) yield { ...r, arrivalMs: r.arrivalMs - startMs };
}
