import { mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { LakeError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import type { BackendName } from '../lake/backends/types.js';
import { LakeLib } from '../lake/lib/lake-lib.js';
import { type HostPtr, ptrArg, scalarArg } from '../lake/lib/types.js';
import { LinnosBatchRunner } from '../lake/linnos/batch-runner.js';
import { calibrateLinnos, syntheticLinnosModel } from '../lake/linnos/calibrate.js';
import {
  batchCostUs,
  type CalibrationTable,
  calibrationTable,
  crossoverFrom,
  median,
  timeOnce,
} from '../lake/policy/calibration.js';
import { INLINE, LAKE_BATCHING, LINNOS_SHAPES } from '../lake/policy/constants.js';
import { ContentionPolicy } from '../lake/policy/contention.js';
import { UtilisationMonitor, type UtilisationReading } from '../lake/policy/utilisation.js';
import { LINNOS_FEATURES } from '../linnos/features.js';
import { type LinnosShape, linnosLayerSizes } from '../models/dense.js';
import { Random } from '../random.js';
import { renderSvg } from '../report/plot.js';
import { markdownTable, type Table } from '../report/table.js';
import type { BenchResult, BenchSuite } from './harness.js';

/** One model's curve: microseconds per batch inline and on lakeD, per batch size. */
export interface CrossoverCurve {
  model: LinnosShape;
  layers: number[];
  inlineUs: number[];
  /** The whole batch on lakeD, copies included (LAKE's "GPU incl. transfers"). */
  offloadUs: number[];
  /** lakeD takes half the batch while the caller runs the other half (LinnOS's second core). */
  splitUs: number[];
  crossover: { offload: number | null; split: number | null };
  /** LAKE's hard-coded CPU/GPU threshold for this model. */
  lakePaperThreshold: number;
}

export interface CrossoverBench {
  backend: BackendName;
  batchSizes: number[];
  models: CrossoverCurve[];
  /** LAKE's measured LinnOS NN curve (REFERENCE.md), us per batch; null where the paper gives no figure. */
  lakePaper: { batchSizes: number[]; cpuUs: (number | null)[]; gpuUs: number[] };
  seconds: number;
  /** The 1-minute load average when the run ended: on a shared 2-core machine it explains lakeD's figures. */
  loadAverage: number;
  cores: number;
  node: string;
}

const LAKE_PAPER = {
  batchSizes: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
  cpuUs: [7, 13, 28, 57, 107, 214, 428, 862, null, null, 6684],
  gpuUs: [51, 51, 52, 52, 57, 58, 70, 87, 116, 180, 307],
};

export interface CrossoverBenchOptions {
  /** Default 1, 2, 4, ..., 1024. */
  batchSizes?: readonly number[];
  models?: readonly LinnosShape[];
  /** Interleaved rounds per batch size (default 5). */
  trials?: number;
}

/**
 * LAKE's crossover figure for lakeD: microseconds per batch for batches 1..1024 of NN, NN+1 and NN+2,
 * inline, offloaded whole to lakeD, and split between lakeD and the caller; each figure the median of
 * individually timed calls over interleaved rounds (lakeD woken before its rounds).
 */
export async function benchCrossover(options: CrossoverBenchOptions = {}): Promise<CrossoverBench> {
  const sizes = [...(options.batchSizes ?? LAKE_PAPER.batchSizes)];
  const trials = options.trials ?? 5;
  const started = performance.now();
  const lib = await LakeLib.open();
  try {
    const models: CrossoverCurve[] = [];
    let backend: BackendName | undefined;
    for (const shape of options.models ?? LINNOS_SHAPES) {
      const capacity = Math.max(...sizes);
      const runner = LinnosBatchRunner.open(lib, syntheticLinnosModel(shape), { name: shape, capacity });
      try {
        const on = runner.backends[0];
        if (on === undefined)
          throw new LakeError('LAKE_E_USAGE', 'benchCrossover: no lakeD backend is usable');
        backend = on.name;
        const random = new Random(11);
        for (let i = 0; i < capacity * LINNOS_FEATURES; i++) runner.input[i] = random.int(10);
        const curve = timeCurve(runner, on.name, sizes, trials);
        models.push({
          model: shape,
          layers: linnosLayerSizes(shape),
          ...curve,
          crossover: {
            offload: crossoverFrom(sizes, curve.inlineUs, curve.offloadUs),
            split: crossoverFrom(sizes, curve.inlineUs, curve.splitUs),
          },
          lakePaperThreshold: LAKE_BATCHING[shape].paperThreshold,
        });
      } finally {
        runner.close();
      }
    }
    return {
      backend: backend ?? 'cpu-wasm',
      batchSizes: sizes,
      models,
      lakePaper: LAKE_PAPER,
      seconds: (performance.now() - started) / 1000,
      loadAverage: loadavg()[0] ?? 0,
      cores: cpus().length,
      node: process.version,
    };
  } finally {
    await lib.close();
  }
}

function timeCurve(
  runner: LinnosBatchRunner,
  backend: BackendName,
  sizes: readonly number[],
  trials: number,
): { inlineUs: number[]; offloadUs: number[]; splitUs: number[] } {
  const largest = sizes[sizes.length - 1]!;
  for (let i = 0; i < 200; i++) runner.runInline(1);
  runner.runInline(largest);
  runner.runOn(backend, largest, 'offload');
  runner.runOn(backend, largest, 'split');
  const inlineUs: number[] = [];
  const offloadUs: number[] = [];
  const splitUs: number[] = [];
  for (const size of sizes) {
    const calls = Math.max(
      1,
      Math.min(
        64,
        Math.round(
          300 /
            Math.max(
              timeOnce(() => runner.runInline(size)),
              0.05,
            ),
        ),
      ),
    );
    const inline: number[] = [];
    const offload: number[] = [];
    const split: number[] = [];
    for (let t = 0; t < trials; t++) {
      for (let c = 0; c < calls; c++) inline.push(timeOnce(() => runner.runInline(size)));
      runner.warm(backend);
      for (let c = 0; c < calls; c++) offload.push(timeOnce(() => runner.runOn(backend, size, 'offload')));
      runner.warm(backend);
      for (let c = 0; c < calls; c++) split.push(timeOnce(() => runner.runOn(backend, size, 'split')));
    }
    inlineUs.push(median(inline));
    offloadUs.push(median(offload));
    splitUs.push(median(split));
  }
  return { inlineUs, offloadUs, splitUs };
}

/** The crossover figure as a table: one row per batch size, one column per model and placement. */
export function crossoverTable(bench: CrossoverBench): Table {
  return {
    title: `LinnOS inference, us per batch: inline vs lakeD (${bench.backend}); load average ${bench.loadAverage.toFixed(2)} on ${bench.cores} cores`,
    headers: [
      'batch',
      ...bench.models.flatMap((m) => [`${m.model} inline`, `${m.model} lakeD`, `${m.model} lakeD+inline`]),
      'LAKE NN CPU',
      'LAKE NN GPU',
    ],
    rows: bench.batchSizes.map((size, i) => {
      const paper = LAKE_PAPER.batchSizes.indexOf(size);
      return [
        String(size),
        ...bench.models.flatMap((m) =>
          [m.inlineUs[i]!, m.offloadUs[i]!, m.splitUs[i]!].map((v) => v.toFixed(1)),
        ),
        paper >= 0 ? String(LAKE_PAPER.cpuUs[paper] ?? '-') : '-',
        paper >= 0 ? String(LAKE_PAPER.gpuUs[paper]) : '-',
      ];
    }),
  };
}

/**
 * A Vega-Lite spec of the crossover figure: us per batch (log) against batch size (log2), one colour per
 * model, one dash per placement, LAKE's published NN CPU/GPU curves in grey for reference.
 */
export function crossoverPlotSpec(bench: CrossoverBench): TopLevelSpec {
  const rows: { model: string; placement: string; batch: number; us: number }[] = [];
  for (const m of bench.models) {
    bench.batchSizes.forEach((batch, i) => {
      rows.push({ model: m.model, placement: 'inline', batch, us: m.inlineUs[i]! });
      rows.push({ model: m.model, placement: 'lakeD (whole batch)', batch, us: m.offloadUs[i]! });
      rows.push({ model: m.model, placement: 'lakeD + inline (split)', batch, us: m.splitUs[i]! });
    });
  }
  const paper: { placement: string; batch: number; us: number }[] = [];
  LAKE_PAPER.batchSizes.forEach((batch, i) => {
    const cpu = LAKE_PAPER.cpuUs[i];
    if (cpu !== null && cpu !== undefined) paper.push({ placement: 'LAKE paper NN, CPU', batch, us: cpu });
    paper.push({ placement: 'LAKE paper NN, GPU', batch, us: LAKE_PAPER.gpuUs[i]! });
  });
  const x = {
    field: 'batch',
    type: 'quantitative',
    title: 'batch size (reads)',
    scale: { type: 'log', base: 2 },
    axis: { values: LAKE_PAPER.batchSizes },
  } as const;
  const y = {
    field: 'us',
    type: 'quantitative',
    title: 'microseconds per batch (log scale)',
    scale: { type: 'log' },
  } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'LinnOS inference: inline vs lakeD, per batch size',
      subtitle: `${bench.backend} backend; load average ${bench.loadAverage.toFixed(2)} on ${bench.cores} cores`,
      anchor: 'middle',
    },
    background: 'white',
    width: 520,
    height: 340,
    config: { font: 'DejaVu Sans, Liberation Sans, Helvetica, Arial, sans-serif' },
    layer: [
      {
        data: { values: paper },
        mark: { type: 'line', color: '#aaa', strokeWidth: 1, point: { color: '#aaa', size: 30 } },
        encoding: {
          x,
          y,
          detail: { field: 'placement', type: 'nominal' },
          shape: {
            field: 'placement',
            type: 'nominal',
            title: 'reference (LAKE)',
            legend: { labelLimit: 260, symbolFillColor: '#aaa', symbolStrokeColor: '#aaa' },
          },
        },
      },
      {
        data: { values: rows },
        mark: { type: 'line', strokeWidth: 2 },
        encoding: {
          x,
          y,
          color: { field: 'model', type: 'nominal', title: 'model' },
          strokeDash: {
            field: 'placement',
            type: 'nominal',
            title: 'placement',
            legend: { labelLimit: 260, symbolType: 'stroke', symbolStrokeWidth: 2 },
          },
        },
      },
    ],
    resolve: { scale: { shape: 'independent' } },
  };
}

