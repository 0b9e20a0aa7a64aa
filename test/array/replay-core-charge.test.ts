/**
 * Inference time a policy charges (ArrayContext.charge) on the replay core driven directly: the try waits
 * exactly that long on the clock before its verdict acts (submit or revoke), a policy that charges nothing
 * changes nothing, and an engine whose clock runs the inference itself (chargesInference off) ignores it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ACTION_RELEASE, ACTION_RETRY } from '../../src/array/core/tries.js';
import type { AdmissionPolicy } from '../../src/array/policy.js';
import { scriptedCore } from '../helpers/replay-core.js';

/** A policy that charges `us` per decision (twice half, to check that charges add up) and answers `revoke`. */
function charging(us: number, revoke: (attempt: number) => boolean): AdmissionPolicy {
  return {
    name: 'charging',
    admit(read, context) {
      context.charge?.(us / 2);
      context.charge?.(us / 2);
      return revoke(read.attempt);
    },
  };
}

describe('replay core: inference time charged to the read it delays', () => {
  test('a submitted read waits exactly the charged time on the clock before it is issued', () => {
    const { core, engine, result, records } = scriptedCore(
      charging(0.3, () => false),
      { startUs: 100, chargesInference: true },
    );
    core.arrive(100, 100, 0, 0, 4096, true);
    assert.equal(engine.issued.length, 0, 'not issued while its inference is charged');
    assert.equal(core.nextActionUs(), 100.3);
    engine.now = core.nextActionUs();
    assert.equal(core.runNextAction(), ACTION_RELEASE);
    assert.deepEqual(engine.issued, [{ t: 0, device: 0, read: true, atUs: 100.3 }]);
    engine.now = 150;
    core.complete(0, 150, false);
    assert.equal(records.length, 1);
    assert.equal(records[0]!.submitUs, 100.3);
    assert.equal(records[0]!.latencyUs, 50, 'its latency starts at its arrival: the charge is in it');
    assert.equal(result.chargedTries, 1);
    assert.equal(result.chargedUs, 0.3);
    assert.equal(result.heldTries ?? 0, 0, 'a charge is not a hold by the policy');
  });

  test('a revoked read is revoked after the charged time, then retried after the revoke cost', () => {
    const { core, engine, result } = scriptedCore(
      charging(2, (attempt) => attempt === 0),
      { startUs: 100, chargesInference: true },
    );
    core.arrive(100, 100, 0, 0, 4096, true);
    engine.now = core.nextActionUs();
    assert.equal(engine.now, 102);
    assert.equal(core.runNextAction(), ACTION_RELEASE);
    assert.equal(result.revokes, 1);
    assert.equal(core.nextActionUs(), 109, 'retry at release + revoke cost');
    engine.now = 109;
    assert.equal(core.runNextAction(), ACTION_RETRY);
    // The second try is charged too (the last replica is never asked, this one is not the last).
    assert.equal(core.nextActionUs(), 111);
    engine.now = 111;
    core.runNextAction();
    assert.deepEqual(
      engine.issued.map((i) => [i.device, i.atUs]),
      [[1, 111]],
    );
    assert.equal(result.chargedTries, 2);
    assert.equal(result.chargedUs, 4);
  });

  test('a policy that charges nothing (baseline) is issued at once and counts no charge', () => {
    const { core, engine, result } = scriptedCore(
      { name: 'baseline', admit: () => false },
      { startUs: 100, chargesInference: true },
    );
    core.arrive(100, 100, 0, 0, 4096, true);
    assert.deepEqual(engine.issued, [{ t: 0, device: 0, read: true, atUs: 100 }]);
    assert.equal(core.scheduledActions, 0);
    assert.equal(result.chargedTries, undefined);
  });

  test('an engine whose clock runs the inference (chargesInference off) offers no charge', () => {
    let offered: boolean | undefined;
    const { core, engine, result } = scriptedCore(
      {
        name: 'real',
        admit(_read, context) {
          offered = context.charge !== undefined;
          context.charge?.(5);
          return false;
        },
      },
      { startUs: 100, chargesInference: false },
    );
    core.arrive(100, 100, 0, 0, 4096, true);
    assert.equal(offered, false);
    assert.deepEqual(engine.issued, [{ t: 0, device: 0, read: true, atUs: 100 }]);
    assert.equal(result.chargedTries, undefined);
  });

  test('a policy that charges and then throws is submitted at once, the charge dropped, a fault counted', () => {
    const { core, engine, result } = scriptedCore(
      {
        name: 'thrower',
        admit(_read, context) {
          context.charge?.(5);
          throw new Error('boom');
        },
      },
      { startUs: 100, chargesInference: true },
    );
    core.arrive(100, 100, 0, 0, 4096, true);
    assert.deepEqual(engine.issued, [{ t: 0, device: 0, read: true, atUs: 100 }]);
    assert.equal(result.policyFaults, 1);
    assert.equal(result.chargedTries, undefined);
  });
});
