import { type Options, type Params, SingleBar } from 'cli-progress';
import { escapeInput, usageError } from '../errors.js';

export interface ProgressOptions {
  /** What is being counted or done, printed first ('replay baseline', 'train', 'eval: loading'). */
  label: string;
  /**
   * The count at completion (>= 0): a bar with a percentage and an ETA. Absent when the count is not
   * known ahead (records of a trace being read): a running count, or a status line when `unit` is absent too.
   */
  total?: number;
  /** What the count counts ('records', 'I/Os'), printed after it. */
  unit?: string;
  /** No output at all (the CLI's --json: stdout carries JSON and stderr stays clean). */
  quiet?: boolean;
  /** Where the bar is drawn (default process.stderr); nothing is drawn unless it is a TTY. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /**
   * Draw nothing until this many milliseconds after creation (default 0), so that work that ends sooner
   * leaves no trace on the terminal. Only for work that updates often: a delayed bar appears at an update.
   */
  showAfterMs?: number;
  /**
   * When the work began on the `now` clock (default: at creation). A later stage of one command counts
   * showAfterMs from the command's start, so it shows at once when the stages before took long.
   */
  since?: number;
  /** The clock `showAfterMs` and the time shown are measured on (default performance.now; tests pass their own). */
  now?: () => number;
}

export interface Progress {
  /** Sets the count done so far. */
  update(done: number): void;
  /** Adds to the count done so far (default 1). */
  increment(by?: number): void;
  /** A better idea of the count at completion (an estimate corrected on the way). */
  setTotal(total: number): void;
  /** Replaces the label (the stage of a multi-stage job) and redraws at once. */
  setLabel(label: string): void;
  /**
   * The work has ended: the count reached is the total (an estimated total is corrected to it, so the bar
   * ends at 100%); draws the final state and releases the terminal. Then like stop().
   */
  complete(): void;
  /** Draws the state reached and releases the terminal; call it once the work ends (idempotent). */
  stop(): void;
}

/** Labels longer than this are cut (the line must fit a terminal). */
const MAX_LABEL_CHARS = 160;
/** Bar redraws per run at most (plus the final one): ~0.5% steps. */
const REDRAW_STEPS = 200;
/** Running counts (no total) are passed to the bar every this many units. */
const COUNT_STEP = 1000;

const SILENT: Progress = {
  update: () => undefined,
  increment: () => undefined,
  setTotal: () => undefined,
  setLabel: () => undefined,
  complete: () => undefined,
  stop: () => undefined,
};

function checkTotal(total: number): void {
  if (!(Number.isFinite(total) && total >= 0)) {
    throw usageError(`progress total must be a finite number >= 0, got ${total}`);
  }
}

/** Seconds as m:ss (h:mm:ss past an hour); '-' when unknown. */
export function formatSeconds(seconds: number): string {
  if (!(Number.isFinite(seconds) && seconds >= 0)) return '-';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** One line of progress: label, then the bar and percentage or the running count, then the time taken. */
export function formatProgressLine(
  state: { label: string; unit?: string; value: number; total?: number; elapsedS: number; etaS?: number },
  barWidth = 30,
): string {
  const unit = state.unit === undefined ? '' : ` ${state.unit}`;
  const parts: string[] = [];
  if (state.total !== undefined) {
    const fraction = state.total > 0 ? Math.min(1, state.value / state.total) : 1;
    const filled = Math.round(fraction * barWidth);
    parts.push(
      `${state.label} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${Math.floor(fraction * 100)}%`,
      `${state.value}/${state.total}${unit}`,
      formatSeconds(state.elapsedS),
      `ETA ${fraction >= 1 ? '0:00' : formatSeconds(state.etaS ?? Number.NaN)}`,
    );
  } else {
    parts.push(state.unit === undefined ? state.label : `${state.label} ${state.value}${unit}`);
    parts.push(formatSeconds(state.elapsedS));
  }
  return parts.join(' | ');
}

/**
 * A progress bar on stderr (cli-progress), or a no-op when quiet or when stderr is not a terminal (logs,
 * pipes and tests' captured output get nothing). update/increment are cheap enough for a per-I/O loop: they
 * pass a new value to the bar every 1/200th of the total (every 1000 for a running count), and cli-progress
 * redraws at most 10 times a second, also from synchronous code.
 */
export function createProgress(options: ProgressOptions): Progress {
  if (options.total !== undefined) checkTotal(options.total);
  const stream = options.stream ?? process.stderr;
  if (options.quiet === true || stream.isTTY !== true) return SILENT;

  const now = options.now ?? (() => performance.now());
  const created = options.since ?? now();
  const showAfterMs = options.showAfterMs ?? 0;
  // Labels name user files: their control characters must not act on the terminal.
  const clean = (text: string): string => escapeInput(text, MAX_LABEL_CHARS);
  let label = clean(options.label);
  let total = options.total;
  const counting = total === undefined;
  const step = (): number => (counting ? COUNT_STEP : Math.max(1, Math.ceil(total! / REDRAW_STEPS)));
  let done = 0;
  let nextPush = step();
  let shown = false;
  let stopped = false;

  const format = (_options: Options, params: Params): string =>
    formatProgressLine({
      label,
      ...(options.unit !== undefined ? { unit: options.unit } : {}),
      value: params.value,
      ...(counting ? {} : { total: params.total }),
      // From creation, not from the first draw (which showAfterMs delays).
      elapsedS: (now() - created) / 1000,
      etaS: params.eta,
    });
  const bar = new SingleBar({
    stream,
    format,
    hideCursor: false,
    clearOnComplete: false,
    fps: 10,
  });

  /** Starts drawing once showAfterMs has passed; true while drawn. */
  const visible = (): boolean => {
    if (shown) return true;
    if (stopped || now() - created < showAfterMs) return false;
    shown = true;
    bar.start(counting ? 0 : total!, shownValue());
    return true;
  };
  const shownValue = (): number => (counting ? done : Math.min(done, total!));
  const push = (): void => {
    nextPush = done + step();
    if (visible()) bar.update(shownValue());
  };
  const stop = (): void => {
    if (stopped) return;
    // Work that outlasted showAfterMs leaves its final line even when no update came after the delay.
    if (visible()) {
      bar.update(shownValue());
      bar.stop();
    }
    stopped = true;
  };
  if (showAfterMs <= 0) visible();
  return {
    update(value: number): void {
      done = value;
      if (done >= nextPush || done < nextPush - step()) push();
    },
    increment(by = 1): void {
      done += by;
      if (done >= nextPush) push();
    },
    setTotal(value: number): void {
      if (counting || stopped) return;
      checkTotal(value);
      total = value;
      if (shown) bar.setTotal(value);
      push();
    },
    setLabel(text: string): void {
      if (stopped) return;
      label = clean(text);
      if (!visible()) return;
      bar.update(shownValue());
      bar.render();
    },
    complete(): void {
      if (stopped) return;
      if (!counting && done !== total) {
        total = done;
        if (shown) bar.setTotal(done);
      }
      stop();
    },
    stop,
  };
}

/**
 * Passes batches through unchanged, counting their items on `progress` (records of a trace being read);
 * completes the progress when the batches end, then calls `onEnd` (the next stage begins).
 */
export async function* countBatches<T>(
  batches: AsyncIterable<readonly T[]>,
  progress: Progress,
  onEnd?: () => void,
): AsyncGenerator<readonly T[]> {
  try {
    for await (const batch of batches) {
      progress.increment(batch.length);
      yield batch;
    }
    progress.complete();
    onEnd?.();
  } finally {
    progress.stop();
  }
}
