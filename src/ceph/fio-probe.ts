/**
 * The read probe with percentiles: fio's `rados` engine (librados, asynchronous, a fixed queue depth)
 * reading 4 KiB at random from 64 objects of 128 KiB in one pool, with fio's latency percentiles
 * (submission to completion, `--lat_percentiles`). `rados bench` reports only the average and maximum,
 * and the tail is what a slow replica changes first.
 */
import { LakeError } from '../errors.js';
import { radosRaw } from './ceph-cli.js';
import type { ReadProbe } from './read-probe.js';
import { describeFailure, findProgram, runTool } from './tools.js';

export const FIO_JOB = 'lake-fio-probe';
const FIO_OBJECTS = 64;
const FIO_OBJECT_BYTES = 128 * 1024;

/** Why fio cannot probe here (missing, or built without the rados engine), or undefined. */
export function fioMissingReason(): string | undefined {
  if (findProgram('fio') === undefined) return 'fio is not on PATH (Debian: apt-get install fio)';
  return undefined;
}

function fioArgs(conf: string, pool: string, extra: string[]): string[] {
  return [
    `--name=${FIO_JOB}`,
    '--ioengine=rados',
    `--conf=${conf}`,
    '--clientname=admin',
    `--pool=${pool}`,
    `--size=${FIO_OBJECTS * FIO_OBJECT_BYTES}`,
    `--nrfiles=${FIO_OBJECTS}`,
    '--output-format=json',
    ...extra,
  ];
}

async function runFio(args: string[], timeoutMs: number): Promise<string> {
  const result = await runTool('fio', args, { timeoutMs });
  if (result.status !== 0)
    throw new LakeError('LAKE_E_IO', describeFailure(`fio ${args.join(' ')}`, result, timeoutMs));
  return result.stdout;
}

/** Writes the probe's objects to `pool`. */
export async function prepareFioPool(conf: string, pool: string): Promise<void> {
  await runFio(fioArgs(conf, pool, ['--rw=write', `--bs=${FIO_OBJECT_BYTES}`, '--iodepth=16']), 120_000);
}

interface FioLatency {
  min: number;
  max: number;
  mean: number;
  percentile?: Record<string, number>;
}

/** Reads fio's JSON: IOPS, reads and latencies (ms) of the job's reads. */
export function parseFioReads(text: string): Omit<ReadProbe, 'pool' | 'seconds' | 'queueDepth'> {
  let read: { iops?: number; total_ios?: number; lat_ns?: FioLatency } | undefined;
  try {
    // fio may print notes before the JSON document.
    const json = JSON.parse(text.slice(text.indexOf('{'))) as { jobs?: { read?: typeof read }[] };
    read = json.jobs?.[0]?.read;
  } catch {
    throw new LakeError('LAKE_E_IO', `fio printed no JSON report:\n${text.slice(-600)}`);
  }
  const lat = read?.lat_ns;
  const percentile = (p: string): number => (lat?.percentile?.[p] ?? Number.NaN) / 1e6;
  const figures = {
    reads: read?.total_ios ?? Number.NaN,
    iops: read?.iops ?? Number.NaN,
    avgLatencyMs: (lat?.mean ?? Number.NaN) / 1e6,
    maxLatencyMs: (lat?.max ?? Number.NaN) / 1e6,
    minLatencyMs: (lat?.min ?? Number.NaN) / 1e6,
    p50Ms: percentile('50.000000'),
    p99Ms: percentile('99.000000'),
    p999Ms: percentile('99.900000'),
  };
  for (const [name, value] of Object.entries(figures))
    if (!Number.isFinite(value))
      throw new LakeError('LAKE_E_IO', `fio's report has no ${name} figure for reads`);
  return figures;
}

/** Random 4 KiB reads from the probe's objects for `seconds` at `queueDepth`. */
export async function probeFioReads(
  conf: string,
  pool: string,
  options: { seconds: number; queueDepth: number },
): Promise<ReadProbe> {
  const { seconds, queueDepth } = options;
  const args = ['--rw=randread', '--bs=4096', `--iodepth=${queueDepth}`, `--runtime=${seconds}`];
  args.push('--time_based', '--lat_percentiles=1');
  const text = await runFio(fioArgs(conf, pool, args), (seconds + 60) * 1000);
  return { pool, seconds, queueDepth, ...parseFioReads(text) };
}

/** Removes the probe's objects from `pool`. */
export async function cleanFioPool(conf: string, pool: string): Promise<void> {
  const names = Array.from({ length: FIO_OBJECTS }, (_, i) => `${FIO_JOB}.0.${i}`);
  const result = await radosRaw(conf, ['-p', pool, 'rm', ...names], { timeoutMs: 60_000 });
  if (result.status !== 0)
    throw new LakeError('LAKE_E_IO', describeFailure(`rados -p ${pool} rm ${FIO_JOB}.*`, result, 60_000));
}
