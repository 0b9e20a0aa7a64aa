/**
 * The `ceph` and `rados` CLIs pointed at one cluster's ceph.conf, each call bounded twice: Ceph's own
 * connect timeout (so an absent monitor is an error, not a hang) and lake's kill timer (for commands that
 * connect and then wait, as `ceph pg stat` does without a mgr).
 */
import { runTool, runToolChecked, type ToolOptions, type ToolResult } from './tools.js';

/** A single monitor command on a healthy test cluster answers in well under a second. */
export const CEPH_CALL_MS = 15_000;

function connectSeconds(timeoutMs: number): string {
  return String(Math.max(1, Math.floor(timeoutMs / 1000) - 1));
}

/** `ceph -c CONF ARGS`, its stdout; LAKE_E_IO on failure or timeout. */
export function ceph(conf: string, args: readonly string[], timeoutMs = CEPH_CALL_MS): Promise<string> {
  return runToolChecked('ceph', ['-c', conf, '--connect-timeout', connectSeconds(timeoutMs), ...args], {
    timeoutMs,
  });
}

/** `ceph -c CONF ARGS --format json`, parsed. */
export async function cephJson(
  conf: string,
  args: readonly string[],
  timeoutMs = CEPH_CALL_MS,
): Promise<unknown> {
  const text = await ceph(conf, [...args, '--format', 'json'], timeoutMs);
  return JSON.parse(text) as unknown;
}

/** `rados -c CONF ARGS` without throwing (the caller reads status and output). */
export function radosRaw(conf: string, args: readonly string[], options: ToolOptions): Promise<ToolResult> {
  return runTool(
    'rados',
    ['-c', conf, `--client-mount-timeout=${connectSeconds(options.timeoutMs)}`, ...args],
    options,
  );
}

/** `rados -c CONF ARGS`, its stdout; LAKE_E_IO on failure or timeout. */
export function rados(conf: string, args: readonly string[], options: ToolOptions): Promise<string> {
  return runToolChecked(
    'rados',
    ['-c', conf, `--client-mount-timeout=${connectSeconds(options.timeoutMs)}`, ...args],
    options,
  );
}
