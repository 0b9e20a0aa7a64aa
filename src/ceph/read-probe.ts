/**
 * How fast a pinned pool serves 4 KiB random reads at a fixed queue depth, measured with Ceph's own
 * `rados bench` or, for percentiles, with fio's rados engine (src/ceph/fio-probe.ts). With rados bench a
 * bounded set of 4 KiB objects is written first (`--max-objects`, so the probe never fills a memstore),
 * read at random for a few seconds, and removed. Used to show what a slow cause does to one OSD
 * (`lake cluster probe`) and by the tests to check that it does something.
 */
import { LakeError } from '../errors.js';
import { radosRaw } from './ceph-cli.js';
import { cleanFioPool, fioMissingReason, prepareFioPool, probeFioReads } from './fio-probe.js';
import { describeFailure } from './tools.js';

export const PROBE_OBJECT_BYTES = 4096;
export const PROBE_RUN_NAME = 'lake-probe';

export interface ProbeOptions {
  /** Seconds of random reads. */
  seconds?: number;
  /** Reads in flight (rados bench -t). */
  queueDepth?: number;
  /** Objects written before reading. */
  objects?: number;
}

export const PROBE_DEFAULTS = { seconds: 3, queueDepth: 4, objects: 512 };

/** What `rados bench rand` reported for one pool. */
export interface ReadProbe {
  pool: string;
  seconds: number;
  queueDepth: number;
  reads: number;
  iops: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
  minLatencyMs: number;
  /** Latency percentiles (fio only; rados bench prints none). */
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
}

/** What measures the reads: fio's rados engine (percentiles) or `rados bench rand` (average, maximum). */
export type ProbeTool = 'fio' | 'rados-bench';
export const PROBE_TOOLS: readonly ProbeTool[] = ['fio', 'rados-bench'];

/** fio where it is installed (it reports percentiles), else rados bench (ceph-common has it). */
export function defaultProbeTool(): ProbeTool {
  return fioMissingReason() === undefined ? 'fio' : 'rados-bench';
}

/** A figure from rados bench's summary (`Average IOPS:   1234`); NaN when the line is missing. */
function summaryValue(text: string, label: string): number {
  for (const line of text.split('\n')) {
    const at = line.indexOf(':');
    if (at > 0 && line.slice(0, at).trim() === label) return Number(line.slice(at + 1).trim());
  }
  return Number.NaN;
}

/** Parses `rados bench ... rand` output; throws LAKE_E_IO naming a missing figure. */
export function parseBenchSummary(text: string): Omit<ReadProbe, 'pool' | 'seconds' | 'queueDepth'> {
  const figures = {
    reads: summaryValue(text, 'Total reads made'),
    iops: summaryValue(text, 'Average IOPS'),
    avgLatencyMs: summaryValue(text, 'Average Latency(s)') * 1000,
    maxLatencyMs: summaryValue(text, 'Max latency(s)') * 1000,
    minLatencyMs: summaryValue(text, 'Min latency(s)') * 1000,
  };
  for (const [name, value] of Object.entries(figures))
    if (!Number.isFinite(value))
      throw new LakeError('LAKE_E_IO', `rados bench printed no ${name} figure:\n${text.slice(-600)}`);
  return figures;
}

async function radosStep(conf: string, args: string[], timeoutMs: number): Promise<string> {
  const result = await radosRaw(conf, args, { timeoutMs });
  if (result.status !== 0)
    throw new LakeError('LAKE_E_IO', describeFailure(`rados ${args.join(' ')}`, result, timeoutMs));
  return result.stdout;
}

/** Writes the probe objects to `pool` (once; a later probe reuses them). */
export async function preparePool(
  conf: string,
  pool: string,
  objects = PROBE_DEFAULTS.objects,
): Promise<void> {
  const size = String(PROBE_OBJECT_BYTES);
  await radosStep(
    conf,
    ['-p', pool, 'bench', '60', 'write', '-b', size, '-O', size, '-t', '16', '--no-cleanup'].concat([
      '--run-name',
      PROBE_RUN_NAME,
      '--max-objects',
      String(objects),
    ]),
    90_000,
  );
}

