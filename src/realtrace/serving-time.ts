/**
 * Serving cost of a predictor, in nanoseconds per prediction: the predictor runs over the test vectors in a
 * loop (after a warm-up that lets V8 optimise it), several rounds, and the median round counts. A checksum
 * of the outputs is kept so the work cannot be optimised away. Each measurement compiles its own loop
 * (new Function): one shared loop would see every predictor ever timed and, its call site gone
 * megamorphic, would time later predictors slower than they serve. What is timed is the model alone, given a
 * feature vector (the features are maintained on submit/complete events; timeFeatures times them apart).
 */
import { type CausalFeatureExtractor, completionOrder, forEachEvent } from './event-stream.js';
import type { IoTable } from './io-table.js';

/** The sum of the last timed outputs (kept so the timed work has an observable result). */
export let servingChecksum = 0;

export interface ServingTime {
  /** Median ns per prediction over the rounds. */
  nsPerPrediction: number;
  /** Predictions per round. */
  predictions: number;
  rounds: number;
}

type Loop = (predict: (row: number) => number, rows: number, repeats: number) => number;

/** A newly compiled timing loop, with call-site feedback of its own. */
function freshLoop(): Loop {
  return new Function(
    'predict',
    'rows',
    'repeats',
    'let s = 0; for (let r = 0; r < repeats; r++) for (let k = 0; k < rows; k++) s += predict(k); return s;',
  ) as Loop;
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
  const loop = freshLoop();
  // Warm-up: enough calls for the optimising compiler.
  let sink = loop(predict, rows, Math.max(1, Math.ceil(20_000 / rows)));
  // Calibrate the repeat count.
  let repeats = 1;
  for (;;) {
    const t0 = performance.now();
    sink += loop(predict, rows, repeats);
    const ms = performance.now() - t0;
    if (ms >= minRoundMs || repeats > 1 << 20) break;
    repeats *= 2;
  }
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now();
    sink += loop(predict, rows, repeats);
    samples.push(((performance.now() - t0) * 1e6) / (repeats * rows));
  }
  samples.sort((a, b) => a - b);
  servingChecksum = sink; // the outputs are used, so the loops cannot be dropped
  return { nsPerPrediction: samples[Math.floor(rounds / 2)]!, predictions: repeats * rows, rounds };
}

export interface FeatureTime {
  /** ns per submit or completion event to keep the extractor's state (onSubmit / onComplete). */
  nsPerEvent: number;
  /** ns to read one read's vector out at its submit (featuresAt). */
  nsPerRead: number;
}

/**
 * The cost of a causal extractor on a trace: three walks of the event stream (the state upkeep alone, and
 * upkeep plus a vector at every read), medians of `rounds` repetitions, the bare walk subtracted.
 */
export function timeFeatures(
  table: IoTable,
  makeExtractor: () => CausalFeatureExtractor,
  rounds = 3,
): FeatureTime {
  const order = completionOrder(table);
  const out = new Float64Array(makeExtractor().names.length);
  let reads = 0;
  for (let i = 0; i < table.count; i++) reads += table.read[i]!;
  const walk = (extractor: CausalFeatureExtractor | undefined, vectors: boolean): number => {
    const started = performance.now();
    forEachEvent(
      table,
      {
        onSubmit(io) {
          if (extractor === undefined) return;
          const t = table.submitUs[io]!;
          const read = table.read[io] === 1;
          if (vectors && read) extractor.featuresAt(t, table.size[io]!, true, out, 0);
          extractor.onSubmit(io, t, table.size[io]!, read);
        },
        onComplete(io) {
          if (extractor === undefined) return;
          extractor.onComplete(
            io,
            table.completeUs[io]!,
            table.latencyUs[io]!,
            table.size[io]!,
            table.read[io] === 1,
          );
        },
      },
      order,
    );
    return performance.now() - started;
  };
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const bare: number[] = [];
  const upkeep: number[] = [];
  const full: number[] = [];
  walk(makeExtractor(), true); // warm-up
  for (let r = 0; r < rounds; r++) {
    bare.push(walk(undefined, false));
    upkeep.push(walk(makeExtractor(), false));
    full.push(walk(makeExtractor(), true));
  }
  const events = 2 * table.count;
  return {
    nsPerEvent: (Math.max(0, median(upkeep) - median(bare)) * 1e6) / events,
    nsPerRead: reads === 0 ? Number.NaN : (Math.max(0, median(full) - median(upkeep)) * 1e6) / reads,
  };
}
