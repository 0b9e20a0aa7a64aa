/**
 * A decision threshold calibrated to a false-submit budget: the largest score threshold t such that, on
 * the calibration reads, at most `budget` of the slow ones score <= t (would be submitted). Taking the
 * largest such t revokes as few fast reads as the budget allows: a false submit costs the application a
 * slow read (milliseconds), a false revoke a re-issue to another replica (microseconds), so the user bounds
 * the expensive error and the cheap one is minimised under that bound.
 */
import { LakeError } from '../errors.js';

export function thresholdForFalseSubmitBudget(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  budget: number,
): number {
  if (!(budget >= 0 && budget < 1)) {
    throw new LakeError('LAKE_E_USAGE', `the false-submit budget must be in [0, 1), got ${budget}`);
  }
  const slow: number[] = [];
  const all: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    all.push(scores[i]!);
    if (labels[i] === 1) slow.push(scores[i]!);
  }
  if (slow.length === 0) {
    throw new LakeError('LAKE_E_USAGE', 'cannot calibrate a threshold: no slow read in the calibration part');
  }
  slow.sort((a, b) => a - b);
  // At most `allowed` slow reads may score <= t: t must stay below slow[allowed].
  const allowed = Math.floor(budget * slow.length);
  const ceiling = slow[allowed]!;
  // The largest score of any read below the ceiling, so t separates them.
  let below = Number.NEGATIVE_INFINITY;
  for (const s of all) if (s < ceiling && s > below) below = s;
  return below === Number.NEGATIVE_INFINITY ? ceiling - 1 : (below + ceiling) / 2;
}
