import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DriftWatch } from '../../src/learn/drift-watch.js';
import { Random } from '../../src/random.js';

/** Feed `count` resolutions that are right with probability `p` (seeded); returns the triggers. */
function feed(
  watch: DriftWatch<object, number>,
  count: number,
  p: number,
  random: Random,
  startUs: number,
): ReturnType<DriftWatch<object, number>['record']>[] {
  const triggers = [];
  for (let i = 0; i < count; i++) {
    const actual = random.next() < 0.3 ? 1 : 0;
    const predicted = random.next() < p ? actual : 1 - actual;
    const trigger = watch.record(predicted, actual, startUs + i);
    if (trigger !== undefined) triggers.push(trigger);
  }
  return triggers;
}

describe('drift watch', () => {
  test('checks every checkEvery resolutions once the window is full; the reference is the first full window', () => {
    const watch = new DriftWatch<object, number>({ window: 100, checkEvery: 25 });
    watch.start({});
    // 90 right, then 10 wrong: the first check is at 100 (the window is full only then).
    for (let i = 0; i < 90; i++) assert.equal(watch.record(0, 0, i), undefined);
    for (let i = 90; i < 100; i++) watch.record(1, 0, i);
    assert.equal(watch.checks.length, 1);
    assert.equal(watch.checks[0]!.resolved, 100);
    assert.equal(watch.checks[0]!.rollingAccuracy, 0.9);
    assert.equal(watch.reference, 0.9);
    // Every fast read was the truth: 10 of 100 predicted slow, no slow read at all.
    assert.equal(watch.checks[0]!.rollingFalseRevokeRate, 0.1);
    assert.ok(Number.isNaN(watch.checks[0]!.rollingFalseSubmitRate));
    for (let i = 0; i < 24; i++) watch.record(0, 0, 100 + i);
    assert.equal(watch.checks.length, 1);
    watch.record(0, 0, 124);
    assert.equal(watch.checks.length, 2);
    // The window now holds resolutions 25..124: 65 right, the 10 wrong, 25 right.
    assert.equal(watch.checks[1]!.rollingAccuracy, 0.9);
    assert.equal(watch.reference, 0.9, 'the reference stays until the next model');
  });

  test('triggers when the rolling accuracy falls tolerance below the reference, once per retrain', () => {
    const random = new Random(3);
    const watch = new DriftWatch<object, number>({ window: 200, checkEvery: 50, tolerance: 0.1 });
    watch.start({});
    assert.deepEqual(feed(watch, 2000, 0.9, random, 0), [], 'no trigger while the accuracy holds');
    const reference = watch.reference;
    assert.ok(reference > 0.85 && reference < 0.95, `reference ${reference}`);
    const triggers = feed(watch, 2000, 0.6, random, 2000);
    assert.equal(triggers.length, 1, 'a retrain under way blocks further triggers');
    const trigger = triggers[0]!;
    assert.equal(trigger.reason, 'accuracy');
    assert.ok(trigger.rollingAccuracy < trigger.bar);
    assert.equal(trigger.bar, reference - 0.1);
    assert.ok(watch.retraining);
    // A retrain that gives no model lets the watch trigger again: at its next check, or once `retryAfter`
    // more resolutions have come (fresh data to learn from).
    watch.abandon();
    assert.equal(feed(watch, 50, 0.6, random, 4000).length, 1);
    watch.abandon(200);
    assert.deepEqual(feed(watch, 150, 0.6, random, 4050), [], 'quiet for 200 resolutions');
    assert.equal(feed(watch, 50, 0.6, random, 4200).length, 1);
  });

  test('with retrain: false the figures are kept but nothing triggers', () => {
    const random = new Random(3);
    const watch = new DriftWatch<object, number>({ window: 200, checkEvery: 50, retrain: false });
    watch.start({});
    feed(watch, 2000, 0.9, random, 0);
    assert.deepEqual(feed(watch, 2000, 0.5, random, 2000), []);
    assert.ok(watch.checks.some((c) => c.rollingAccuracy < watch.reference - 0.2));
  });

  test('an absolute bar and the false-submit rule trigger too', () => {
    const below = new DriftWatch<object, number>({ window: 100, checkEvery: 100, retrainBelow: 0.95 });
    below.start({});
    assert.equal(feed(below, 100, 0.9, new Random(1), 0)[0]?.bar, 0.95);
    // Accuracy holds (misses move from fast reads to slow ones) but slow reads are now predicted fast.
    const watch = new DriftWatch<object, number>({
      window: 100,
      checkEvery: 100,
      falseSubmitTolerance: 0.15,
    });
    watch.start({});
    for (let i = 0; i < 100; i++) watch.record(i % 10 === 0 ? 1 : i % 2, i % 2, i); // slow all caught
    assert.equal(watch.checks[0]!.rollingFalseSubmitRate, 0);
    let trigger: ReturnType<typeof watch.record>;
    for (let i = 0; i < 100; i++) trigger ??= watch.record(i % 10 === 1 ? 0 : i % 2, i % 2, 100 + i);
    assert.equal(watch.checks[1]!.rollingFalseSubmitRate, 0.2);
    assert.equal(trigger?.reason, 'false-submit');
    assert.equal(watch.checks[1]!.rollingAccuracy, watch.reference);
  });

  test('weights: a resolution standing for k reads counts k times', () => {
    const watch = new DriftWatch<object, number>({ window: 4, checkEvery: 4 });
    watch.start({});
    watch.record(1, 1, 0, 8); // an audited read predicted slow, slow: stands for 8
    watch.record(0, 0, 1);
    watch.record(0, 1, 2); // a false submit
    watch.record(1, 0, 3, 8); // an audited false revoke
    const c = watch.checks[0]!;
    assert.equal(c.rollingAccuracy, 9 / 18);
    assert.equal(c.rollingFalseSubmitRate, 1 / 9);
    assert.equal(c.rollingFalseRevokeRate, 8 / 9);
    assert.equal(watch.accuracy, 9 / 18);
  });

  test('swap: the delivered model goes live whole, at its ready time, and the window restarts', () => {
    const random = new Random(5);
    const watch = new DriftWatch<{ id: number; weights: number[] }, number>({ window: 100, checkEvery: 50 });
    const first = { id: 0, weights: [0, 0] };
    watch.start(first);
    feed(watch as unknown as DriftWatch<object, number>, 500, 0.95, random, 0);
    const trigger = feed(watch as unknown as DriftWatch<object, number>, 500, 0.5, random, 500)[0];
    assert.ok(trigger !== undefined);
    const second = { id: 1, weights: [1, 1] };
    watch.deliver(second, 10_000, 42);
    // Every prediction until the ready time is made by the first model, every one after by the second.
    const seen: number[] = [];
    for (let t = 9_990; t < 10_010; t++) {
      watch.swapIfReady(t);
      const model = watch.active!;
      assert.ok(model === first || model === second);
      assert.deepEqual(model.weights, [model.id, model.id], 'one whole model, never a mix');
      seen.push(model.id);
    }
    assert.deepEqual(seen, [...Array(10).fill(0), ...Array(10).fill(1)]);
    assert.equal(watch.generation, 1);
    assert.equal(watch.swaps.length, 1);
    assert.equal(watch.swaps[0]!.readyAtUs, 10_000);
    assert.equal(watch.swaps[0]!.swappedAtUs, 10_000);
    assert.equal(watch.swaps[0]!.info, 42);
    assert.equal(watch.swaps[0]!.trigger, trigger);
    assert.ok(Number.isNaN(watch.reference), 'the new model gets its own reference');
    assert.ok(!watch.retraining);
    // No check until the new model has a full window of its own.
    const checks = watch.checks.length;
    feed(watch as unknown as DriftWatch<object, number>, 99, 0.9, random, 20_000);
    assert.equal(watch.checks.length, checks);
    feed(watch as unknown as DriftWatch<object, number>, 1, 0.9, random, 20_099);
    assert.equal(watch.checks.length, checks + 1);
    assert.equal(watch.checks[checks]!.generation, 1);
    assert.throws(() => watch.deliver(first, 0, 0), /no retrain under way/);
  });

  test('options are checked', () => {
    assert.throws(() => new DriftWatch({ window: 0 }), /options.window must be a positive integer/);
    assert.throws(() => new DriftWatch({ checkEvery: 1.5 }), /options.checkEvery/);
  });
});
