// The GPU measurement of issue 12 (item 7), one run that prints one JSON object: the machine and its GPU,
// `lake backends --verify --json` (every backend's kernels against cpu-wasm), `lake backends --json
// --max-batch 1024` (us per batch 1..1024 for NN, NN+1 and NN+2 inline and on every usable backend, and the
// calibrated crossovers: the calibration of src/lake/policy/calibration.ts), the contention policy with a
// competing PyTorch job in both GPU sharing modes (contention.mjs), and `lake demo --models nn,nn+1,nn+2`.
// Each step runs as a child process under its own time limit and a global deadline; a step that cannot
// measure the GPU here says why under `unmeasured`, and the run still exits 0. Started by measure.sh
// (scripts/gpu/README.md); `--dry-run` runs every step at toy sizes to check the plumbing without a GPU.
//
// Usage: node scripts/gpu/measure.mjs [--root DIR] [--from-source] [--out DIR] [--dry-run]
//        [--budget-s 540] [--python python3] [--full-demo]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    root: { type: 'string', default: resolve(here, '../..') },
    'from-source': { type: 'boolean', default: false },
    out: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    'budget-s': { type: 'string', default: '540' },
    python: { type: 'string', default: 'python3' },
    'full-demo': { type: 'boolean', default: false },
  },
});
const dry = flags['dry-run'];
const started = performance.now();
const deadline = started + Number(flags['budget-s']) * 1000;
// lake's CLI: the compiled one (dist/), or the TypeScript through tsx for a dry run in a checkout.
const lake = flags['from-source']
  ? [process.execPath, '--import', 'tsx', join(flags.root, 'src/cli/main.ts')]
  : [process.execPath, join(flags.root, 'dist/cli/main.js')];

/** Runs a command with at most `limitS` seconds (less if the global deadline is nearer). */
function run(argv, limitS, extraEnv = {}) {
  const left = Math.floor((deadline - performance.now()) / 1000);
  const limit = Math.min(limitS, left);
  if (limit < 5) return { skipped: `the run's ${flags['budget-s']} s budget is spent` };
  const t0 = performance.now();
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd: flags.root,
    encoding: 'utf8',
    timeout: limit * 1000,
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, ...extraEnv },
  });
  return {
    status: r.status,
    signal: r.signal,
    error: r.error?.message,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    timedOut: r.error?.code === 'ETIMEDOUT' || (r.signal === 'SIGTERM' && r.status === null),
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '').slice(-4000),
  };
}

/** A step's JSON output, or why there is none. */
function jsonStep(argv, limitS, extraEnv) {
  const r = run(argv, limitS, extraEnv);
  if (r.skipped !== undefined) return { unmeasured: r.skipped };
  const base = { command: argv.slice(1).join(' '), seconds: r.seconds };
  if (r.timedOut) return { ...base, unmeasured: `timed out after ${r.seconds} s`, stderr: r.stderr };
  try {
    return { ...base, exitStatus: r.status, result: JSON.parse(r.stdout) };
  } catch {
    return { ...base, exitStatus: r.status, unmeasured: r.error ?? 'no JSON on stdout', stderr: r.stderr };
  }
}

/** The GPU as nvidia-smi names it, or why not. */
function gpuInfo() {
  const r = run(['nvidia-smi', '--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], 30);
  if (r.error !== undefined || r.status !== 0)
    return { unmeasured: `nvidia-smi: ${r.error ?? r.stderr.trim()}` };
  return { nvidiaSmi: r.stdout.trim().split('\n') };
}

function cudaStatus(backends) {
  const cuda = backends?.result?.backends?.find((b) => b.name === 'cuda');
  if (cuda === undefined) return 'lake backends did not report cuda';
  return cuda.usable ? undefined : cuda.reason;
}

const report = {
  script: 'scripts/gpu/measure.mjs',
  dryRun: dry,
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  gpu: gpuInfo(),
};
report.verify = jsonStep([...lake, 'backends', '--verify', '--json'], 120);
const crossoverArgs = dry ? ['--max-batch', '8', '--trials', '1'] : ['--max-batch', '1024', '--trials', '5'];
report.crossovers = jsonStep([...lake, 'backends', '--json', ...crossoverArgs], 180);
const noCuda = cudaStatus(report.crossovers);
report.gpuMeasured = noCuda === undefined;

const contentionScript = flags['from-source']
  ? [process.execPath, '--import', 'tsx', join(here, 'contention.mjs'), '--from-source']
  : [process.execPath, join(here, 'contention.mjs')];
report.contention = {};
for (const mode of ['yield', 'priority']) {
  const phases = dry
    ? ['quiet', 'context', 'loaded', 'solo', 'lead', 'recovery'].flatMap((phase) => [`--${phase}-ms`, '100'])
    : [];
  report.contention[mode] = jsonStep(
    [...contentionScript, '--root', flags.root, '--mode', mode, '--python', flags.python, ...phases],
    150,
  );
}

// The demo on whatever lakeD backends are usable here (cuda among them on a GPU machine); --quick unless
// --full-demo, so that the whole run stays well inside 10 minutes.
const demoOut = mkdtempSync(join(tmpdir(), 'lake-gpu-demo-'));
try {
  const quick = dry || !flags['full-demo'] ? ['--quick'] : [];
  const demoArgs = ['demo', '--models', 'nn,nn+1,nn+2', '--json', '--out', demoOut, ...quick];
  const demo = jsonStep([...lake, ...demoArgs], 300);
  // results.json is large: keep what the LAKE runs say (placement per run, crossovers, calibration).
  if (demo.result !== undefined) demo.result = demo.result.lake ?? demo.result;
  report.demo = demo;
} finally {
  rmSync(demoOut, { recursive: true, force: true });
}
if (noCuda !== undefined) report.unmeasured = `every GPU figure: cuda ${noCuda}`;
report.seconds = Math.round((performance.now() - started) / 100) / 10;

const text = `${JSON.stringify(report, null, 2)}\n`;
if (flags.out !== undefined && flags.out !== '') {
  mkdirSync(flags.out, { recursive: true });
  // Whole or absent: written beside its final name, then renamed into place.
  const target = join(flags.out, 'gpu-measure.json');
  writeFileSync(`${target}.tmp-${process.pid}`, text);
  renameSync(`${target}.tmp-${process.pid}`, target);
}
process.stdout.write(text);
