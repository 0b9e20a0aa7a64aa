/**
 * `lake bench prediction`: what one prediction of `lake eval`'s causal predictors costs at P = 1, on a trace
 * whose latencies come from a simulated SSD (Azure arrivals on one femu device), so the benchmark needs no
 * recorded trace. Timed: the lake model (one dot product over its 34 features), keeping the lake features
 * up to date (per submit or completion) and reading a vector out (per read), and, as the reference in the
 * same run, Heimdall's integer MLP (11-128-16-1, weights x1024) in plain TypeScript. The issue's goal for
 * lake is at most 100 ns per prediction (Heimdall's C++ serves in 50-120 ns).
 */

import { fitMinMax } from '../learn/min-max.js';
import { trainSigmoidMlp } from '../learn/sigmoid-mlp.js';
import { extractCausal } from '../realtrace/event-stream.js';
import { HeimdallCausalExtractor } from '../realtrace/heimdall-features.js';
import { heimdallPeriodLabels } from '../realtrace/heimdall-labels.js';
import { type IoTable, ioTableFromRecords } from '../realtrace/io-table.js';
import { LakeExtractor } from '../realtrace/lake-features.js';
import { lakeScore, trainLakeModel } from '../realtrace/lake-pipeline.js';
import { QuantizedMlp } from '../realtrace/quantized-mlp.js';
import { timeFeatures, timeServing } from '../realtrace/serving-time.js';
import { simulateLatencies } from '../realtrace/simulated-latencies.js';
import { synthesize } from '../trace/synth.js';
import { type BenchResult, type BenchSuite, measure, summarise, withRatios } from './harness.js';

const REFERENCE = 'heimdall integer MLP 11-128-16-1 (TypeScript), P = 1';
/** Vectors each timing loop runs over (a few hundred KB: in cache, as a serving path's model is). */
const ROWS = 4096;

/** Azure arrivals on one simulated SSD with their simulated latencies. */
export function benchTable(durationMs = 2000, seed = 1): IoTable {
  const records = simulateLatencies([...synthesize('azure', { durationMs, seed })], { seed });
  return ioTableFromRecords(records);
}

export async function benchPrediction(
  options: { samples?: number; durationMs?: number } = {},
): Promise<BenchSuite> {
  const samples = options.samples ?? 3;
  const table = benchTable(options.durationMs);
  const marks = heimdallPeriodLabels(table);
  const lakeSet = extractCausal(table, new LakeExtractor());
  const lakeLabels = Uint8Array.from(lakeSet.rows, (io) => marks.tail[io]!);
  const lake = trainLakeModel(lakeSet.values, lakeLabels, lakeSet.width);
  const heimdallSet = extractCausal(table, new HeimdallCausalExtractor());
  const heimdallLabels = Uint8Array.from(heimdallSet.rows, (io) => marks.tail[io]!);
  const scaler = fitMinMax(heimdallSet.values, heimdallSet.width);
  // One epoch is enough for a timing: the cost does not depend on the weights' values.
  const trained = trainSigmoidMlp(heimdallSet.values, heimdallLabels, heimdallSet.width, { epochs: 1 });
  const heimdall = new QuantizedMlp(trained.model, scaler);
  const details = { ios: table.count, reads: lakeSet.count };

  const servingRates = (score: (row: number) => number, count: number): number[] => {
    const values: number[] = [];
    for (let s = 0; s < samples; s++) values.push(timeServing(score, Math.min(count, ROWS)).nsPerPrediction);
    return values;
  };
  const predictions: BenchResult[] = [];
  predictions.push(
    await measure(REFERENCE, 'ns/prediction', () =>
      summarise(
        REFERENCE,
        'ns/prediction',
        servingRates((r) => heimdall.raw(heimdallSet.values, r * heimdallSet.width), heimdallSet.count),
        details,
      ),
    ),
  );
  predictions.push(
    await measure('lake linear model (34 features), P = 1', 'ns/prediction', () =>
      summarise(
        'lake linear model (34 features), P = 1',
        'ns/prediction',
        servingRates((r) => lakeScore(lake, lakeSet.values, r * lakeSet.width), lakeSet.count),
        details,
      ),
    ),
  );
  // Ratios only between like units: the feature costs are per event and per read, not per prediction.
  const results = withRatios(predictions, REFERENCE);
  const featureTimes = Array.from({ length: samples }, () => timeFeatures(table, () => new LakeExtractor()));
  results.push(
    summarise(
      'lake features: upkeep per submit or completion',
      'ns/event',
      featureTimes.map((f) => f.nsPerEvent),
      details,
    ),
  );
  results.push(
    summarise(
      'lake features: vector read out per read',
      'ns/read',
      featureTimes.map((f) => f.nsPerRead),
      details,
    ),
  );
  return { suite: 'prediction', results };
}