/** Random 4 KiB reads from `pool`'s probe objects for `seconds` at `queueDepth`. */
export async function probeReads(conf: string, pool: string, options: ProbeOptions = {}): Promise<ReadProbe> {
  const seconds = options.seconds ?? PROBE_DEFAULTS.seconds;
  const queueDepth = options.queueDepth ?? PROBE_DEFAULTS.queueDepth;
  const args = ['-p', pool, 'bench', String(seconds), 'rand', '-t', String(queueDepth)];
  const text = await radosStep(conf, [...args, '--run-name', PROBE_RUN_NAME], (seconds + 60) * 1000);
  return { pool, seconds, queueDepth, ...parseBenchSummary(text) };
}

/** Removes the probe objects from `pool`. */
export async function cleanPool(conf: string, pool: string): Promise<void> {
  await radosStep(conf, ['-p', pool, 'cleanup', '--run-name', PROBE_RUN_NAME], 60_000);
}

/** One pool's probes over several rounds, summarised by medians (robust to a busy machine's bursts). */
export interface PoolProbeSummary {
  pool: string;
  rounds: ReadProbe[];
  reads: number;
  medianIops: number;
  medianAvgLatencyMs: number;
  /** The largest single read latency over all rounds. */
  maxLatencyMs: number;
  /** Medians over rounds of each round's percentiles (fio only). */
  medianP50Ms?: number;
  medianP99Ms?: number;
  medianP999Ms?: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Probes `pools` for `rounds` rounds, the pools interleaved within each round so that a change in the
 * machine's load falls on every pool alike; the probe objects are written first and removed after, also
 * when a probe fails.
 */
export async function probePools(
  conf: string,
  pools: readonly string[],
  options: ProbeOptions & { rounds?: number; tool?: ProbeTool } = {},
): Promise<PoolProbeSummary[]> {
  const rounds = options.rounds ?? 1;
  const tool = options.tool ?? 'rados-bench';
  const seconds = options.seconds ?? PROBE_DEFAULTS.seconds;
  const queueDepth = options.queueDepth ?? PROBE_DEFAULTS.queueDepth;
  const samples = new Map<string, ReadProbe[]>(pools.map((pool) => [pool, []]));
  const probe = (pool: string): Promise<ReadProbe> =>
    tool === 'fio' ? probeFioReads(conf, pool, { seconds, queueDepth }) : probeReads(conf, pool, options);
  try {
    for (const pool of pools)
      await (tool === 'fio' ? prepareFioPool(conf, pool) : preparePool(conf, pool, options.objects));
    for (let round = 0; round < rounds; round++)
      for (const pool of pools) samples.get(pool)!.push(await probe(pool));
  } finally {
    for (const pool of pools)
      await (tool === 'fio' ? cleanFioPool(conf, pool) : cleanPool(conf, pool)).catch(() => undefined);
  }
  return pools.map((pool) => {
    const probes = samples.get(pool)!;
    return {
      pool,
      rounds: probes,
      reads: probes.reduce((sum, p) => sum + p.reads, 0),
      medianIops: median(probes.map((p) => p.iops)),
      medianAvgLatencyMs: median(probes.map((p) => p.avgLatencyMs)),
      maxLatencyMs: Math.max(...probes.map((p) => p.maxLatencyMs)),
      ...(tool === 'fio'
        ? {
            medianP50Ms: median(probes.map((p) => p.p50Ms ?? Number.NaN)),
            medianP99Ms: median(probes.map((p) => p.p99Ms ?? Number.NaN)),
            medianP999Ms: median(probes.map((p) => p.p999Ms ?? Number.NaN)),
          }
        : {}),
    };
  });
}