/** The crossover figure as SVG. */
export async function crossoverSvg(bench: CrossoverBench): Promise<string> {
  return renderSvg(crossoverPlotSpec(bench));
}

export interface ContentionBenchOptions {
  model?: LinnosShape;
  /** Reads per batch the policy places (default 64). */
  batchSize?: number;
  /** A batch is decided every this many ms (default 0.5). */
  everyMs?: number;
  /** Competing-load episodes (default 5). */
  episodes?: number;
  /** Quiet time before and after each episode's load, and the load's length, ms (default 100 and 150). */
  quietMs?: number;
  loadMs?: number;
  /** Rows per command of the competing client (default 128: about 1 ms of NN+2). */
  competitorRows?: number;
  /** Commands the competitor keeps queued on lakeD (default 4). */
  competitorDepth?: number;
}

export interface ContentionEpisode {
  /** From the competitor's first command to the first batch placed inline, ms (null: never). */
  reactionMs: number | null;
  /** From the competitor's last command completing to the first batch back on lakeD, ms (null: never). */
  recoveryMs: number | null;
}

export interface ContentionBench {
  model: LinnosShape;
  batchSize: number;
  /**
   * 'measured': lakeD won at this batch size by start-up calibration; 'pinned': it did not on this machine
   * now, so the bench pins the crossover at the batch size to isolate the utilisation check.
   */
  calibration: 'measured' | 'pinned';
  /** The measured crossover (split mode), null = never within the sizes timed. */
  measuredCrossover: number | null;
  periodMs: number;
  threshold: number;
  competitor: { rows: number; depth: number; commandMs: number; commands: number };
  /** Decisions while lakeD was free and while the competitor loaded it, and where they ran. */
  phases: { name: 'quiet' | 'loaded'; decisions: number; onLakeD: number; inline: number }[];
  episodes: ContentionEpisode[];
  /** Median over the episodes that reacted, ms (null: none did). */
  reactionMs: number | null;
  reactionMaxMs: number | null;
  recoveryMs: number | null;
  /** The first episode's utilisation samples, times relative to its competitor's start, ms. */
  samples: UtilisationReading[];
  targetMs: number;
  /** Episodes whose load moved work inline within targetMs. */
  withinTarget: number;
  loadAverage: number;
  node: string;
}

