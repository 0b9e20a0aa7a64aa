/**
 * `lake simulate`: replay a workload (a generated profile, or trace files, one per device) on simulated
 * SSDs under each admission policy, and report read latency per policy.
 */
import type { Command } from 'commander';
import { DEFAULT_REVOKE_COST_US, mergeBatchStreams, mergeStreams } from '../array/engine.js';
import { parsePolicyList } from '../array/policies.js';
import { policyReport, runPolicies, type Workload } from '../array/run.js';
import { usageError } from '../errors.js';
import { checkOutputs } from '../files/outputs.js';
import {
  createFlashDevice,
  describeFlash,
  type FlashProfileName,
  flashProfileNames,
} from '../flash/index.js';
import { countBatches, createProgress, type Progress } from '../report/progress.js';
import { reportOutput } from '../report/write.js';
import { openTrace } from '../trace/read.js';
import { type ProfileName, profileNames, profiles, synthesize } from '../trace/synth.js';
import type { TraceRecord } from '../trace/types.js';
import {
  parseFormatOption,
  parseIntOption,
  parseNumberOption,
  parseSeedOption,
  splitList,
} from './options.js';
import { causesMarkdown, describeDevice, emitRunReport, policyJson } from './run-report.js';

interface SimulateFlags {
  profile: string;
  trace?: string;
  format?: string;
  skipBad?: boolean;
  arrivals: string;
  devices: string;
  policies: string;
  duration: string;
  seed: string;
  flash: string;
  revokeCost: string;
  writeBursts?: boolean;
  rateScale: string;
  out?: string;
  json?: boolean;
}

export const DEFAULT_SIMULATE = {
  profile: 'azure',
  devices: '3',
  policies: 'baseline,random,hedging95,greedy-oracle',
  duration: '20',
  seed: '7',
  flash: 'femu',
  revokeCost: String(DEFAULT_REVOKE_COST_US),
  rateScale: '1',
} as const;

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('replay a workload on simulated SSD replicas under each admission policy')
    .option(
      '--profile <names>',
      `workload profile per device, cycled: ${profileNames.join(', ')}`,
      DEFAULT_SIMULATE.profile,
    )
    .option('--trace <files>', 'replay trace files instead, one per device (comma-separated)')
    .option('--format <format>', 'trace format (detected when absent)')
    .option('--skip-bad', 'skip and count malformed trace lines')
    .option(
      '--arrivals <clock>',
      'with --trace: replay each I/O at its arrival time ("trace") or at its recorded submission time ("submit", where the format records one)',
      'trace',
    )
    .option('--devices <n>', 'replicas', DEFAULT_SIMULATE.devices)
    .option(
      '--policies <list>',
      'baseline, random, random@P, hedgingNN, greedy-oracle',
      DEFAULT_SIMULATE.policies,
    )
    .option('--duration <seconds>', 'generated workload length', DEFAULT_SIMULATE.duration)
    .option('--seed <n>', 'seed of every random choice', DEFAULT_SIMULATE.seed)
    .option(
      '--flash <profile>',
      `SSD timing profile: ${flashProfileNames.join(', ')}`,
      DEFAULT_SIMULATE.flash,
    )
    .option(
      '--revoke-cost <us>',
      'cost of revoking a read and re-issuing it on the next replica',
      DEFAULT_SIMULATE.revokeCost,
    )
    .option('--rate-scale <x>', 'multiply the generated arrival rate', DEFAULT_SIMULATE.rateScale)
    .option('--write-bursts', 'add periodic write bursts to the generated workload')
    .option('--out <dir>', 'write results.json, cdf.svg, cdf.png and report.html here')
    .option('--json', 'print JSON on stdout (no progress bar)')
    .action(async (flags: SimulateFlags) => {
      await simulateCommand(flags);
    });
}

/** What the policies replay, the I/O count the progress bars expect, and how the report names it. */
interface SimulatedWorkload {
  workload: Workload;
  expectedIos: number;
  description: string;
}

/**
 * The --trace files as the workload: one spread over the devices by devno, or one per device, at arrival
 * or recorded submission times. Every file is read through first, so a malformed one fails before any
 * replay starts (and its records are counted).
 */
