/**
 * `lake bench [name] [--json]`: run the benchmarks (all, or one suite) and print medians and ratios, or
 * JSON records. Sample counts come from LAKE_BENCH_SAMPLES. `npm run bench` runs them all as JSON.
 */
import type { Command } from 'commander';
import { type BenchResult, type BenchSuite, benchEnvironment, sampleCount } from '../bench/harness.js';
import { benchInference } from '../bench/inference.js';
import { contentionSuite, crossoverSuite } from '../bench/lake-policy.js';
import { registrySuite } from '../bench/lake-registry.js';
import { remotingSuite } from '../bench/lake-remoting.js';
import { soakSuite } from '../bench/lake-soak.js';
import { userPolicySuite } from '../bench/lake-user-policy.js';
import { benchPrediction } from '../bench/prediction.js';
import { replayOverheadSuite } from '../bench/replay-overhead.js';
import { benchSimulator, memorySuite, replayMemoryChild } from '../bench/simulator.js';
import { trainingBenchSuite } from '../bench/training.js';
import { usageError } from '../errors.js';
import { markdownTable } from '../report/table.js';
import { parseIntOption } from './options.js';

/** `all`: the suite runs as part of every suite (`npm run bench`), where long suites take their short form. */
type SuiteRunner = (samples: number, all: boolean) => Promise<BenchSuite>;

/** The soak's length inside `npm run bench` when LAKE_BENCH_SOAK_S is unset: long enough to fit a slope after warm-up. */
const SOAK_SECONDS_IN_ALL = 60;

/** The suites by name; each returns plain data. */
export const benchSuites: Record<string, SuiteRunner> = {
  simulator: async (samples) => benchSimulator({ samples }),
  memory: async () => memorySuite(memoryChildArgs),
  inference: async (samples) => benchInference({ samples }),
  training: async (samples) => trainingBenchSuite(samples),
  remoting: async () => remotingSuite(),
  registry: async () => registrySuite(),
  crossover: async () => crossoverSuite({ plotDir: 'bench/results' }),
  contention: async () => contentionSuite(),
  'replay-overhead': async (samples) => replayOverheadSuite(samples),
  prediction: async (samples) => benchPrediction({ samples }),
  'user-policy': async () => userPolicySuite(),
  soak: async (_samples, all) =>
    soakSuite(all && (process.env['LAKE_BENCH_SOAK_S'] ?? '') === '' ? { seconds: SOAK_SECONDS_IN_ALL } : {}),
};

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description(`run benchmarks: ${Object.keys(benchSuites).join(', ')} (all when no name is given)`)
    .argument('[name]', 'one suite')
    .option('--json', 'print JSON records')
    .option('--memory-child <ios>', 'internal: measure one streamed replay in this process')
    .action(async (name: string | undefined, flags: { json?: boolean; memoryChild?: string }) => {
      if (flags.memoryChild !== undefined) {
        const ios = parseIntOption('--memory-child', flags.memoryChild, 1);
        process.stdout.write(`${JSON.stringify(replayMemoryChild(ios))}\n`);
        return;
      }
      const names = name === undefined ? Object.keys(benchSuites) : [name];
      for (const n of names) {
        if (!(n in benchSuites))
          throw usageError(`unknown benchmark "${n}" (have ${Object.keys(benchSuites).join(', ')})`);
      }
      const samples = sampleCount(3);
      const suites: BenchSuite[] = [];
      for (const n of names) {
        if (flags.json !== true) process.stderr.write(`running ${n}...\n`);
        const suite = await benchSuites[n]!(samples, name === undefined);
        suites.push(suite);
        if (flags.json !== true) process.stdout.write(`${suiteTable(suite)}\n\n`);
      }
      if (flags.json === true) {
        process.stdout.write(
          `${JSON.stringify({ environment: benchEnvironment(samples), suites }, null, 2)}\n`,
        );
      }
    });
}

function format(value: number): string {
  if (!Number.isFinite(value)) return '-';
  return Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : value.toPrecision(3);
}

export function suiteTable(suite: BenchSuite): string {
  return `### ${suite.suite}\n\n${markdownTable(
    ['benchmark', 'median', 'unit', 'min', 'max', 'samples', 'ratio'],
    suite.results.map((r: BenchResult) => [
      r.name,
      r.state === 'errored' ? `errored: ${r.error ?? ''}` : format(r.median),
      r.unit,
      format(r.min),
      format(r.max),
      String(r.samples),
      r.ratio !== undefined ? `${r.ratio.toFixed(3)}x ${r.reference ?? ''}` : '',
    ]),
  )}`;
}

/** The memory suite's child runs: this CLI again, `bench --memory-child IOS`, under the same Node flags. */
function memoryChildArgs(ios: number): string[] {
  const script = process.argv[1];
  if (script === undefined) throw new Error('cannot find the lake script to re-run');
  return [...process.execArgv, script, 'bench', '--memory-child', String(ios)];
}
