/**
 * The replay core (src/array/core) that both engines run on: admission bookkeeping (admit with rollback,
 * hold/release/wakeAt, faults, unreleased tries at the end), replica routing, served-I/O reports, slots.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Admission, type AdmissionCounts, HELD, REVOKE, SUBMIT } from '../../src/array/core/admission.js';
import { ReplicaChains } from '../../src/array/core/chains.js';
import { emptyServedIo, ioRecordOf, reportServed } from '../../src/array/core/records.js';
import { hedgeDelayUs, hedgeReplica, homeReplica, replicaAfter } from '../../src/array/core/replicas.js';
import { grown, SlotPool } from '../../src/array/core/slots.js';
import { DeviceState } from '../../src/array/device-state.js';
import type { AdmissionPolicy, ReadTry } from '../../src/array/policy.js';
import type { IoRecord } from '../../src/array/types.js';

interface Scheduled {
  what: 'release' | 'timer';
  id: number;
  atUs: number;
}

function admissionFor(
  policy: AdmissionPolicy,
  options: { lcReads?: boolean; replicas?: number } = {},
): { admission: Admission; counts: AdmissionCounts; scheduled: Scheduled[] } {
  const counts: AdmissionCounts = { policyFaults: 0, heldTries: 0 };
  const scheduled: Scheduled[] = [];
  const replicas = options.replicas ?? 3;
  const admission = new Admission({
    policy,
    lcReads: options.lcReads ?? true,
    replicas,
    revokeCostUs: 7,
    devices: Array.from({ length: replicas }, (_, i) => new DeviceState(i)),
    peekReadUs: () => 0,
    scheduler: {
      release: (id, atUs) => scheduled.push({ what: 'release', id, atUs }),
      timer: (id, atUs) => scheduled.push({ what: 'timer', id, atUs }),
    },
    counts,
  });
  return { admission, counts, scheduled };
}

describe('replay core: admission', () => {
  test('the policy is asked only about LC reads that are not on the last replica', () => {
    const policy: AdmissionPolicy = { name: 'p', admit: () => true };
    assert.deepEqual(
      [0, 1, 2].map((attempt) => admissionFor(policy).admission.asks(attempt)),
      [true, true, false],
    );
    assert.equal(admissionFor(policy, { lcReads: false }).admission.asks(0), false);
    assert.equal(admissionFor({ name: 'no admit' }).admission.asks(0), false);
    assert.equal(admissionFor(policy, { replicas: 1 }).admission.asks(0), false);
  });

  test('ask hands the try to admit and turns its answer into a verdict', () => {
    const seen: ReadTry[] = [];
    const { admission, counts } = admissionFor({
      name: 'p',
      admit: (t, context) => {
        seen.push({ ...t });
        assert.equal(context.revokeCostUs, 7);
        return t.device === 2;
      },
    });
    assert.equal(admission.ask(4, 10, 1, 2, 8192, 4096, 250, 1), REVOKE);
    assert.equal(admission.ask(5, 11, 1, 1, 0, 512, 260, 0), SUBMIT);
    assert.deepEqual(seen, [
      { index: 10, home: 1, device: 2, offset: 8192, size: 4096, nowUs: 250, attempt: 1 },
      { index: 11, home: 1, device: 1, offset: 0, size: 512, nowUs: 260, attempt: 0 },
    ]);
    assert.equal(counts.policyFaults, 0);
  });

  test('a held try is parked until its release: the release is scheduled and gives back its verdict', () => {
    const { admission, counts, scheduled } = admissionFor({
      name: 'p',
      admit: (t, context) => {
        const ticket = context.hold!();
        context.release!(ticket, t.device === 1, t.nowUs + 40);
        return true; // ignored: the try is held
      },
    });
    assert.equal(admission.ask(3, 0, 0, 1, 0, 4096, 100, 0), HELD);
    assert.equal(admission.ask(70, 1, 0, 0, 0, 4096, 110, 0), HELD); // a ticket beyond the first 64 slots
    assert.deepEqual(scheduled, [
      { what: 'release', id: 3, atUs: 140 },
      { what: 'release', id: 70, atUs: 150 },
    ]);
    assert.equal(counts.heldTries, 2);
    assert.equal(admission.waiting, 0, 'both released');
    assert.equal(admission.takeRelease(3), true);
    assert.equal(admission.takeRelease(70), false);
    // Taken: the tickets are free again, so releasing them again is refused.
    assert.throws(() => admission.context.release!(3, false, 0), /release\(3\): no read try is held/);
  });

  test('hold outside admit and release of a ticket never held are refused', () => {
    const { admission } = admissionFor({ name: 'p', admit: () => false });
    assert.throws(() => admission.context.hold!(), /only be called from admit/);
    assert.throws(() => admission.context.release!(0, false, 0), /release\(0\)/);
    assert.throws(() => admission.context.release!(-1, false, 0), /release\(-1\)/);
  });

  test('a policy that throws submits the try; a hold before the throw is taken back; the first fault is kept', () => {
    let calls = 0;
    const { admission, counts, scheduled } = admissionFor({
      name: 'thrower',
      admit: (_t, context) => {
        calls++;
        if (calls === 1) context.hold!();
        throw new Error(`fault ${calls}`);
      },
    });
    assert.equal(admission.ask(2, 0, 0, 0, 0, 4096, 0, 0), SUBMIT);
    assert.equal(admission.ask(2, 1, 0, 0, 0, 4096, 0, 0), SUBMIT);
    assert.equal(counts.policyFaults, 2);
    assert.equal(counts.heldTries, 0, 'the hold was taken back');
    assert.equal(admission.waiting, 0);
    assert.deepEqual(scheduled, []);
    assert.match(counts.firstPolicyFault ?? '', /policy thrower threw in admit\(\): fault 1/);
    // Nothing is left to submit at the end.
    const submitted: number[] = [];
    admission.submitUnreleased((t) => submitted.push(t));
    assert.deepEqual(submitted, []);
  });

  test('timers fire once with the time given; one that throws is a policy fault; ids are reused', () => {
    const fired: number[] = [];
    const { admission, counts, scheduled } = admissionFor({ name: 'p', admit: () => false });
    const context = admission.context;
    context.wakeAt!(30, (now) => fired.push(now));
    context.wakeAt!(50, () => {
      throw new Error('timer fault');
    });
    assert.deepEqual(
      scheduled.map((s) => [s.what, s.id, s.atUs]),
      [
        ['timer', 0, 30],
        ['timer', 1, 50],
      ],
    );
    admission.fireTimer(0, 31);
    admission.fireTimer(1, 50);
    assert.deepEqual(fired, [31]);
    assert.equal(counts.policyFaults, 1);
    assert.match(counts.firstPolicyFault ?? '', /threw in a wakeAt\(\) callback: timer fault/);
    context.wakeAt!(60, () => {});
    assert.equal(scheduled.at(-1)?.id, 1, 'the last freed id is reused first');
  });

  test('tries never released are submitted at the end, in ticket order, each a policy fault', () => {
    const { admission, counts } = admissionFor({
      name: 'keeper',
      admit: (_t, context) => {
        context.hold!();
        return false;
      },
    });
    for (const ticket of [9, 2, 5]) assert.equal(admission.ask(ticket, 0, 0, 0, 0, 4096, 0, 0), HELD);
    assert.equal(admission.waiting, 3);
    const submitted: number[] = [];
    admission.submitUnreleased((t) => submitted.push(t));
    assert.deepEqual(submitted, [2, 5, 9]);
    assert.equal(counts.policyFaults, 3);
    assert.equal(admission.waiting, 0);
    assert.match(counts.firstPolicyFault ?? '', /policy keeper held a read try and never released it/);
  });
});

describe('replay core: replicas, records, slots', () => {
  test('home, failover chain and hedge target wrap around the replicas', () => {
    assert.deepEqual(
      [-1, 0, 4, 7].map((d) => homeReplica(d, 3)),
      [2, 0, 1, 1],
    );
    assert.deepEqual(
      [0, 1, 2].map((k) => replicaAfter(2, k, 3)),
      [2, 0, 1],
    );
    assert.equal(hedgeReplica(2, 3), 0);
  });

  test('chains: a revoke moves the read along the chain; a hedge goes once, after the serving replica, and never after the read was served', () => {
    const counts = { revokes: 0, hedgedReads: 0 };
    const chains = new ReplicaChains(3, 2, counts);
    chains.begin(0, 12, 2);
    assert.equal(chains.target(0), 2);
    chains.revoke(0);
    assert.deepEqual([chains.attempt(0), chains.target(0), counts.revokes], [1, 0, 1]);
    chains.submittedTo(0, chains.target(0));
    assert.equal(chains.hedge(0), 1, 'the replica after the one serving');
    assert.equal(chains.hedge(0), -1, 'a read is hedged once');
    assert.equal(counts.hedgedReads, 1);
    assert.equal(chains.serve(0), true, 'the first completion serves the I/O');
    assert.equal(chains.serve(0), false, 'the hedging loser does not');
    chains.grow(4);
    assert.deepEqual(
      [chains.index(0), chains.home(0), chains.isHedged(0), chains.isServed(0)],
      [12, 2, true, true],
    );
    chains.begin(3, 0, 1);
    chains.submittedTo(3, 1);
    assert.equal(chains.serve(3), true);
    assert.equal(chains.hedge(3), -1, 'a read already served is not hedged');
    chains.begin(0, 13, 0);
    assert.deepEqual(
      [chains.attempt(0), chains.isHedged(0), chains.isServed(0)],
      [0, false, false],
      'a reused number starts afresh',
    );
  });

  test('a policy hedges only with a finite delay and another replica', () => {
    assert.equal(hedgeDelayUs({ name: 'h', hedgeAfterUs: 300 }, 3), 300);
    assert.equal(hedgeDelayUs({ name: 'h', hedgeAfterUs: 300 }, 1), undefined);
    assert.equal(hedgeDelayUs({ name: 'h', hedgeAfterUs: Number.POSITIVE_INFINITY }, 3), undefined);
    assert.equal(hedgeDelayUs({ name: 'plain' }, 3), undefined);
  });

  test('a served I/O becomes its IoRecord and its latency goes to the sinks of its kind', () => {
    const served = emptyServedIo();
    Object.assign(served, {
      index: 4,
      home: 1,
      arrivalUs: 1500,
      latencyUs: 230,
      read: true,
      size: 8192,
      offset: 4096,
      ok: 1,
      servedBy: 2,
      revokes: 1,
      pendingAtIssue: 6,
      submitUs: 1505,
      completeUs: 1730,
      hedged: false,
      submitSeq: 17,
    });
    const expected: IoRecord = {
      index: 4,
      device: 1,
      arrivalMs: 1.5,
      latencyUs: 230,
      read: true,
      size: 8192,
      offset: 4096,
      submitMs: 1.505,
      ok: 1,
      servedBy: 2,
      revokes: 1,
      pendingAtIssue: 6,
      submitUs: 1505,
      completeUs: 1730,
      hedged: false,
      submitSeq: 17,
    };
    assert.deepEqual(ioRecordOf(served), expected);
    const reads: number[] = [];
    const byDevice: number[][] = [[], [], []];
    const writes: number[] = [];
    const records: IoRecord[] = [];
    const outputs = {
      onRecord: (r: IoRecord) => records.push(r),
      readLatency: { record: (us: number) => reads.push(us) },
      readLatencyByDevice: byDevice.map((list) => ({ record: (us: number) => list.push(us) })),
      writeLatency: { record: (us: number) => writes.push(us) },
    };
    assert.equal(reportServed(outputs, served), true, 'a read served off its home is a failover');
    served.read = false;
    served.latencyUs = 40;
    assert.equal(reportServed(outputs, served), false, 'a write is never a failover');
    assert.deepEqual([reads, byDevice, writes], [[230], [[], [230], []], [40]]);
    assert.deepEqual(records[0], expected);
    assert.equal(records.length, 2);
  });

  test('slots: freed ones are reused last-in first, and the columns grow by doubling', () => {
    const pool = new SlotPool(4);
    const grownTo: number[] = [];
    const grow = (capacity: number): void => {
      grownTo.push(capacity);
    };
    const slots = Array.from({ length: 5 }, () => pool.alloc(grow));
    assert.deepEqual(slots, [0, 1, 2, 3, 4]);
    assert.deepEqual(grownTo, [4, 8]);
    pool.release(1);
    pool.release(3);
    assert.deepEqual([pool.alloc(grow), pool.alloc(grow), pool.alloc(grow)], [3, 1, 5]);
    const column = grown(Float64Array.of(1.5, 2.5), 4);
    assert.ok(column instanceof Float64Array);
    assert.deepEqual([...column], [1.5, 2.5, 0, 0]);
  });
});
