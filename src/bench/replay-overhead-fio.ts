/**
 * fio as the reference for `lake bench replay-overhead`: the same pattern lake replays (random reads of one
 * block size, uniform over the first `fileBytes` of each file, with repeats, spread round-robin over the
 * files, the same number of I/Os, the same I/Os in flight, O_DIRECT when lake's devices use it), run by fio's
 * io_uring engine from one thread, as lake's engine runs from one thread. fio only reads (--readonly), so a
 * file it is pointed at is never written.
 *
 * Why one job over all the files with iodepth = queueDepth x files: lake keeps `queueDepth` reads in flight
 * per device from one thread and one ring; one fio job (one thread, one ring) over the files round-robin with
 * the summed depth is the closest fio pattern. fio's own defaults decide everything else (how it batches
 * submissions and completions): it is the reference as a user would run it.
 */
import { spawnSync } from 'node:child_process';
import { LakeError } from '../errors.js';

/** The pattern lake replayed, for fio to repeat. */
export interface FioPattern {
  paths: readonly string[];
  /** Offsets are uniform over [0, fileBytes) of every file, multiples of ioBytes. */
  fileBytes: number;
  ioBytes: number;
  /** Reads in all. */
  ios: number;
  /** Reads in flight per file (fio: this times the files, in one job). */
  queueDepth: number;
  direct: boolean;
  seed: number;
}

/** One fio run, from its JSON output. */
export interface FioRun {
  iops: number;
  /** fio's runtime of the job, ms (whole ms: fio's resolution). */
  wallMs: number;
  ios: number;
  /** Completion latency (submission to completion), us. */
  readMeanUs: number;
  /** fio's CPU time per I/O (its usr_cpu and sys_cpu over its job runtime), us. */
  cpuUserUsPerIo: number;
  cpuSystemUsPerIo: number;
}

export type FioAvailability = { available: true; version: string } | { available: false; reason: string };

/** The longest a reference run may take before it is given up. */
const FIO_TIMEOUT_MS = 300_000;

/** Whether `command` runs fio, and its version. */
export function fioAvailability(command = 'fio'): FioAvailability {
  const probe = spawnSync(command, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.error !== undefined) {
    const code = (probe.error as NodeJS.ErrnoException).code;
    return {
      available: false,
      reason: code === 'ENOENT' ? `${command} is not installed` : `${command}: ${probe.error.message}`,
    };
  }
  const version = probe.stdout.trim();
  if (probe.status !== 0 || !/^fio-\d/.test(version))
    return {
      available: false,
      reason: `${command} --version did not answer as fio (${version || probe.stderr.trim()})`,
    };
  return { available: true, version };
}

/** fio's file list: names joined by ':', a ':' inside a name escaped as '\:' (fio's filename syntax). */
function fioFileList(paths: readonly string[]): string {
  return paths.map((p) => p.replaceAll(':', '\\:')).join(':');
}

/** The fio command line for the pattern (without the command itself). */
export function fioArguments(pattern: FioPattern): string[] {
  return [
    '--name=lake-reference',
    `--filename=${fioFileList(pattern.paths)}`,
    '--file_service_type=roundrobin',
    '--rw=randread',
    `--bs=${pattern.ioBytes}`,
    `--filesize=${pattern.fileBytes}`,
    `--io_size=${pattern.ios * pattern.ioBytes}`,
    // Uniform offsets with repeats, as lake's seeded draw (fio's default random map would visit each block once).
    '--norandommap',
    `--randseed=${pattern.seed}`,
    '--ioengine=io_uring',
    // lake's ring registers its buffers too.
    '--fixedbufs=1',
    `--iodepth=${pattern.queueDepth * pattern.paths.length}`,
    `--direct=${pattern.direct ? 1 : 0}`,
    '--readonly',
    '--output-format=json',
  ];
}

/** Reads fio's JSON report (anything fio printed before the JSON is skipped); `ios` is what was asked. */
export function parseFioJson(text: string, ios: number): FioRun {
  const start = text.indexOf('{');
  let report: unknown;
  try {
    report = JSON.parse(start >= 0 ? text.slice(start) : text);
  } catch (error) {
    throw new LakeError('LAKE_E_IO', `fio's output is not JSON: ${(error as Error).message}`);
  }
  const job = (report as { jobs?: unknown[] }).jobs?.[0] as Record<string, unknown> | undefined;
  const read = job?.['read'] as Record<string, unknown> | undefined;
  const field = (where: Record<string, unknown> | undefined, name: string, label: string): number => {
    const value = where?.[name];
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new LakeError('LAKE_E_IO', `fio's JSON report: field ${label} is missing or not a number`);
    return value;
  };
  const error = field(job, 'error', 'jobs[0].error');
  if (error !== 0) throw new LakeError('LAKE_E_IO', `fio's job failed with error ${error}`);
  const total = field(read, 'total_ios', 'jobs[0].read.total_ios');
  if (total !== ios)
    throw new LakeError(
      'LAKE_E_IO',
      `fio did ${total} reads, asked for ${ios} (field jobs[0].read.total_ios)`,
    );
  const runtimeMs = field(read, 'runtime', 'jobs[0].read.runtime');
  if (!(runtimeMs > 0))
    throw new LakeError('LAKE_E_IO', 'fio reported a zero runtime (field jobs[0].read.runtime)');
  const jobMs = field(job, 'job_runtime', 'jobs[0].job_runtime');
  const clat = read?.['clat_ns'] as Record<string, unknown> | undefined;
  return {
    iops: field(read, 'iops', 'jobs[0].read.iops'),
    wallMs: runtimeMs,
    ios: total,
    readMeanUs: field(clat, 'mean', 'jobs[0].read.clat_ns.mean') / 1000,
    cpuUserUsPerIo: ((field(job, 'usr_cpu', 'jobs[0].usr_cpu') / 100) * jobMs * 1000) / total,
    cpuSystemUsPerIo: ((field(job, 'sys_cpu', 'jobs[0].sys_cpu') / 100) * jobMs * 1000) / total,
  };
}

/** Runs fio for the pattern and reads its report; a failure is a LakeError saying what fio said. */
export function runFio(pattern: FioPattern, command = 'fio'): FioRun {
  const run = spawnSync(command, fioArguments(pattern), {
    encoding: 'utf8',
    timeout: FIO_TIMEOUT_MS,
    maxBuffer: 64 << 20,
  });
  if (run.error !== undefined) throw new LakeError('LAKE_E_IO', `${command}: ${run.error.message}`);
  if (run.status !== 0) {
    const said = `${run.stderr}${run.stdout}`.trim().split('\n').slice(-3).join(' / ');
    throw new LakeError('LAKE_E_IO', `${command} exited with status ${run.status}: ${said}`);
  }
  return parseFioJson(run.stdout, pattern.ios);
}
