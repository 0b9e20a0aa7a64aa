import { tmpdir } from 'node:os';
import { isMainThread } from 'node:worker_threads';

/**
 * What Dawn's GL backend and Mesa read with getenv(), where missing: surfaceless EGL needs no display, and
 * without a runtime dir Mesa prints an error per adapter it tries.
 */
export function dawnEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...env,
    EGL_PLATFORM: env['EGL_PLATFORM'] ?? 'surfaceless',
    XDG_RUNTIME_DIR: env['XDG_RUNTIME_DIR'] ?? tmpdir(),
  };
}

/**
 * Sets dawnEnvironment() in this process. A worker's process.env is a private copy that never reaches
 * getenv(), so only the main thread can, and it must before any GPU thread starts.
 */
export function prepareDawnEnvironment(): void {
  if (!isMainThread) return;
  const wanted = dawnEnvironment(process.env);
  process.env['EGL_PLATFORM'] = wanted['EGL_PLATFORM'];
  process.env['XDG_RUNTIME_DIR'] = wanted['XDG_RUNTIME_DIR'];
}
