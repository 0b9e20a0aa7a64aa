import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { replay } from '../../src/array/engine.js';
import {
  type AdmissionPolicy,
  type ArrayContext,
  type ReadTry,
  type TimedDecisions,
  timedDecisions,
} from '../../src/array/policy.js';
import type { IoRecord } from '../../src/array/types.js';
import type { TraceRecord } from '../../src/trace/types.js';
import { QueueDevice } from '../helpers/queue-device.js';

function reads(times: readonly number[], device = 0): TraceRecord[] {
  return times.map((ms, i) => ({ arrivalMs: ms, device, offset: i * 4096, size: 4096, read: true }));
}

/** The replay engine offers timed decisions. */
function timed(context: ArrayContext): ArrayContext & TimedDecisions {
  const offered = timedDecisions(context);
  assert.ok(offered !== undefined, 'the replay engine offers hold, release and wakeAt');
  return offered;
}

function threeDevices(serviceUs = 100): QueueDevice[] {
  return [new QueueDevice('a', serviceUs), new QueueDevice('b', serviceUs), new QueueDevice('c', serviceUs)];
}

describe('replay engine: held decisions', () => {
  test('a try held and released later is submitted then, and its latency includes the wait', () => {
    const policy: AdmissionPolicy = {
      name: 'charge-10us',
      admit(read: ReadTry, plain: ArrayContext): boolean {
        const context = timed(plain);
        const ticket = context.hold();
        context.release(ticket, false, read.nowUs + 10);
        return true; // ignored: the try is held
      },
    };
    const records: IoRecord[] = [];
    const result = replay(reads([0, 1, 2]), {
      devices: threeDevices(),
      policy,
      onRecord: (r) => records.push(r),
    });
    assert.equal(result.heldTries, 3);
    assert.equal(result.revokes, 0);
    assert.equal(result.policyFaults, 0);
    for (const r of records) {
      assert.equal(r.servedBy, 0);
      assert.equal(r.submitUs, r.arrivalMs * 1000 + 10);
      assert.equal(r.latencyUs, 110);
    }
  });

  test('a batch closed by a timer releases every member at once; a revoked member fails over', () => {
    // Three reads arrive 1 us apart; the batch closes 5 us after the first and revokes the second.
    let batch: { ticket: number; index: number }[] = [];
    const policy: AdmissionPolicy = {
      name: 'window',
      admit(read, plain) {
        const context = timed(plain);
        if (read.attempt > 0) return false;
        if (batch.length === 0) {
          context.wakeAt(read.nowUs + 5, (nowUs) => {
            for (const member of batch) context.release(member.ticket, member.index === 1, nowUs);
            batch = [];
          });
        }
        batch.push({ ticket: context.hold(), index: read.index });
        return false;
      },
    };
    const records: IoRecord[] = [];
    const result = replay(reads([0, 0.001, 0.002]), {
      devices: threeDevices(),
      policy,
      revokeCostUs: 2,
      onRecord: (r) => records.push(r),
    });
    records.sort((a, b) => a.index - b.index);
    assert.equal(result.heldTries, 3);
    assert.equal(result.revokes, 1);
    assert.deepEqual(
      records.map((r) => [r.servedBy, r.submitUs]),
      [
        [0, 5],
        [1, 7], // released (revoked) at 5, re-tried on the next replica after the 2 us revoke cost
        [0, 5],
      ],
    );
    assert.equal(records[0]!.latencyUs, 105);
    assert.equal(records[2]!.latencyUs, 5 - 2 + 200); // waited 3 us, then queued behind read 0
  });

  test('tries never released are submitted at the end and counted as policy faults', () => {
    const policy: AdmissionPolicy = {
      name: 'forgetful',
      admit(_read, context) {
        timed(context).hold();
        return false;
      },
    };
    const records: IoRecord[] = [];
    const result = replay(reads([0, 1]), {
      devices: threeDevices(),
      policy,
      onRecord: (r) => records.push(r),
    });
    assert.equal(records.length, 2, 'no read is lost');
    assert.equal(result.policyFaults, 2);
  });

  test('a policy that holds and then throws has its try submitted at once', () => {
    const policy: AdmissionPolicy = {
      name: 'throws',
      admit(_read, context) {
        timed(context).hold();
        throw new Error('boom');
      },
    };
    const records: IoRecord[] = [];
    const result = replay(reads([0]), { devices: threeDevices(), policy, onRecord: (r) => records.push(r) });
    assert.equal(result.policyFaults, 1);
    assert.equal(result.heldTries, 0);
    assert.equal(records[0]!.submitUs, 0);
  });

  test('hold outside admit and release of an unknown ticket are refused', () => {
    let caught: unknown[] = [];
    const policy: AdmissionPolicy = {
      name: 'misuse',
      admit(read, plain) {
        const context = timed(plain);
        if (read.index === 0) {
          context.wakeAt(read.nowUs + 1, () => {
            try {
              context.hold();
            } catch (error) {
              caught.push(error);
            }
          });
          try {
            context.release(12345, false, 0);
          } catch (error) {
            caught.push(error);
          }
        }
        return false;
      },
    };
    replay(reads([0, 1]), { devices: threeDevices(), policy });
    assert.equal(caught.length, 2);
    assert.match(String(caught[0]), /no read try is held/);
    assert.match(String(caught[1]), /only be called from admit/);
    caught = [];
  });
});

test('the policy is started once with the context before the first arrival', () => {
  const started: ArrayContext[] = [];
  const policy: AdmissionPolicy = {
    name: 'starts',
    start: (context) => {
      started.push(context);
    },
    admit: () => false,
  };
  replay(reads([0, 1]), { devices: threeDevices(), policy });
  assert.equal(started.length, 1);
  assert.ok(timedDecisions(started[0]!) !== undefined);
});