async function traceWorkload(
  flags: SimulateFlags,
  trace: string,
  deviceCount: number,
): Promise<SimulatedWorkload> {
  const quiet = flags.json === true;
  const paths = splitList(trace);
  if (paths.length === 0) throw usageError('--trace must name at least one file');
  if (paths.length !== 1 && paths.length !== deviceCount) {
    throw usageError(
      `--trace names ${paths.length} files for ${deviceCount} devices: give one, or one per device`,
    );
  }
  const format = parseFormatOption(flags.format);
  const readOptions = { ...(format ? { format } : {}), skipBad: flags.skipBad === true };
  let expectedIos = 0;
  for (const path of paths) {
    const reader = openTrace(path, readOptions);
    const reading = createProgress({ label: `read ${path}`, unit: 'records', quiet, showAfterMs: 1000 });
    for await (const batch of countBatches(reader, reading)) expectedIos += batch.length;
  }
  if (flags.arrivals !== 'trace' && flags.arrivals !== 'submit') {
    throw usageError(`--arrivals must be trace or submit, got "${flags.arrivals}"`);
  }
  const clock = flags.arrivals;
  // Recorded submission times spread a coarse trace's bursts (Tencent's 1-second timestamps) the way the
  // recording replayer issued them.
  const open = (path: string): AsyncIterable<readonly TraceRecord[]> =>
    clock === 'submit' ? atSubmitTimes(openTrace(path, readOptions)) : openTrace(path, readOptions);
  const workload: Workload =
    paths.length === 1
      ? { kind: 'stream', batches: () => open(paths[0]!) }
      : { kind: 'stream', batches: () => mergeBatchStreams(paths.map(open)) };
  const spread = paths.length === 1 ? `${paths[0]} spread over devices by devno` : paths.join(', ');
  const times = clock === 'submit' ? 'recorded submission' : 'arrival';
  return { workload, expectedIos, description: `${spread}, replayed at ${times} times` };
}

/**
 * The generated workload: the --profile list cycled over the devices, each device's stream seeded apart;
 * the expected I/O count is the profiles' mean rate times the duration (the bars settle on the real one).
 */
function generatedWorkload(
  flags: SimulateFlags,
  deviceCount: number,
  seed: number,
  durationS: number,
  rateScale: number,
): SimulatedWorkload {
  const names = splitList(flags.profile).map(parseProfile);
  const perDevice = Array.from({ length: deviceCount }, (_, i) => names[i % names.length]!);
  const durationMs = durationS * 1000;
  const arrivals = (): Iterable<TraceRecord> =>
    mergeStreams(
      perDevice.map((profile, i) =>
        synthesize(profile, {
          durationMs,
          seed: seed * 1000 + i,
          rateScale,
          writeBursts: flags.writeBursts === true,
        }),
      ),
    );
  const expectedIos = Math.round(
    perDevice.reduce((sum, p) => sum + (durationMs * 1000 * rateScale) / profiles[p].meanInterArrivalUs, 0),
  );
  const description = `${perDevice.join(', ')} for ${durationS} s${flags.writeBursts ? ' with write bursts' : ''}${rateScale !== 1 ? ` at ${rateScale}x rate` : ''}`;
  return { workload: { kind: 'memory', arrivals }, expectedIos, description };
}

/** Every policy's replay on fresh simulated devices, one progress bar per run unless quiet. */
async function replayPolicies(
  simulated: SimulatedWorkload,
  makeDevices: () => ReturnType<typeof createFlashDevice>[],
  specs: ReturnType<typeof parsePolicyList>,
  seed: number,
  revokeCostUs: number,
  quiet: boolean,
): Promise<Awaited<ReturnType<typeof runPolicies>>> {
  let expectedIos = simulated.expectedIos;
  let progress: Progress | undefined;
  try {
    const runs = await runPolicies({
      workload: simulated.workload,
      makeDevices,
      specs,
      seed,
      revokeCostUs,
      onRunStart: (spec) => {
        // A run starts when the one before has finished: its count is final.
        progress?.complete();
        progress = createProgress({ label: `replay ${spec.name}`, total: expectedIos, unit: 'I/Os', quiet });
      },
      onProgress: (_spec, arrived) => {
        // A generated workload's count is an estimate from its mean rate; complete() settles it.
        if (arrived > expectedIos) {
          expectedIos = arrived;
          progress?.setTotal(arrived);
        }
        progress?.update(arrived);
      },
    });
    progress?.complete();
    return runs;
  } finally {
    progress?.stop();
  }
}

