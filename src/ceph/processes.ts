/**
 * The processes the test cluster owns (monitor, OSDs, noisy neighbours), each recorded by PID and the start
 * time the kernel gives it (/proc/PID/stat field 22), so that a PID reused by another program after the
 * daemon died is never signalled. Daemons are started detached (their own session: a Ctrl-C at the
 * terminal does not reach them, `lake cluster up` returns while they run) and stopped by SIGTERM, then
 * SIGKILL after a grace.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { LakeError } from '../errors.js';

/** A process lake started, as the cluster state records it. */
export interface OwnedProcess {
  /** What it is: `mon.a`, `osd.0`, `noisy.1`. */
  name: string;
  pid: number;
  /** Its start time in clock ticks since boot (decimal), from /proc/PID/stat. */
  startTicks: string;
  /** Where its stdout and stderr go. */
  log: string;
}

interface ProcStat {
  state: string;
  startTicks: string;
}

function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces; the fields after the last ')' are
  // state (field 3) onwards, so starttime (field 22) is the 20th of them.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTicks = fields[19];
  if (state === undefined || startTicks === undefined) return undefined;
  return { state, startTicks };
}

/** Whether the recorded process is running: same PID, same start time, not a zombie. */
export function isRunning(owned: Pick<OwnedProcess, 'pid' | 'startTicks'>): boolean {
  const stat = readProcStat(owned.pid);
  if (stat === undefined || stat.startTicks !== owned.startTicks) return false;
  return stat.state !== 'Z' && stat.state !== 'X';
}

/**
 * Starts `program args` detached, its stderr (and stdout, unless `dropStdout`: a chatty tool) appended to
 * `log`; returns its record once it exists.
 */
export async function startOwned(
  name: string,
  program: string,
  args: readonly string[],
  log: string,
  dropStdout = false,
): Promise<OwnedProcess> {
  const fd = openSync(log, 'a');
  try {
    const stdio: ['ignore', number | 'ignore', number] = ['ignore', dropStdout ? 'ignore' : fd, fd];
    const child = spawn(program, [...args], { detached: true, stdio });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid ?? -1));
      child.once('error', (error) =>
        reject(new LakeError('LAKE_E_IO', `cannot start ${name} (${program}): ${error.message}`)),
      );
    });
    child.unref();
    const stat = readProcStat(pid);
    if (pid < 0 || stat === undefined)
      throw new LakeError('LAKE_E_IO', `${name} (${program}) exited at once; see ${log}`);
    return { name, pid, startTicks: stat.startTicks, log };
  } finally {
    closeSync(fd);
  }
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Gone between the check and the signal: nothing to stop.
  }
}

const POLL_MS = 50;
/** After SIGKILL the kernel needs only a moment; longer means the process is stuck in the kernel. */
const AFTER_KILL_MS = 5000;

/** How stopping went: which processes needed SIGKILL, which would not die at all. */
export interface StopOutcome {
  killed: string[];
  stuck: string[];
}

/** SIGTERM to every running process in `owned`, SIGKILL to those alive after `graceMs`. */
export async function stopOwned(owned: readonly OwnedProcess[], graceMs: number): Promise<StopOutcome> {
  const running = owned.filter(isRunning);
  for (const p of running) signalQuietly(p.pid, 'SIGTERM');
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  let deadline = Date.now() + graceMs;
  while (running.some(isRunning) && Date.now() < deadline) await sleep(POLL_MS);
  const killed = running.filter(isRunning);
  for (const p of killed) signalQuietly(p.pid, 'SIGKILL');
  deadline = Date.now() + AFTER_KILL_MS;
  while (killed.some(isRunning) && Date.now() < deadline) await sleep(POLL_MS);
  return { killed: killed.map((p) => p.name), stuck: killed.filter(isRunning).map((p) => p.name) };
}

/**
 * stopOwned for a signal handler, which must finish before the process exits: the same steps, waiting
 * synchronously (Atomics.wait on a private buffer sleeps without spinning).
 */
export function stopOwnedSync(owned: readonly OwnedProcess[], graceMs: number): StopOutcome {
  const running = owned.filter(isRunning);
  for (const p of running) signalQuietly(p.pid, 'SIGTERM');
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const sleep = (ms: number): void => void Atomics.wait(cell, 0, 0, ms);
  let deadline = Date.now() + graceMs;
  while (running.some(isRunning) && Date.now() < deadline) sleep(POLL_MS);
  const killed = running.filter(isRunning);
  for (const p of killed) signalQuietly(p.pid, 'SIGKILL');
  deadline = Date.now() + AFTER_KILL_MS;
  while (killed.some(isRunning) && Date.now() < deadline) sleep(POLL_MS);
  return { killed: killed.map((p) => p.name), stuck: killed.filter(isRunning).map((p) => p.name) };
}
