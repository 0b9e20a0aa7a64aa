import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dawnEnvironment } from './env.js';
import type { HostReply } from './protocol.js';

const DETECT_TIMEOUT_MS = 20_000;

/**
 * Starts Dawn in a child process (detect-main.ts) and returns its reply to 'init': the adapter it found, or
 * why none. The child runs the compiled .js next to this module, or the .ts under the same loader as this
 * process (tests and `node --import tsx` runs), as spawnWorker does for threads.
 */
export function detectAdapter(): HostReply {
  const js = fileURLToPath(new URL('./detect-main.js', import.meta.url));
  const ts = fileURLToPath(new URL('./detect-main.ts', import.meta.url));
  const script = existsSync(js) ? js : ts;
  const result = spawnSync(process.execPath, [...process.execArgv, script, String(DETECT_TIMEOUT_MS)], {
    encoding: 'utf8',
    timeout: DETECT_TIMEOUT_MS + 10_000,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: dawnEnvironment(process.env),
  });
  const line = result.stdout?.trim().split('\n').pop() ?? '';
  try {
    const reply = JSON.parse(line) as HostReply;
    if (typeof reply === 'object' && reply !== null && typeof reply.ok === 'boolean') return reply;
  } catch {
    // Reported below with what the child printed.
  }
  const why =
    result.error?.message ??
    (result.signal !== null ? `killed by ${result.signal}` : `exit status ${String(result.status)}`);
  const stderr = (result.stderr ?? '').trim().split('\n').slice(-3).join(' / ');
  return { ok: false, message: `the detection process failed (${why})${stderr ? `: ${stderr}` : ''}` };
}
