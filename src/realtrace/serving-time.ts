/**
 * Serving cost of a predictor, in nanoseconds per prediction: the predictor runs over the test vectors in a
 * loop (after a warm-up that lets V8 optimise it), several rounds, and the median round counts. A checksum
 * of the outputs is kept so the work cannot be optimised away. What is timed is the model alone, given a
 * feature vector (the features are maintained on submit/complete events; their cost is timed apart).
 */

/** The sum of the last timed outputs (kept so the timed work has an observable result). */
export let servingChecksum = 0;

export interface ServingTime {
  /** Median ns per prediction over the rounds. */
  nsPerPrediction: number;
  /** Predictions per round. */
  predictions: number;
  rounds: number;
}

/**
 * Time `predict(row)` over rows 0..rows-1, repeated so each round lasts at least `minRoundMs`; the
 * median of `rounds` rounds.
 */
export function timeServing(
  predict: (row: number) => number,
  rows: number,
  options: { rounds?: number; minRoundMs?: number } = {},
): ServingTime {
  const rounds = options.rounds ?? 7;
  const minRoundMs = options.minRoundMs ?? 20;
  if (rows === 0) return { nsPerPrediction: Number.NaN, predictions: 0, rounds: 0 };
  let sink = 0;
  // Warm-up: enough calls for the optimising compiler.
  const warm = Math.max(rows, 20_000);
  for (let k = 0; k < warm; k++) sink += predict(k % rows);
  // Calibrate the repeat count.
  let repeats = 1;
  for (;;) {
    const t0 = performance.now();
    for (let r = 0; r < repeats; r++) for (let k = 0; k < rows; k++) sink += predict(k);
    const ms = performance.now() - t0;
    if (ms >= minRoundMs || repeats > 1 << 20) break;
    repeats *= 2;
  }
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now();
    for (let r = 0; r < repeats; r++) for (let k = 0; k < rows; k++) sink += predict(k);
    samples.push(((performance.now() - t0) * 1e6) / (repeats * rows));
  }
  samples.sort((a, b) => a - b);
  servingChecksum = sink; // the outputs are used, so the loops cannot be dropped
  return { nsPerPrediction: samples[Math.floor(rounds / 2)]!, predictions: repeats * rows, rounds };
}
