import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { Random } from '../../src/random.js';
import { completedBefore, splitIndex } from '../../src/realtrace/evaluation.js';
import { extractCausal, selectFeatureRows } from '../../src/realtrace/event-stream.js';
import { heimdallPeriodLabels, heimdallThresholds } from '../../src/realtrace/heimdall-labels.js';
import { type IoTable, sliceTable, withLatencies } from '../../src/realtrace/io-table.js';
import { LakeExtractor } from '../../src/realtrace/lake-features.js';
import { lakeScore, runLake, trainLakeModel } from '../../src/realtrace/lake-pipeline.js';
import {
  type LabelledRows,
  periodLabelKnownUs,
  type RefitModel,
  type ServedRows,
  scoreWithRefits,
} from '../../src/realtrace/refit.js';
import { loadWindow, WINDOWS } from './fixtures.js';

/**
 * New random latencies for every I/O not completed at `probe`'s submit (in-flight ones still end after it),
 * as the causality audit draws them.
 */
function perturbUnknown(table: IoTable, probe: number, random: Random): IoTable {
  const at = table.submitUs[probe]!;
  const latency = Float64Array.from(table.latencyUs, (l, j) => {
    if (j < probe && completedBefore(table, j, probe)) return l;
    const earliest = j < probe ? at - table.submitUs[j]! + 1 : 0;
    return earliest + random.int(5001);
  });
  return withLatencies(table, latency);
}

/** What runLake hands scoreWithRefits, built the same way, with the label-known times given. */
function refitInputs(table: IoTable, knownUs: (table: IoTable, split: number) => Float64Array) {
  const split = splitIndex(table);
  const thresholds = heimdallThresholds(table, 0, split);
  const trainMarks = heimdallPeriodLabels(table, 0, split, thresholds).tail;
  const testMarks = heimdallPeriodLabels(table, split, table.count, thresholds).tail;
  const all = extractCausal(table, new LakeExtractor());
  const train = selectFeatureRows(all, (io) => io < split && completedBefore(table, io, split));
  const test = selectFeatureRows(all, (io) => io >= split);
  const known = knownUs(table, split);
  const history: LabelledRows = {
    values: train.values,
    labels: Uint8Array.from(train.rows, (io) => trainMarks[io]!),
  };
  const served: ServedRows = {
    values: test.values,
    labels: Uint8Array.from(test.rows, (io) => testMarks[io]!),
    submitUs: Float64Array.from(test.rows, (io) => table.submitUs[io]!),
    labelKnownUs: Float64Array.from(test.rows, (io) => known[io]!),
  };
  const initial = trainLakeModel(history.values, history.labels, train.width);
  const model = {
    initial,
    train: (values: Float64Array, labels: Uint8Array, width: number) => trainLakeModel(values, labels, width),
    score: lakeScore,
  };
  return { history, served, width: train.width, model, rows: test.rows };
}

describe('when a period label becomes known', () => {
  let table: IoTable;
  before(async () => {
    table = sliceTable(await loadWindow(WINDOWS.rw6040), 10_000, 16_000);
  });

  test('the label of I/O i is fixed by the I/Os up to i + 2: labelling only those gives the same label', () => {
    const from = 1000;
    const thresholds = heimdallThresholds(table, 0, from);
    const full = heimdallPeriodLabels(table, from, table.count, thresholds).tail;
    let slow = 0;
    for (let i = from; i < table.count - 2; i += 7) {
      const prefix = heimdallPeriodLabels(table, from, i + 3, thresholds).tail;
      assert.equal(prefix[i], full[i], `I/O ${i}`);
      slow += full[i]!;
    }
    assert.ok(slow > 50, `${slow} slow I/Os checked`);
  });

  test('it is the last completion among the I/Os up to i + 2, and never for the last two', () => {
    const from = 1000;
    const known = periodLabelKnownUs(table, from);
    assert.ok(Number.isNaN(known[from - 1]!));
    for (let i = from; i < table.count - 2; i += 13) {
      let last = 0;
      for (let j = from; j <= i + 2; j++) last = Math.max(last, table.completeUs[j]!);
      assert.equal(known[i], last);
      assert.ok(known[i]! > table.submitUs[i]!, 'never at the read’s own submit');
    }
    assert.equal(known[table.count - 1], Number.POSITIVE_INFINITY);
    assert.equal(known[table.count - 2], Number.POSITIVE_INFINITY);
  });
});

