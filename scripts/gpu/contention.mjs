// LAKE's contention policy on a real GPU with a competing job (issue 12, item 4 and "Measured by"): LinnOS
// NN+2 batches are placed by the contention policy (cuda or inline) every `--every-ms`, first alone, then
// while a PyTorch matmul loop (matmul-load.py) sets up on the same GPU (a context, no load), runs, and
// stops. Prints one JSON object: where the batches ran and what they cost in each phase, how long the
// policy took to move them off the GPU after the job's load started (`reactionMs`, from the instant the job
// enqueued its first matmul to the first inline placement) and back after it ended (`recoveryMs`, from the
// end of its last matmul to the first cuda placement), the NVML signal that served the readings, and the
// job's throughput with lake running and alone. The policy keeps deciding through both instants, so the
// figures include its sampling. `--mode yield` is LAKE's rule; `--mode priority` keeps lake on a
// high-priority stream instead. Two signals can move the batches off the GPU: NVML's load, and lake's own
// cuda batches running slower than their measured calibration while the job is listed (the slowdown
// signal, src/lake/policy/slowdown.ts); `reactionSignal` says which one placed the first batch inline
// ('utilisation' or 'slowdown'), `slowdown` what the signal did and when it was raised (ms from the job's
// first matmul), and each phase counts the batches each signal kept off the GPU.
// Run by measure.mjs; on a machine without CUDA it prints why the figures are unmeasured and exits 0.
//
// Usage: node scripts/gpu/contention.mjs --mode yield|priority [--root DIR] [--from-source]
//        [--python python3] [--batch N] [--every-ms 1]
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    mode: { type: 'string', default: 'yield' },
    root: { type: 'string', default: resolve(here, '../..') },
    'from-source': { type: 'boolean', default: false },
    python: { type: 'string', default: 'python3' },
    batch: { type: 'string' },
    'every-ms': { type: 'string', default: '1' },
    'quiet-ms': { type: 'string', default: '1500' },
    'loaded-ms': { type: 'string', default: '3000' },
    'solo-ms': { type: 'string', default: '2000' },
    'recovery-ms': { type: 'string', default: '3000' },
    'context-ms': { type: 'string', default: '500' },
    'lead-ms': { type: 'string', default: '500' },
  },
});
if (flags.mode !== 'yield' && flags.mode !== 'priority') {
  process.stderr.write(`contention.mjs: --mode must be yield or priority, got "${flags.mode}"\n`);
  process.exit(64);
}
// lakeD's worker inherits the environment when it starts: its CUDA stream gets this mode's priority.
process.env.LAKE_GPU_MODE = flags.mode;
const base = join(flags.root, flags['from-source'] ? 'src' : 'dist');
const load = (path) => import(pathToFileURL(join(base, path)).href);
const { LakeLib } = await load('lake/lib/lake-lib.js');
const { LinnosBatchRunner } = await load('lake/linnos/batch-runner.js');
const { calibrateLinnos, syntheticLinnosModel } = await load('lake/linnos/calibrate.js');
const { backendCalibration, batchCostUs, calibrationTable, median } = await load(
  'lake/policy/calibration.js',
);
const { INLINE, UTILISATION_PERIOD_MS, UTILISATION_THRESHOLD } = await load('lake/policy/constants.js');
const { ContentionPolicy } = await load('lake/policy/contention.js');
const { UtilisationMonitor } = await load('lake/policy/utilisation.js');
const { SlowdownSignal } = await load('lake/policy/slowdown.js');
const { openCudaDeviceMonitor } = await load('lake/backends/cuda/nvml.js');
const { Random } = await load('random.js');

const MODEL = 'nn+2';
const SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const TARGET_MS = 100;
const everyMs = Number(flags['every-ms']);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms) => {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
};
// matmul-load.py reports CLOCK_MONOTONIC microseconds; process.hrtime reads the same clock (libuv), and
// performance.now() runs on it from a different origin: this is that origin, in ms.
const hrOriginMs = Number(process.hrtime.bigint()) / 1e6 - performance.now();
const jobTimeMs = (us) => (typeof us === 'number' ? us / 1000 - hrOriginMs : undefined);

