import { SingleBar } from 'cli-progress';
import { usageError } from '../errors.js';

export interface ProgressOptions {
  /** What is being counted, printed before the bar ('replay baseline', 'train'). */
  label: string;
  /** The count at completion (>= 0). */
  total: number;
  /** No output at all (the CLI's --json: stdout carries JSON and stderr stays clean). */
  quiet?: boolean;
  /** Where the bar is drawn (default process.stderr); nothing is drawn unless it is a TTY. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface Progress {
  /** Sets the count done so far. */
  update(done: number): void;
  /** Adds to the count done so far (default 1). */
  increment(by?: number): void;
  /** Draws the final state and releases the terminal; call it once the work ends (idempotent). */
  stop(): void;
}

/** Bar redraws per run at most (plus the final one): ~0.5% steps. */
const REDRAW_STEPS = 200;

const SILENT: Progress = {
  update: () => undefined,
  increment: () => undefined,
  stop: () => undefined,
};

/**
 * A progress bar on stderr (cli-progress), or a no-op when quiet or when stderr is not a terminal (logs and
 * pipes get no escape codes). update/increment are cheap enough for a per-I/O loop: they only pass a new
 * value to the bar every 1/200th of the total, and cli-progress redraws at most 10 times a second.
 */
export function createProgress(options: ProgressOptions): Progress {
  if (!(Number.isFinite(options.total) && options.total >= 0)) {
    throw usageError(`options.total must be a finite number >= 0, got ${options.total}`);
  }
  const stream = options.stream ?? process.stderr;
  if (options.quiet === true || stream.isTTY !== true) return SILENT;

  const bar = new SingleBar({
    stream,
    format: `${options.label.replace(/[{}]/g, '')} [{bar}] {percentage}% | {value}/{total} | {duration_formatted} | ETA {eta_formatted}`,
    barCompleteChar: '#',
    barIncompleteChar: '.',
    barsize: 30,
    hideCursor: false,
    clearOnComplete: false,
    fps: 10,
  });
  const step = Math.max(1, Math.ceil(options.total / REDRAW_STEPS));
  let done = 0;
  let nextPush = step;
  let stopped = false;
  bar.start(options.total, 0);

  const push = (): void => {
    bar.update(Math.min(done, options.total));
    nextPush = done + step;
  };
  return {
    update(value: number): void {
      done = value;
      if (done >= nextPush || done < nextPush - step) push();
    },
    increment(by = 1): void {
      done += by;
      if (done >= nextPush) push();
    },
    stop(): void {
      if (stopped) return;
      stopped = true;
      bar.update(Math.min(done, options.total));
      bar.stop();
    },
  };
}