describe('retraining while serving', () => {
  test('each retrain sees exactly the labels known before it starts and goes live after its delay', () => {
    // A model that is just its number: the margins show which one served each read.
    const width = 1;
    const count = 40;
    const submitUs = Float64Array.from({ length: count }, (_, r) => r * 100);
    // Read r's label becomes known 250 us after its submit.
    const labelKnownUs = Float64Array.from(submitUs, (t) => t + 250);
    const served: ServedRows = {
      values: new Float64Array(count),
      labels: Uint8Array.from({ length: count }, (_, r) => r % 2),
      submitUs,
      labelKnownUs,
    };
    const history: LabelledRows = { values: new Float64Array(10), labels: new Uint8Array(10) };
    const seen: number[] = [];
    const model: RefitModel<{ threshold: number; id: number }> = {
      initial: { threshold: 0, id: 0 },
      train: (_values, labels) => {
        seen.push(labels.length);
        return { threshold: 0, id: seen.length };
      },
      score: (m) => m.id,
    };
    const result = scoreWithRefits(history, served, width, model, { every: 5, delayUs: 450 });
    // At read r's submit (r * 100 us), reads 0..r-3 are labelled (known at r' * 100 + 250 < r * 100).
    // Read 7: 5 known -> retrain 1 starts at 700 us, live from 1150 us: read 12 on.
    // Read 12: 10 known (5 new) -> retrain 2 starts, live from read 17; and so on every 5 reads.
    assert.deepEqual(seen.slice(0, 3), [10 + 5, 10 + 10, 10 + 15]);
    const margins = [...result.margins];
    assert.deepEqual(margins.slice(0, 12), new Array(12).fill(0));
    assert.deepEqual(margins.slice(12, 17), new Array(5).fill(1));
    assert.deepEqual(margins.slice(17, 22), new Array(5).fill(2));
    assert.ok(result.refits >= 5);
  });

  test('history beyond maxRows is dropped, oldest first', () => {
    const served: ServedRows = {
      values: new Float64Array(30),
      labels: new Uint8Array(30),
      submitUs: Float64Array.from({ length: 30 }, (_, r) => r * 100),
      labelKnownUs: Float64Array.from({ length: 30 }, (_, r) => r * 100 + 50),
    };
    const history: LabelledRows = { values: new Float64Array(100), labels: new Uint8Array(100) };
    const sizes: number[] = [];
    const model: RefitModel<{ threshold: number }> = {
      initial: { threshold: 0 },
      train: (_v, labels) => {
        sizes.push(labels.length);
        return { threshold: 0 };
      },
      score: () => 0,
    };
    scoreWithRefits(history, served, 1, model, { every: 10, delayUs: 0, maxRows: 64 });
    assert.deepEqual(sizes, [64, 64]);
  });

  test('a retrain interval below 1 is refused', () => {
    const rows: ServedRows = {
      values: new Float64Array(1),
      labels: new Uint8Array(1),
      submitUs: new Float64Array(1),
      labelKnownUs: new Float64Array(1),
    };
    const model: RefitModel<{ threshold: number }> = {
      initial: { threshold: 0 },
      train: () => ({ threshold: 0 }),
      score: () => 0,
    };
    assert.throws(
      () => scoreWithRefits(rows, rows, 1, model, { every: 0 }),
      (e: unknown) => e instanceof LakeError && /every/.test(e.message),
    );
  });
});

/**
 * Retrain on `table` with the label-known times given, then for probes just after the reads where a
 * retrain went live (the model then rests on labels known moments before), perturb every latency unknown
 * at the probe's submit and count the scores up to the probe that change.
 */
function changedScores(table: IoTable, knownUs: (table: IoTable, split: number) => Float64Array): number {
  const options = { every: 200, delayUs: 0 };
  const before = refitInputs(table, knownUs);
  const base = scoreWithRefits(before.history, before.served, before.width, before.model, options);
  assert.ok(base.refits >= 8, `${base.refits} retrains`);
  const random = new Random(11);
  let changed = 0;
  for (const live of base.liveFrom.slice(-4)) {
    const row = live + 3;
    const p = refitInputs(perturbUnknown(table, before.rows[row]!, random), knownUs);
    const after = scoreWithRefits(p.history, p.served, p.width, p.model, options);
    for (let r = 0; r <= row; r++) if (after.margins[r] !== base.margins[r]) changed++;
  }
  return changed;
}

describe('retraining on a real window stays causal', () => {
  let table: IoTable;
  before(async () => {
    table = sliceTable(await loadWindow(WINDOWS.rw6040), 20_000, 28_000);
  });

  test('labels used once all I/Os they depend on completed: no score before a probe changes', () => {
    assert.equal(changedScores(table, periodLabelKnownUs), 0);
  });

  test('a label used as soon as its own read completes (it needs the next two I/Os) is caught', () => {
    const leaky = (t: IoTable) => Float64Array.from(t.completeUs);
    assert.ok(changedScores(table, leaky) > 0, 'a leaky label time must change some score before the probe');
  });

  test('end to end: runLake with retraining gives the same scores up to a read whatever comes later', () => {
    const options = { timeServing: false, refitEvery: 300, refitDelayUs: 50_000 } as const;
    const base = runLake(table, options);
    assert.ok(base.refit !== undefined && base.refit.refits >= 5, JSON.stringify(base.refit));
    const random = new Random(12);
    for (let k = 0; k < 2; k++) {
      const row = Math.floor(base.testCount * (0.7 + 0.25 * random.next()));
      const after = runLake(perturbUnknown(table, base.test.rows[row]!, random), options);
      assert.deepEqual(after.test.scores.subarray(0, row + 1), base.test.scores.subarray(0, row + 1));
      assert.notDeepEqual(after.test.scores, base.test.scores);
    }
  });
});
