/**
 * The least input each learning step needs before what it prints means anything, and why. `lake label`,
 * `lake features` and `lake train` refuse below these with a usage error saying so; where the figures are
 * computed but rest on few reads, they warn. docs/minimums.md gives the reasoning with examples.
 */
import { LINNOS_HISTORY } from './features.js';

/**
 * Reads of one device a latency threshold is set from. The inflection-point (tangent) method sets the top
 * 3% aside as the tail and finds the knee of the CDF below it; the ECDF moves in steps of 100/n
 * percentiles. Below 100 reads the tail set aside is under 3 reads and a step is over a percentile, so the
 * "knee" is wherever single reads fall (2 reads gave a 0 us threshold, and revoking above it a mean worse
 * than not revoking). A fixed percentile needs as many: p85 of 100 reads leaves 15 reads above it.
 */
export const MIN_THRESHOLD_READS = 100;

/**
 * Reads of each class (slow and fast) that a quality figure should rest on. Fewer still give a figure
 * (refused only at 0), with a warning: with 5 slow reads the false-submit rate moves in 20% steps.
 */
export const MIN_CLASS_READS = 10;

/** A LinnOS vector holds the device's last 4 completed read latencies: the 5th read is the first with one. */
export const MIN_READS_FOR_VECTOR = LINNOS_HISTORY + 1;

/** Reads and slow reads in one part of the data (training or validation). */
export interface ClassCounts {
  count: number;
  slow: number;
}

/** Why `reads` reads are too few to set a threshold from (`what` names them), or undefined. */
export function thresholdReadsProblem(what: string, reads: number): string | undefined {
  if (reads >= MIN_THRESHOLD_READS) return undefined;
  return (
    `${what}: ${reads} read(s); a latency threshold needs at least ${MIN_THRESHOLD_READS} ` +
    '(below that the tail is a handful of single reads and the threshold is noise)'
  );
}

/**
 * Why a model cannot be trained and judged on these parts, or undefined: the training part needs both
 * classes to learn a boundary, the validation part (when there is one) both classes for accuracy, the
 * false-submit and false-revoke rates and ROC-AUC to be defined.
 */
export function trainingPartsProblem(parts: {
  train: ClassCounts;
  validation?: ClassCounts;
}): string | undefined {
  const missing = (name: string, c: ClassCounts): string | undefined => {
    if (c.count === 0) return `the ${name} part holds no vector`;
    if (c.slow === 0) return `the ${name} part holds no slow read (all ${c.count} are fast)`;
    if (c.slow === c.count) return `the ${name} part holds no fast read (all ${c.count} are slow)`;
    return undefined;
  };
  const problems = [
    missing('training', parts.train),
    parts.validation === undefined ? undefined : missing('validation', parts.validation),
  ].filter((p): p is string => p !== undefined);
  if (problems.length === 0) return undefined;
  return `${problems.join('; ')}: a model needs slow and fast reads to learn from and to be scored on`;
}

/** Warnings for figures resting on fewer than MIN_CLASS_READS reads of a class (`part` names the reads). */
export function fewReadsWarnings(part: string, counts: ClassCounts): string[] {
  const fast = counts.count - counts.slow;
  const warnings: string[] = [];
  for (const [name, n] of [
    ['slow', counts.slow],
    ['fast', fast],
  ] as const) {
    if (n > 0 && n < MIN_CLASS_READS) {
      warnings.push(
        `${part} holds only ${n} ${name} read(s): a rate over ${n} reads moves in steps of ${(100 / n).toFixed(0)}% ` +
          `(figures want at least ${MIN_CLASS_READS} reads of each class)`,
      );
    }
  }
  return warnings;
}