/**
 * The contention run: LinnOS batches go to lakeD while it is free; then, in each episode, another client
 * of the same lakeD keeps it busy (NN+2 predictions over `competitorRows` rows, `competitorDepth` commands
 * queued) and the utilisation check (sampled every 20 ms, threshold 70% of others' load) must move the
 * batches inline, within 40 ms; when the load ends they return to lakeD. The competitor is topped up from
 * the same thread between decisions (one lakeLib serves one thread), so its queue is kept deep enough to
 * stay busy while a decision waits.
 */
export async function benchContention(options: ContentionBenchOptions = {}): Promise<ContentionBench> {
  const model = options.model ?? 'nn+2';
  const batchSize = options.batchSize ?? 64;
  const everyMs = options.everyMs ?? 0.5;
  const episodes = options.episodes ?? 5;
  const quietMs = options.quietMs ?? 100;
  const loadMs = options.loadMs ?? 150;
  const competitorRows = options.competitorRows ?? 128;
  const depth = options.competitorDepth ?? 4;
  const lib = await LakeLib.open();
  let runner: LinnosBatchRunner | undefined;
  let competitor: LinnosBatchRunner | undefined;
  try {
    const sizes = [1, 2, 4, 8, 16, 32, 64, 128].filter((s) => s <= batchSize);
    if (!sizes.includes(batchSize)) sizes.push(batchSize);
    const measured = calibrateLinnos(lib, syntheticLinnosModel(model), {
      name: model,
      batchSizes: sizes,
      trials: 3,
    });
    const backend = measured.backends[0];
    if (backend === undefined)
      throw new LakeError('LAKE_E_USAGE', 'benchContention: no lakeD backend is usable');
    const measuredCrossover = backend.crossover;
    const wins = measuredCrossover !== null && measuredCrossover <= batchSize;
    const table = wins ? measured : pinnedTable(measured, batchSize);
    const samples: UtilisationReading[] = [];
    const monitor = new UtilisationMonitor(lib, { onSample: (s) => samples.push({ ...s }) });
    const contention = new ContentionPolicy({ tables: [table], backends: lib.listBackends(), monitor });
    runner = LinnosBatchRunner.open(lib, syntheticLinnosModel(model, 2), {
      name: model,
      capacity: batchSize,
    });
    competitor = LinnosBatchRunner.open(lib, syntheticLinnosModel('nn+2', 3), {
      name: 'competitor',
      capacity: competitorRows,
    });
    const random = new Random(5);
    for (let i = 0; i < runner.input.length; i++) runner.input[i] = random.int(10);
    for (let i = 0; i < competitor.input.length; i++) competitor.input[i] = random.int(10);
    const load = new CompetingLoad(lib, competitor, backend.backend, depth);
    const commandMs = load.timeOne();

    const phases: ContentionBench['phases'] = [
      { name: 'quiet', decisions: 0, onLakeD: 0, inline: 0 },
      { name: 'loaded', decisions: 0, onLakeD: 0, inline: 0 },
    ];
    const results: { startAt: number; reactionAt: number; endedAt: number; recoveryAt: number }[] = [];
    const cycleMs = loadMs + quietMs;
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    const start = performance.now();
    let next = start;
    for (;;) {
      const now = performance.now();
      const t = now - start - quietMs;
      if (t >= episodes * cycleMs) break;
      const episode = t < 0 ? -1 : Math.floor(t / cycleMs);
      const loaded = episode >= 0 && t - episode * cycleMs < loadMs;
      let current = episode >= 0 ? results[episode] : undefined;
      if (loaded && current === undefined) {
        current = { startAt: now, reactionAt: Number.NaN, endedAt: Number.NaN, recoveryAt: Number.NaN };
        results[episode] = current;
      }
      if (loaded) load.topUp();
      else if (current !== undefined && Number.isNaN(current.endedAt)) {
        load.poll();
        if (load.outstanding === 0) current.endedAt = performance.now();
      }
      const choice = contention.choose(model, batchSize, Number.POSITIVE_INFINITY);
      runner.run(choice.placement, batchSize);
      if (choice.placement !== INLINE)
        monitor.addOwnBusyUs(batchCostUs(table, INLINE, runner.backendShare(choice.placement, batchSize)));
      const counts = phases[loaded ? 1 : 0]!;
      counts.decisions++;
      if (choice.placement === INLINE) counts.inline++;
      else counts.onLakeD++;
      const decidedAt = performance.now();
      if (current !== undefined) {
        if (loaded && choice.placement === INLINE && Number.isNaN(current.reactionAt))
          current.reactionAt = decidedAt;
        if (
          !loaded &&
          !Number.isNaN(current.endedAt) &&
          choice.placement !== INLINE &&
          Number.isNaN(current.recoveryAt)
        )
          current.recoveryAt = decidedAt;
      }
      next += everyMs;
      const wait = next - performance.now();
      if (wait > 0) Atomics.wait(sleeper, 0, 0, wait);
      else next = performance.now();
    }
    load.drain();
    const ms = (from: number, to: number): number | null =>
      Number.isNaN(to) || Number.isNaN(from) ? null : to - from;
    const episodeResults = results.map((r) => ({
      reactionMs: ms(r.startAt, r.reactionAt),
      recoveryMs: ms(r.endedAt, r.recoveryAt),
    }));
    const reactions = episodeResults.flatMap((e) => (e.reactionMs === null ? [] : [e.reactionMs]));
    const recoveries = episodeResults.flatMap((e) => (e.recoveryMs === null ? [] : [e.recoveryMs]));
    const firstStart = results[0]?.startAt ?? start;
    return {
      model,
      batchSize,
      calibration: wins ? 'measured' : 'pinned',
      measuredCrossover,
      periodMs: monitor.periodMs,
      threshold: monitor.threshold,
      competitor: { rows: competitorRows, depth, commandMs, commands: load.submitted },
      phases,
      episodes: episodeResults,
      reactionMs: reactions.length > 0 ? median([...reactions]) : null,
      reactionMaxMs: reactions.length > 0 ? Math.max(...reactions) : null,
      recoveryMs: recoveries.length > 0 ? median([...recoveries]) : null,
      samples: samples
        .filter((s) => s.atMs >= start && s.atMs <= firstStart + cycleMs)
        .map((s) => ({ ...s, atMs: s.atMs - firstStart })),
      targetMs: 40,
      withinTarget: reactions.filter((r) => r <= 40).length,
      loadAverage: loadavg()[0] ?? 0,
      node: process.version,
    };
  } finally {
    runner?.close();
    competitor?.close();
    await lib.close();
  }
}

