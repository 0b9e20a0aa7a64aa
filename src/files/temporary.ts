/**
 * The temporary files lake has live at any moment (images being filled, outputs not yet renamed into place),
 * in one registry, so that an interrupted run leaves none behind: on SIGINT or SIGTERM every live path is
 * removed and the process exits with 128 + the signal's number (130, 143), as a shell reports a killed
 * command. The handlers are installed only while some path is live, so the rest of the time a signal has its
 * default effect.
 *
 * A handler runs between turns of the event loop, so work that holds live temporaries must await between
 * chunks (a synchronous loop would let the signal wait until it ends).
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { constants } from 'node:os';
import { basename, dirname, join } from 'node:path';

type CleanupSignal = 'SIGINT' | 'SIGTERM';
const SIGNALS: readonly CleanupSignal[] = ['SIGINT', 'SIGTERM'];

/** Live paths, each with how many holders registered it (a path is removed once, whoever holds it). */
const live = new Map<string, number>();
let installed = false;

/** A registration: `release` forgets the path (it became a kept file, or was removed by its owner). */
export interface TrackedPath {
  readonly path: string;
  /** Forget the path without touching it; idempotent. */
  release(): void;
  /** Remove the path (a file) now, ignoring a missing one, and forget it; idempotent. */
  remove(): void;
}

/** Registers `path` as a temporary: removed if the process is interrupted before `release`/`remove`. */
export function trackTemporary(path: string): TrackedPath {
  live.set(path, (live.get(path) ?? 0) + 1);
  install();
  let done = false;
  const forget = (): void => {
    if (done) return;
    done = true;
    const count = (live.get(path) ?? 1) - 1;
    if (count > 0) live.set(path, count);
    else live.delete(path);
    if (live.size === 0) uninstall();
  };
  return {
    path,
    release: forget,
    remove(): void {
      if (done) return;
      removeQuietly(path);
      forget();
    },
  };
}

/** The paths now registered (for tests and diagnostics). */
export function liveTemporaries(): string[] {
  return [...live.keys()];
}

/**
 * A fresh name for a temporary beside `target` (same directory, so a rename into place is atomic): hidden,
 * naming the target, this process and a random tag, e.g. `.results.json.4242.9f3a1c0e.tmp`.
 */
export function temporaryPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // Nothing more can be done for it; the signal path must not throw.
  }
}

function removeAll(): number {
  const paths = [...live.keys()];
  live.clear();
  for (const path of paths) removeQuietly(path);
  return paths.length;
}

function onSignal(signal: CleanupSignal): void {
  const removed = removeAll();
  uninstall();
  process.stderr.write(
    `lake: interrupted by ${signal}${removed > 0 ? `: removed ${removed} unfinished file${removed === 1 ? '' : 's'}` : ''}\n`,
  );
  process.exit(128 + constants.signals[signal]);
}

/** An exit by any route (process.exit elsewhere) while temporaries are live still removes them. */
function onExit(): void {
  removeAll();
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of SIGNALS) process.on(signal, onSignal);
  process.on('exit', onExit);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const signal of SIGNALS) process.off(signal, onSignal);
  process.off('exit', onExit);
}