/** The job: its JSON lines with the time each arrived, and whether it exited. */
function startJob() {
  const child = spawn(flags.python, [join(here, 'matmul-load.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
  const job = {
    child,
    lines: [],
    ready: undefined,
    load: undefined,
    loadEndMs: undefined,
    error: undefined,
    exited: undefined,
    stderr: '',
  };
  child.stderr.on('data', (chunk) => {
    job.stderr = (job.stderr + chunk).slice(-2000);
  });
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line;
    try {
      line = JSON.parse(text);
    } catch {
      return;
    }
    const at = performance.now();
    if (line.ready === true) job.ready = { at, ...line };
    else if (typeof line.error === 'string') job.error = line.error;
    else if (typeof line.loadStartUs === 'number')
      job.load = { startMs: jobTimeMs(line.loadStartUs), firstRoundMs: jobTimeMs(line.firstRoundUs) };
    else if (typeof line.done === 'number') {
      job.lines.push({ at, done: line.done });
      if (line.exit === true) job.loadEndMs = jobTimeMs(line.loadEndUs);
    }
  });
  child.on('exit', (code, signal) => {
    job.exited = { at: performance.now(), code, signal };
  });
  child.on('error', (error) => {
    job.error = `${flags.python}: ${error.message}`;
    job.exited ??= { at: performance.now(), code: null, signal: null };
  });
  return job;
}

/** Waits (serving the event loop, so the job's lines arrive) until `done()` or `ms` pass. */
async function waitFor(done, ms) {
  const end = performance.now() + ms;
  while (!done() && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
  return done();
}

/** The job's matmuls per second between two times, from its progress lines. */
function throughput(job, from, to) {
  const inside = job.lines.filter((l) => l.at >= from && l.at <= to);
  if (inside.length < 2) return null;
  const first = inside[0];
  const last = inside[inside.length - 1];
  return Math.round(((last.done - first.done) / (last.at - first.at)) * 1000 * 10) / 10;
}

function summary(decisions) {
  const us = decisions.map((d) => d.us);
  const sorted = [...us].sort((a, b) => a - b);
  const p = (q) =>
    sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const r1 = (x) => (x === null ? null : Math.round(x * 10) / 10);
  return {
    decisions: decisions.length,
    onGpu: decisions.filter((d) => d.placement === 'cuda').length,
    inline: decisions.filter((d) => d.placement === INLINE).length,
    offBySlowdown: decisions.filter((d) => d.reason === 'slowdown').length,
    offByUtilisation: decisions.filter((d) => d.reason === 'utilisation').length,
    medianUs: us.length === 0 ? null : r1(median([...us])),
    p99Us: r1(p(0.99)),
  };
}

async function main() {
  const lib = await LakeLib.open();
  let job;
  let runner;
  let gpuLoad;
  try {
    const backends = lib.listBackends();
    const cuda = backends.find((b) => b.name === 'cuda');
    if (cuda === undefined || !cuda.available)
      return { mode: flags.mode, unmeasured: `cuda: ${cuda?.reason ?? 'not in the backend catalogue'}` };
    const model = syntheticLinnosModel(MODEL);
    const measured = calibrateLinnos(lib, model, { name: MODEL, batchSizes: SIZES, trials: 3 });
    const crossover = backendCalibration(measured, 'cuda')?.crossover ?? null;
    const batch = flags.batch !== undefined ? Number(flags.batch) : (crossover ?? 1024);
    // Where cuda does not win at this batch, pin it to win there: the run then isolates the utilisation check.
    const wins = crossover !== null && crossover <= batch;
    const cudaUs = backendCalibration(measured, 'cuda').usPerBatch;
    const table = wins
      ? measured
      : calibrationTable({
          model: MODEL,
          batchSizes: SIZES,
          inlineUs: measured.inlineUs,
          backends: [
            {
              backend: 'cuda',
              mode: 'offload',
              usPerBatch: SIZES.map((s, i) => (s >= batch ? measured.inlineUs[i] / 2 : cudaUs[i])),
            },
          ],
        });
    gpuLoad = openCudaDeviceMonitor(backends);
    if (gpuLoad === undefined)
      return { mode: flags.mode, unmeasured: 'NVML (libnvidia-ml.so.1) did not open: no GPU utilisation' };
    const samples = [];
    const gpuMonitor = new UtilisationMonitor(gpuLoad.source, { onSample: (s) => samples.push({ ...s }) });
    const lakeD = new UtilisationMonitor(lib);
    const slowdown = new SlowdownSignal({ backend: 'cuda', monitor: gpuMonitor, processes: gpuLoad.source });
    const policy = new ContentionPolicy({
      tables: [table],
      backends: [cuda],
      monitor: lakeD,
      deviceMonitors: { cuda: gpuMonitor },
      slowdown: { cuda: slowdown },
      gpuMode: flags.mode,
    });
    // The slowdown signal compares a batch with what it measured at start-up, even where the table is pinned.
    const cudaCalibratedUs = batchCostUs(measured, 'cuda', batch);
    runner = LinnosBatchRunner.open(lib, syntheticLinnosModel(MODEL, 2), { name: MODEL, capacity: batch });
    const random = new Random(5);
    for (let i = 0; i < runner.input.length; i++) runner.input[i] = random.int(10);

    // Places a batch every `everyMs` for `ms` (or until `until()`), running `at.run` once `at.ms` passed.
    const decide = async (ms, { until, at } = {}) => {
      const decisions = [];
      const from = performance.now();
      const end = from + ms;
      let pending = at;
      while (performance.now() < end && !(until?.() ?? false)) {
        if (pending !== undefined && performance.now() - from >= pending.ms) {
          pending.run();
          pending = undefined;
        }
        const started = performance.now();
        const choice = policy.choose(MODEL, batch, Number.POSITIVE_INFINITY);
        const t0 = performance.now();
        runner.run(choice.placement, batch);
        const ended = performance.now();
        const us = (ended - t0) * 1000;
        if (choice.placement !== INLINE) {
          lakeD.addOwnBusyUs(us);
          gpuMonitor.addOwnBusyUs(us);
          policy.observeBatch(choice.placement, cudaCalibratedUs, us, ended);
        }
        decisions.push({ at: started, placement: choice.placement, reason: choice.reason, us });
        sleep(everyMs - (performance.now() - started));
        // Let the job's lines in now and then.
        if (decisions.length % 10 === 0) await new Promise((r) => setImmediate(r));
      }
      return decisions;
    };

    const quiet = await decide(Number(flags['quiet-ms']));
    job = startJob();
    // The job creates its context and matrices while lake keeps deciding: a context alone is no load.
    const setup = await decide(120_000, { until: () => job.ready !== undefined || job.exited !== undefined });
    if (job.ready === undefined)
      return {
        mode: flags.mode,
        unmeasured: `the competing job did not start: ${job.error ?? (job.stderr.trim() || 'no ready line in 120 s')}`,
      };
    const context = await decide(Number(flags['context-ms']));
    const loaded = await decide(Number(flags['loaded-ms']), {
      at: { ms: 0, run: () => job.child.stdin.write('go\n') },
    });
    const soloFrom = performance.now();
    await waitFor(() => false, Number(flags['solo-ms']));
    const soloTo = performance.now();
    // lake resumes next to the job, then the job stops while lake decides.
    const lead = Number(flags['lead-ms']);
    const recovery = await decide(lead + Number(flags['recovery-ms']), {
      at: { ms: lead, run: () => job.child.kill('SIGTERM') },
    });
    await waitFor(() => job.exited !== undefined, 30_000);
    if (job.load === undefined || job.loadEndMs === undefined)
      return {
        mode: flags.mode,
        unmeasured: `the competing job did not report its load: ${job.stderr.trim()}`,
      };
    const jobStart = job.load.startMs;
    const jobEnd = job.loadEndMs;
    const beforeLoad = [...context, ...loaded];
    const reaction = beforeLoad.find((d) => d.at >= jobStart && d.placement === INLINE);
    const back = recovery.find((d) => d.at >= jobEnd && d.placement === 'cuda');
    // The figures mean something only if the placement had to change: on the GPU when the load started,
    // off it when the load ended.
    const lastBefore = (decisions, ms) => decisions.findLast((d) => d.at < ms)?.placement ?? null;
    const r1 = (x) => Math.round(x * 10) / 10;
    return {
      mode: flags.mode,
      model: MODEL,
      batchSize: batch,
      calibration: wins ? 'measured' : 'pinned',
      measuredCrossover: crossover,
      everyMs,
      periodMs: UTILISATION_PERIOD_MS,
      threshold: UTILISATION_THRESHOLD,
      phases: {
        quiet: summary(quiet),
        jobSetup: summary(setup),
        jobContextOnly: summary(context),
        loaded: summary(loaded),
        recovery: summary(recovery),
      },
      reactionMs: reaction === undefined ? null : r1(reaction.at - jobStart),
      reactionSignal: reaction?.reason ?? null,
      recoveryMs: back === undefined ? null : r1(back.at - jobEnd),
      placementAtLoadStart: lastBefore(beforeLoad, jobStart),
      placementAtLoadEnd: lastBefore(recovery, jobEnd),
      targetMs: TARGET_MS,
      jobFirstRoundMs: r1(job.load.firstRoundMs - jobStart),
      nvmlSignal: gpuLoad.source.signal,
      nvmlWindowMs: gpuLoad.source.windowMs,
      nvmlSampleIntervalMs: gpuLoad.source.sampleIntervalMs ?? null,
      job: {
        device: job.ready.device,
        n: job.ready.n,
        matmulsPerSecondWithLake: throughput(job, jobStart, soloFrom),
        matmulsPerSecondAlone: throughput(job, soloFrom, soloTo),
      },
      gpuSamples: samples
        .filter((s) => s.atMs >= jobStart - 200 && s.atMs <= jobEnd + 500)
        .map((s) => ({ atMs: r1(s.atMs - jobStart), busy: s.busy, foreign: r1(s.foreign * 1000) / 1000 })),
      nvmlError: gpuLoad.source.lastError ?? null,
      slowdown: {
        calibratedUs: r1(cudaCalibratedUs),
        ratio: slowdown.ratio,
        minExcessUs: slowdown.minExcessUs,
        run: slowdown.run,
        raises: slowdown.report.raises,
        clearedByExit: slowdown.report.clearedByExit,
        clearedByNvml: slowdown.report.clearedByNvml,
        slowAlone: slowdown.report.slowAlone,
        lastRaisedMs:
          slowdown.report.lastRaisedAtMs === null ? null : r1(slowdown.report.lastRaisedAtMs - jobStart),
      },
    };
  } finally {
    if (job !== undefined && job.exited === undefined) job.child.kill('SIGKILL');
    runner?.close();
    gpuLoad?.source.close();
    await lib.close();
  }
}

process.stdout.write(`${JSON.stringify(await main())}\n`);
