/**
 * The Ceph programs the test cluster drives (ceph-mon, ceph-osd, monmaptool, the `ceph` and `rados` CLIs),
 * found on PATH, and one way to run them: every call has a kill timer, because the `ceph` CLI can wait
 * forever on a monitor that does not answer (and, without a mgr, on commands such as `ceph pg stat`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { LakeError } from '../errors.js';

/** The programs `lake cluster` needs, by the Debian package that ships each. */
export const CEPH_PROGRAMS: Readonly<Record<string, string>> = {
  'ceph-mon': 'ceph-mon',
  'ceph-osd': 'ceph-osd',
  monmaptool: 'ceph-base',
  ceph: 'ceph-common',
  rados: 'ceph-common',
};

/** The absolute path of `program` on PATH, or undefined. */
export function findProgram(program: string, path = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here; try the next directory.
    }
  }
  return undefined;
}

/** Why the cluster cannot run here (the programs missing and their packages), or undefined when it can. */
export function cephMissingReason(path = process.env['PATH'] ?? ''): string | undefined {
  const missing = Object.keys(CEPH_PROGRAMS).filter((program) => findProgram(program, path) === undefined);
  if (missing.length === 0) return undefined;
  const packages = [...new Set(missing.map((program) => CEPH_PROGRAMS[program]!))];
  return `Ceph is not installed: ${missing.join(', ')} not on PATH (Debian: apt-get install --no-install-recommends ${packages.join(' ')})`;
}

/** Throws LAKE_E_IO naming the missing programs unless every one is present. */
export function requireCeph(): void {
  const reason = cephMissingReason();
  if (reason !== undefined) throw new LakeError('LAKE_E_IO', reason);
}

export interface ToolResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The kill timer fired. */
  timedOut: boolean;
}

export interface ToolOptions {
  timeoutMs: number;
  /** Written to the program's stdin, which is then closed. */
  input?: string;
}

/** Output kept per stream; a longer output keeps its end (where errors are). */
const MAX_OUTPUT_CHARS = 1 << 20;

/** Tool processes running now, so that an interrupted `up` can end them too. */
const running = new Set<ChildProcess>();

/** SIGKILL to every tool call still running (for a signal handler about to exit the process). */
export function killRunningTools(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** Runs `program args`, killing it (SIGKILL) after `timeoutMs`; never rejects for a non-zero exit. */
export function runTool(program: string, args: readonly string[], options: ToolOptions): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = spawn(program, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const keep = (text: string): string =>
      text.length > MAX_OUTPUT_CHARS ? text.slice(-MAX_OUTPUT_CHARS) : text;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout = keep(stdout + chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = keep(stderr + chunk);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    child.on('error', (error) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ status: null, signal: null, stdout, stderr: `${stderr}${error.message}`, timedOut });
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ status, signal, stdout, stderr, timedOut });
    });
  });
}

/** The last `lines` lines of `text`, for error messages. */
export function tailLines(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

/** A one-line account of how a tool call failed, with the end of its stderr. */
export function describeFailure(what: string, result: ToolResult, timeoutMs: number): string {
  const how = result.timedOut
    ? `timed out after ${timeoutMs} ms`
    : result.signal !== null
      ? `killed by ${result.signal}`
      : `exited with status ${result.status ?? 'unknown'}`;
  const detail = tailLines(result.stderr || result.stdout, 5);
  return `${what} ${how}${detail === '' ? '' : `:\n${detail}`}`;
}

/** Runs a tool and returns its stdout, or throws LAKE_E_IO describing the failure. */
export async function runToolChecked(
  program: string,
  args: readonly string[],
  options: ToolOptions,
): Promise<string> {
  const result = await runTool(program, args, options);
  if (result.status !== 0)
    throw new LakeError(
      'LAKE_E_IO',
      describeFailure(`${program} ${args.join(' ')}`, result, options.timeoutMs),
    );
  return result.stdout;
}
