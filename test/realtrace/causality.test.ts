import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { LinnosExtractor } from '../../src/linnos/trace-pipeline.js';
import { Random } from '../../src/random.js';
import { auditCausality } from '../../src/realtrace/causality-audit.js';
import { completedBefore } from '../../src/realtrace/evaluation.js';
import { type CausalFeatureExtractor, extractCausal } from '../../src/realtrace/event-stream.js';
import { HeimdallCausalExtractor, heimdallPublishedFeatures } from '../../src/realtrace/heimdall-features.js';
import { heimdallPeriodLabels } from '../../src/realtrace/heimdall-labels.js';
import { type IoTable, sliceTable, withLatencies } from '../../src/realtrace/io-table.js';
import { LakeExtractor } from '../../src/realtrace/lake-features.js';
import { loadWindow, WINDOWS } from './fixtures.js';

/**
 * A feature that cheats: it keeps the table it was built from and, at a read's submit, looks up the latency
 * of the I/O submitted just before it — still in flight on these bursty windows. The audit must catch it.
 */
class LeakyExtractor implements CausalFeatureExtractor {
  readonly names = ['in_flight', 'prev_submitted_latency'];
  readonly #table: IoTable;
  #inFlight = 0;
  #lastSubmitted = -1;
  constructor(table: IoTable) {
    this.#table = table;
  }
  featuresAt(_t: number, _size: number, _read: boolean, out: Float64Array, offset: number): boolean {
    if (this.#lastSubmitted < 0) return false;
    out[offset] = this.#inFlight;
    out[offset + 1] = this.#table.latencyUs[this.#lastSubmitted]!;
    return true;
  }
  onSubmit(io: number): void {
    this.#inFlight++;
    this.#lastSubmitted = io;
  }
  onComplete(): void {
    this.#inFlight--;
  }
}

const causal: [string, () => CausalFeatureExtractor][] = [
  ['lake', () => new LakeExtractor()],
  ['heimdall (causal)', () => new HeimdallCausalExtractor()],
  ['linnos', () => new LinnosExtractor()],
];

describe('no causal feature reads a latency that has not completed at submit time', () => {
  let table: IoTable;
  before(async () => {
    table = sliceTable(await loadWindow(WINDOWS.rw6040), 20_000, 26_000);
  });

  for (const [name, make] of causal) {
    test(`${name}: perturbing every latency unknown at a read's submit changes no vector up to that read`, () => {
      const report = auditCausality(table, (t) => extractCausal(t, make()), { probes: 6, seed: 7 });
      assert.ok(report.vectorsChecked > 5000, `checked ${report.vectorsChecked}`);
      assert.equal(report.violations, 0, JSON.stringify(report.leaks));
    });
  }

  test('the audit fails a feature that reads the latency of an I/O still in flight', () => {
    const report = auditCausality(table, (t) => extractCausal(t, new LeakyExtractor(t)), {
      probes: 6,
      seed: 7,
    });
    assert.ok(report.violations > 0);
    assert.equal(report.leaks[0]!.feature, 'prev_submitted_latency');
  });

  test("the audit fails Heimdall's published features (the last 3 SUBMITTED I/Os)", () => {
    const labels = heimdallPeriodLabels(table); // fixed, so only the features can differ
    const report = auditCausality(table, (t) => heimdallPublishedFeatures(t, labels), { probes: 6, seed: 7 });
    assert.ok(report.violations > 100, `${report.violations} violations`);
    assert.ok(
      report.leaks.some((l) => l.feature.startsWith('prev_latency') || l.feature.startsWith('prev_thr')),
    );
  });

  test('directly: in-flight latencies of a read changed to anything later leave its lake vector as it was', () => {
    const random = new Random(3);
    const base = extractCausal(table, new LakeExtractor());
    for (let probe = 0; probe < 5; probe++) {
      const row = 500 + random.int(base.count - 500);
      const read = base.rows[row]!;
      let inFlight = 0;
      const latency = Float64Array.from(table.latencyUs, (l, j) => {
        if (j === read || (j < read && !completedBefore(table, j, read))) {
          if (j < read) inFlight++;
          return table.submitUs[read]! - table.submitUs[j]! + 1 + random.int(10_000);
        }
        return l;
      });
      assert.ok(inFlight > 0, 'the probe read had I/Os in flight');
      const after = extractCausal(withLatencies(table, latency), new LakeExtractor());
      const w = base.width;
      assert.deepEqual(
        after.values.subarray(row * w, (row + 1) * w),
        base.values.subarray(row * w, (row + 1) * w),
      );
    }
  });
});