async function simulateCommand(flags: SimulateFlags): Promise<void> {
  const deviceCount = parseIntOption('--devices', flags.devices, 1);
  const seed = parseSeedOption('--seed', flags.seed);
  const durationS = parseNumberOption('--duration', flags.duration, { above: 0 });
  const revokeCostUs = parseNumberOption('--revoke-cost', flags.revokeCost, 0);
  const rateScale = parseNumberOption('--rate-scale', flags.rateScale, { above: 0 });
  const specs = parsePolicyList(flags.policies);
  for (const s of specs) {
    if (s.kind === 'linnos')
      throw usageError(`policy ${s.name} needs trained models: run it through lake demo`);
  }
  const flashProfile = parseFlashProfile(flags.flash);
  const quiet = flags.json === true;
  if (flags.out !== undefined)
    checkOutputs(
      [reportOutput(flags.out)],
      splitList(flags.trace ?? '').map((path) => ({ flag: '--trace', path })),
    );
  const simulated =
    flags.trace !== undefined
      ? await traceWorkload(flags, flags.trace, deviceCount)
      : generatedWorkload(flags, deviceCount, seed, durationS, rateScale);

  const flashOptions = { profile: flashProfile };
  const makeDevices = () =>
    Array.from({ length: deviceCount }, (_, i) =>
      createFlashDevice({ ...flashOptions, name: `ssd${i}`, seed: seed + i, reuseResult: true }),
    );
  const started = performance.now();
  const runs = await replayPolicies(simulated, makeDevices, specs, seed, revokeCostUs, quiet);
  const wallS = (performance.now() - started) / 1000;
  const ios = runs.reduce((sum, r) => sum + r.result.ios, 0);
  if (!quiet)
    process.stderr.write(
      `replayed ${ios} I/Os in ${wallS.toFixed(1)} s (${Math.round(ios / wallS)} I/Os/s)\n`,
    );

  const deviceText = describeFlash(flashOptions);
  const params = {
    command: 'lake simulate',
    workload: simulated.description,
    devices: deviceCount,
    flash: deviceText,
    policies: specs.map((s) => s.name).join(', '),
    seed,
    revokeCostUs,
  };
  const json = {
    tool: 'lake',
    command: 'simulate',
    params,
    policies: Object.fromEntries(
      runs.map((run) => [run.spec.name, policyJson(run, policyReport(run), describeDevice)]),
    ),
  };
  await emitRunReport({
    title: 'lake simulate: read latency by admission policy',
    subtitle: `${simulated.description} on ${deviceCount} x ${deviceText}`,
    params,
    runs,
    json,
    extraMarkdown: causesMarkdown(runs),
    ...(flags.out !== undefined ? { outDir: flags.out } : {}),
    jsonMode: quiet,
  });
}

async function* atSubmitTimes(batches: AsyncIterable<readonly TraceRecord[]>): AsyncGenerator<TraceRecord[]> {
  for await (const batch of batches) {
    yield batch.map((r) => (r.submitMs !== undefined ? { ...r, arrivalMs: r.submitMs } : r));
  }
}

function parseFlashProfile(value: string): FlashProfileName {
  const found = flashProfileNames.find((p) => p === value);
  if (found === undefined)
    throw usageError(`--flash must be one of ${flashProfileNames.join(', ')}, got "${value}"`);
  return found;
}

function parseProfile(value: string): ProfileName {
  const found = profileNames.find((p) => p === value);
  if (found === undefined) throw usageError(`--profile must name ${profileNames.join(', ')}, got "${value}"`);
  return found;
}