/** The measured table with the backend made to win from `batchSize` on (and lose below it). */
function pinnedTable(measured: CalibrationTable, batchSize: number): CalibrationTable {
  const backend = measured.backends[0]!;
  return calibrationTable({
    model: measured.model,
    batchSizes: measured.batchSizes,
    inlineUs: measured.inlineUs,
    backends: [
      {
        backend: backend.backend,
        mode: backend.mode,
        usPerBatch: measured.batchSizes.map((size, i) =>
          size >= batchSize ? measured.inlineUs[i]! / 2 : measured.inlineUs[i]! * 2,
        ),
      },
    ],
  });
}

/**
 * Another client of the same lakeD: NN+2 predictions over many rows on its own context and stream, kept
 * `depth` commands deep. Each command is followed by a one-byte copy that clears its marker in lakeShm,
 * so completions are seen without waiting on the stream (lakeD serves in order).
 */
class CompetingLoad {
  submitted = 0;
  readonly #lib: LakeLib;
  readonly #runner: LinnosBatchRunner;
  readonly #backend: BackendName;
  readonly #depth: number;
  readonly #context: number;
  readonly #stream: number;
  readonly #fn: number;
  readonly #deviceIn: number;
  readonly #deviceOut: number;
  readonly #zero: number;
  readonly #marks: HostPtr;
  readonly #markBytes: Uint8Array;
  readonly #pending: number[] = [];

