/**
 * Retraining the lake model while it serves, on labels as they become known. A read's period label
 * (heimdall-labels.ts) comes from a left-to-right pass over the I/Os in submit order that looks two I/Os
 * ahead: the label of I/O i is fixed by the throughputs of the I/Os from the start of the labelled range
 * through i + 2. It is therefore known, to an online labeller, once all of those have completed — a few
 * milliseconds after i's submit on a busy device, never at it. periodLabelKnownUs gives that moment.
 *
 * scoreWithRefits then plays the test reads in submit order: every `every` newly known labels, the model is
 * retrained (for lake: trainLakeModel's fit, calibrate, refit) on everything labelled so far — the training reads,
 * then the test reads in the order their labels became known, the most recent `maxRows` of them — and the
 * new model goes live `delayUs` of trace time later (training takes a fraction of a second; one retrain at
 * a time). Each read is scored by the model live at its submit, as its margin over that model's threshold,
 * so a score above 0 means "revoke" whichever model made it. A growing history (not a sliding window)
 * because on these traces more data is what the model lacks: sliding windows of 5,000-10,000 reads did
 * worse than no retraining (docs/lake-pipeline.md, section 4).
 */
import { LakeError } from '../errors.js';
import { PERIOD_LOOKAHEAD } from './heimdall-labels.js';
import type { IoTable } from './io-table.js';

/**
 * Per I/O i in [from, count): the time (us) from which its period label, labelled from `from` on, is fixed
 * by completed I/Os: the last completion among I/Os from..i + 2. Infinity for the last two I/Os (their
 * labels depend on where the range ends). Entries before `from` are NaN.
 */
export function periodLabelKnownUs(table: IoTable, from: number): Float64Array {
  const n = table.count;
  const ahead = PERIOD_LOOKAHEAD - 1;
  const known = new Float64Array(n).fill(Number.NaN);
  let last = Number.NEGATIVE_INFINITY;
  const prefixMax = new Float64Array(n);
  for (let i = from; i < n; i++) {
    if (table.completeUs[i]! > last) last = table.completeUs[i]!;
    prefixMax[i] = last;
  }
  for (let i = from; i < n; i++) known[i] = i + ahead < n ? prefixMax[i + ahead]! : Number.POSITIVE_INFINITY;
  return known;
}

export interface RefitOptions {
  /** Retrain after this many newly known labels (>= 1). */
  every: number;
  /** Trace time from a retrain's start until its model serves, us (default 1 s). */
  delayUs?: number;
  /** Train on at most this many of the most recent labelled reads (default 65,536). */
  maxRows?: number;
}

/** Rows of a feature matrix with labels, in time order. */
export interface LabelledRows {
  readonly values: Float64Array;
  readonly labels: Uint8Array;
}

/** The test reads: features, labels, submit times, and when each label becomes known (us). */
export interface ServedRows extends LabelledRows {
  readonly submitUs: Float64Array;
  readonly labelKnownUs: Float64Array;
}

export interface RefitResult {
  /** Per test read, its score minus the threshold of the model live at its submit. */
  margins: Float64Array;
  /** Retrains that went live before the last test read. */
  refits: number;
  /** The test row from which each of them served. */
  liveFrom: number[];
  /** Training time per retrain, s (mean). */
  secondsPerRefit: number;
}

export const DEFAULT_REFIT_DELAY_US = 1_000_000;
export const DEFAULT_REFIT_MAX_ROWS = 65_536;

/** A model with its decision threshold: the caller's training and scoring (lake-pipeline.ts). */
export interface RefitModel<M extends { readonly threshold: number }> {
  initial: M;
  train(values: Float64Array, labels: Uint8Array, width: number): M;
  /** The score of row x[offset..]. */
  score(model: M, x: Float64Array, offset: number): number;
}

/** Score the test rows in submit order, retraining as labels become known; see the module comment. */
export function scoreWithRefits<M extends { readonly threshold: number }>(
  history: LabelledRows,
  test: ServedRows,
  width: number,
  model: RefitModel<M>,
  options: RefitOptions,
): RefitResult {
  const { every } = options;
  if (!(Number.isInteger(every) && every >= 1)) {
    throw new LakeError('LAKE_E_USAGE', `refit: every must be a whole number >= 1, got ${every}`);
  }
  const delayUs = options.delayUs ?? DEFAULT_REFIT_DELAY_US;
  const maxRows = options.maxRows ?? DEFAULT_REFIT_MAX_ROWS;
  const count = test.labels.length;
  const historyCount = history.labels.length;
  // Test rows in the order their labels become known (ties in submit order).
  const byKnown = Int32Array.from({ length: count }, (_, r) => r).sort(
    (a, b) => test.labelKnownUs[a]! - test.labelKnownUs[b]! || a - b,
  );
  const margins = new Float64Array(count);
  let live = model.initial;
  let pending: { model: M; liveAtUs: number } | undefined;
  let known = 0; // byKnown[0..known) are labelled
  let sinceRefit = 0;
  const liveFrom: number[] = [];
  let refitSeconds = 0;
  for (let r = 0; r < count; r++) {
    const now = test.submitUs[r]!;
    if (pending !== undefined && pending.liveAtUs <= now) {
      live = pending.model;
      pending = undefined;
      liveFrom.push(r);
    }
    // Strictly before the submit: the label's last input completed before this read existed.
    while (known < count && test.labelKnownUs[byKnown[known]!]! < now) {
      known++;
      sinceRefit++;
    }
    if (sinceRefit >= every && pending === undefined) {
      sinceRefit = 0;
      const started = performance.now();
      pending = {
        model: retrain(history, historyCount, test, byKnown, known, width, maxRows, model),
        liveAtUs: now + delayUs,
      };
      refitSeconds += (performance.now() - started) / 1000;
    }
    margins[r] = model.score(live, test.values, r * width) - live.threshold;
  }
  const started = liveFrom.length + (pending !== undefined ? 1 : 0);
  return {
    margins,
    refits: liveFrom.length,
    liveFrom,
    secondsPerRefit: started > 0 ? refitSeconds / started : 0,
  };
}

function retrain<M extends { readonly threshold: number }>(
  history: LabelledRows,
  historyCount: number,
  test: ServedRows,
  byKnown: Int32Array,
  known: number,
  width: number,
  maxRows: number,
  model: RefitModel<M>,
): M {
  const total = Math.min(maxRows, historyCount + known);
  const fromTest = Math.min(known, total);
  const fromHistory = total - fromTest;
  const values = new Float64Array(total * width);
  const labels = new Uint8Array(total);
  let row = 0;
  for (let h = historyCount - fromHistory; h < historyCount; h++, row++) {
    values.set(history.values.subarray(h * width, (h + 1) * width), row * width);
    labels[row] = history.labels[h]!;
  }
  for (let k = known - fromTest; k < known; k++, row++) {
    const r = byKnown[k]!;
    values.set(test.values.subarray(r * width, (r + 1) * width), row * width);
    labels[row] = test.labels[r]!;
  }
  return model.train(values, labels, width);
}
