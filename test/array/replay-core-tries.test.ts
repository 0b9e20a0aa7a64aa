/**
 * The replay core's steps (src/array/core/tries.ts) driven directly, without either engine: a scripted
 * clock that runs scheduled actions when told and devices that only note what was issued, so each step
 * (verdict, retry after the revoke cost, hedge timer, release, completion, withdrawal) is seen on its own.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ACTION_HEDGE, ACTION_RELEASE, ACTION_RETRY } from '../../src/array/core/tries.js';
import { scriptedCore } from '../helpers/replay-core.js';

describe('replay core: the steps of an I/O', () => {
  test('a revoked read is retried on the next replica after the revoke cost; the last replica is never offered', () => {
    const asked: number[][] = [];
    const { core, engine, result, records } = scriptedCore(
      {
        name: 'revoke-all',
        admit(t) {
          asked.push([t.device, t.attempt, t.nowUs]);
          return true;
        },
      },
      { originUs: 1000 },
    );
    engine.now = 1050;
    core.arrive(50, 1050, 0, 4096, 4096, true);
    assert.deepEqual(
      [core.scheduledActions, core.nextActionUs()],
      [1, 1057],
      'the retry, after the revoke cost',
    );
    assert.equal(engine.runNext(core), ACTION_RETRY);
    assert.equal(engine.runNext(core), ACTION_RETRY);
    assert.deepEqual(asked, [
      [0, 0, 50],
      [1, 1, 57],
    ]);
    assert.deepEqual(engine.issued, [{ t: engine.issued[0]!.t, device: 2, read: true, atUs: 1064 }]);
    assert.equal(core.complete(engine.issued[0]!.t, 1100, false), true);
    assert.equal(records.length, 1);
    const r = records[0]!;
    assert.deepEqual(
      [r.servedBy, r.revokes, r.latencyUs, r.submitUs, r.completeUs, r.arrivalMs, r.ok],
      [2, 2, 50, 64, 100, 0.05, 1],
      'latency on the engine clock, times on replay time',
    );
    assert.deepEqual([result.revokes, result.failedOver, result.extraIos], [2, 1, 0]);
    core.assertDrained();
  });

  test('an issued read not done after the hedge delay is duplicated once on the next replica; the first completion serves it', () => {
    const told: number[][] = [];
    const { core, engine, result, records } = scriptedCore({
      name: 'hedge',
      hedgeAfterUs: 30,
      onReadComplete: (device, latencyUs, completeUs, home, index) =>
        told.push([device, latencyUs, completeUs, home ?? -1, index ?? -1]),
    });
    core.arrive(0, 0, 1, 0, 4096, true);
    assert.deepEqual([core.scheduledActions, core.nextActionUs()], [1, 30], 'the hedge timer');
    assert.equal(engine.runNext(core), ACTION_HEDGE);
    assert.deepEqual(
      engine.issued.map((i) => [i.device, i.atUs]),
      [
        [1, 0],
        [2, 30],
      ],
    );
    const [first, duplicate] = engine.issued.map((i) => i.t) as [number, number];
    assert.deepEqual(core.tryInfo(duplicate), {
      index: 0,
      home: 1,
      device: 2,
      read: true,
      attempt: 0,
      hedge: true,
    });
    assert.equal(core.scheduledActions, 0, 'a duplicate sets no hedge timer of its own');
    assert.deepEqual([result.extraIos, result.hedgedReads], [1, 1]);
    assert.equal(
      core.complete(duplicate, 40, false),
      true,
      'the duplicate completes first and serves the read',
    );
    assert.equal(core.complete(first, 90, false), false, 'the original is the hedging loser');
    assert.deepEqual(told, [
      [2, 10, 40, 1, 0],
      [1, 90, 90, 1, 0],
    ]);
    assert.deepEqual(
      records.map((r) => [r.servedBy, r.hedged, r.latencyUs]),
      [[2, true, 40]],
    );
    core.assertDrained();
  });

  test('a try still queued when its read was served is withdrawn: no longer pending, no longer an extra I/O', () => {
    const { core, engine, result } = scriptedCore({ name: 'hedge', hedgeAfterUs: 30 });
    core.arrive(0, 0, 0, 0, 8192, true);
    engine.runNext(core);
    const [first, duplicate] = engine.issued.map((i) => i.t) as [number, number];
    assert.equal(core.withdrawServed(first), false, 'a read not yet served keeps its tries');
    assert.throws(() => core.assertDrained(), /pages still pending/);
    core.complete(duplicate, 50, false);
    assert.equal(core.withdrawServed(first), true);
    assert.equal(result.extraIos, 0, 'one device I/O for one read');
    core.assertDrained();
  });

  test('a write goes to its home at once: never offered to the policy, never hedged', () => {
    const { core, engine, result, records } = scriptedCore({
      name: 'refuses',
      hedgeAfterUs: 10,
      admit: () => {
        throw new Error('a write was offered');
      },
    });
    core.arrive(0, 0, 4, 0, 4096, false);
    assert.deepEqual(engine.issued, [{ t: 0, device: 1, read: false, atUs: 0 }]);
    assert.equal(core.scheduledActions, 0);
    core.complete(0, 25, false);
    assert.deepEqual(
      [result.writes, result.policyFaults, records[0]!.device, records[0]!.servedBy],
      [1, 0, 1, 1],
      'trace device 4 of 3 replicas: home and record device 1',
    );
  });

  test('a held try is issued at its release time; a failed completion records its I/O with ok = 0', () => {
    const { core, engine, result, records } = scriptedCore({
      name: 'holds',
      admit(t, context) {
        context.release!(context.hold!(), false, t.nowUs + 20);
        return true; // ignored: the try is held
      },
    });
    core.arrive(0, 0, 2, 0, 4096, true);
    assert.equal(core.waiting, 0, 'released already, its action scheduled');
    assert.deepEqual([core.scheduledActions, core.nextActionUs()], [1, 20], 'its release');
    assert.equal(engine.issued.length, 0, 'held: not issued before its release');
    assert.equal(engine.runNext(core), ACTION_RELEASE);
    assert.deepEqual(
      engine.issued.map((i) => [i.device, i.atUs]),
      [[2, 20]],
    );
    assert.equal(core.complete(engine.issued[0]!.t, 70, true), true);
    assert.deepEqual(
      [records[0]!.ok, records[0]!.latencyUs, result.heldTries, result.revokes],
      [0, 70, 1, 0],
    );
  });

  test('tries a policy never released are issued at the end, each a policy fault', () => {
    const { core, engine, result } = scriptedCore({
      name: 'keeper',
      admit(_t, context) {
        context.hold!();
        return false;
      },
    });
    core.arrive(0, 0, 0, 0, 4096, true);
    core.arrive(5, 5, 1, 0, 4096, true);
    assert.deepEqual([core.waiting, engine.issued.length], [2, 0]);
    core.submitUnreleased();
    assert.deepEqual(
      engine.issued.map((i) => i.device),
      [0, 1],
    );
    assert.deepEqual([core.waiting, result.policyFaults], [0, 2]);
  });
});