  constructor(lib: LakeLib, runner: LinnosBatchRunner, backend: BackendName, depth: number) {
    this.#lib = lib;
    this.#runner = runner;
    this.#backend = backend;
    this.#depth = depth;
    this.#context = lib.contextCreate(0);
    const module = lib.moduleLoad(this.#context, 'linnos', syntheticLinnosModel('nn+2', 4));
    this.#fn = lib.moduleGetFunction(module, 'predict');
    this.#stream = lib.streamCreate(this.#context);
    const rows = runner.capacity;
    this.#deviceIn = lib.memAlloc(this.#context, rows * LINNOS_FEATURES);
    this.#deviceOut = lib.memAlloc(this.#context, rows);
    this.#zero = lib.memAlloc(this.#context, 1);
    const host = lib.hostAlloc(rows * LINNOS_FEATURES);
    lib.arena.bytes(host, rows * LINNOS_FEATURES).set(runner.input);
    lib.memcpyHtoD(this.#deviceIn, host, rows * LINNOS_FEATURES);
    lib.arena.bytes(host, 1)[0] = 0;
    lib.memcpyHtoD(this.#zero, host, 1);
    lib.hostFree(host);
    this.#marks = lib.hostAlloc(depth * 2);
    this.#markBytes = lib.arena.bytes(this.#marks, depth * 2);
  }

  get outstanding(): number {
    return this.#pending.length;
  }

  /** Median ms of one competitor command, run alone. */
  timeOne(): number {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      this.#runner.runOn(this.#backend, this.#runner.capacity, 'offload');
      times.push(performance.now() - start);
    }
    return median(times);
  }

  poll(): void {
    while (this.#pending.length > 0 && this.#markBytes[this.#pending[0]!] === 0) this.#pending.shift();
  }

  topUp(): void {
    this.poll();
    while (this.#pending.length < this.#depth) {
      const slot = this.submitted % this.#markBytes.length;
      this.#markBytes[slot] = 1;
      const lib = this.#lib;
      const rows = this.#runner.capacity;
      lib.launch(
        this.#fn,
        1,
        [ptrArg(this.#deviceIn), ptrArg(this.#deviceOut), scalarArg(rows)],
        this.#stream,
      );
      lib.memcpyDtoHAsync(this.#marks + slot, this.#zero, 1, this.#stream);
      this.#pending.push(slot);
      this.submitted++;
    }
  }

  drain(): void {
    this.#lib.streamSynchronize(this.#stream);
    this.#pending.length = 0;
    this.#lib.contextDestroy(this.#context);
    this.#lib.hostFree(this.#marks);
  }
}

/** `lake bench crossover`: the figure as bench results (one per model and placement), plot written beside. */
export async function crossoverSuite(
  options: CrossoverBenchOptions & { plotDir?: string } = {},
): Promise<BenchSuite> {
  return crossoverSuiteOf(await benchCrossover(options), options.plotDir);
}

/** The suite of a finished crossover run; the plot goes to `plotDir`/crossover.svg when given. */
export async function crossoverSuiteOf(bench: CrossoverBench, plotDir?: string): Promise<BenchSuite> {
  let plot: string | undefined;
  if (plotDir !== undefined) {
    plot = join(plotDir, 'crossover.svg');
    mkdirSync(plotDir, { recursive: true });
    await writeFileAtomic(plot, await crossoverSvg(bench));
  }
  const last = bench.batchSizes.length - 1;
  const largest = bench.batchSizes[last]!;
  const results: BenchResult[] = bench.models.flatMap((m) => {
    const entry = (placement: string, times: number[], crossover?: number | null): BenchResult => ({
      name: `${m.model} ${placement}, batch ${largest}`,
      unit: 'us/batch',
      median: times[last]!,
      min: Math.min(...times),
      max: Math.max(...times),
      samples: bench.batchSizes.length,
      details: {
        batchSizes: bench.batchSizes,
        usPerBatch: times.map((t) => Math.round(t * 100) / 100),
        ...(crossover !== undefined ? { crossover } : {}),
        lakePaperThreshold: m.lakePaperThreshold,
        loadAverage: bench.loadAverage,
        ...(plot !== undefined ? { plot } : {}),
      },
      state: 'completed',
    });
    const inline = entry('inline', m.inlineUs);
    return [
      { ...inline, ratio: 1, reference: inline.name },
      {
        ...entry('lakeD', m.offloadUs, m.crossover.offload),
        ratio: m.offloadUs[last]! / m.inlineUs[last]!,
        reference: inline.name,
      },
      {
        ...entry('lakeD+inline', m.splitUs, m.crossover.split),
        ratio: m.splitUs[last]! / m.inlineUs[last]!,
        reference: inline.name,
      },
    ];
  });
  return { suite: 'crossover', results };
}

/** `lake bench contention`: the reaction time as a bench result (errored when the load never moved work). */
export async function contentionSuite(options: ContentionBenchOptions = {}): Promise<BenchSuite> {
  return contentionSuiteOf(await benchContention(options));
}

/** The suite of a finished contention run. */
export function contentionSuiteOf(r: ContentionBench): BenchSuite {
  const reacted = r.reactionMs !== null;
  return {
    suite: 'contention',
    results: [
      {
        name: `${r.model} batches of ${r.batchSize} moved inline by a competing lakeD load`,
        unit: 'ms',
        median: r.reactionMs ?? Number.NaN,
        min: Math.min(...r.episodes.flatMap((e) => (e.reactionMs === null ? [] : [e.reactionMs]))),
        max: r.reactionMaxMs ?? Number.NaN,
        samples: r.episodes.length,
        details: {
          targetMs: r.targetMs,
          withinTarget: `${r.withinTarget}/${r.episodes.length}`,
          episodes: r.episodes,
          recoveryMs: r.recoveryMs,
          calibration: r.calibration,
          measuredCrossover: r.measuredCrossover,
          phases: r.phases,
          competitor: r.competitor,
          periodMs: r.periodMs,
          threshold: r.threshold,
          loadAverage: r.loadAverage,
        },
        state: reacted ? 'completed' : 'errored',
        ...(reacted ? {} : { error: 'the batches never moved inline' }),
      },
    ],
  };
}

/** The crossover table as Markdown (for BENCHMARKS.md and the CLI's human view). */
export function crossoverMarkdown(bench: CrossoverBench): string {
  const table = crossoverTable(bench);
  return `${table.title ?? ''}\n\n${markdownTable(table.headers, table.rows)}`;
}
