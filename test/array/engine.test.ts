import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type LatencySink, mergeStreams, replay } from '../../src/array/engine.js';
import { baselinePolicy, greedyOraclePolicy, hedgingPolicy, randomPolicy } from '../../src/array/policies.js';
import type { AdmissionPolicy } from '../../src/array/policy.js';
import type { IoRecord } from '../../src/array/types.js';
import { Random } from '../../src/random.js';
import type { TraceRecord } from '../../src/trace/types.js';
import { QueueDevice } from '../helpers/queue-device.js';

function reads(count: number, gapMs: number, device = 0, size = 4096): TraceRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    arrivalMs: i * gapMs,
    device,
    offset: i * 4096,
    size,
    read: true,
  }));
}

function collect(): { sink: LatencySink; values: number[] } {
  const values: number[] = [];
  return { sink: { record: (v) => values.push(v) }, values };
}

const alwaysRevoke: AdmissionPolicy = { name: 'revoke-all', admit: () => true };

describe('replay engine', () => {
  test('baseline serves every read on its home device with the device latency', () => {
    const devices = [new QueueDevice('a', 100), new QueueDevice('b', 100), new QueueDevice('c', 100)];
    const out = collect();
    const records: IoRecord[] = [];
    const result = replay(reads(10, 1), {
      devices,
      policy: baselinePolicy(),
      readLatency: out.sink,
      onRecord: (r) => records.push(r),
    });
    assert.equal(result.ios, 10);
    assert.equal(result.reads, 10);
    assert.equal(result.revokes, 0);
    assert.deepEqual(out.values, Array(10).fill(100));
    assert.ok(records.every((r) => r.servedBy === 0 && r.revokes === 0 && r.pendingAtIssue === 1));
    assert.equal(devices[1]!.submitted, 0);
  });

  test('pending pages count reads and writes in flight, including the arriving I/O', () => {
    const records: IoRecord[] = [];
    const arrivals: TraceRecord[] = [
      { arrivalMs: 0, device: 0, offset: 0, size: 8192, read: false },
      { arrivalMs: 0.01, device: 0, offset: 0, size: 4096, read: true },
      { arrivalMs: 0.02, device: 0, offset: 0, size: 512, read: true },
    ];
    replay(arrivals, {
      devices: [new QueueDevice('a', 1000)],
      policy: baselinePolicy(),
      onRecord: (r) => records.push(r),
    });
    const byIndex = records.sort((a, b) => a.index - b.index).map((r) => r.pendingAtIssue);
    assert.deepEqual(byIndex, [2, 3, 4]);
  });

  test('a revoked read fails over after the revoke cost, and the last replica is never revoked', () => {
    const devices = [new QueueDevice('a', 100), new QueueDevice('b', 100), new QueueDevice('c', 100)];
    const out = collect();
    const records: IoRecord[] = [];
    const result = replay(reads(5, 1, 1), {
      devices,
      policy: alwaysRevoke,
      revokeCostUs: 7,
      readLatency: out.sink,
      onRecord: (r) => records.push(r),
    });
    assert.equal(result.revokes, 10);
    assert.equal(result.failedOver, 5);
    assert.deepEqual(out.values, Array(5).fill(114));
    assert.ok(records.every((r) => r.servedBy === 0 && r.revokes === 2));
    assert.equal(devices[1]!.submitted + devices[2]!.submitted, 0);
  });

  test('writes are never offered to the policy', () => {
    let asked = 0;
    const policy: AdmissionPolicy = {
      name: 'count',
      admit: () => {
        asked++;
        return false;
      },
    };
    replay([{ arrivalMs: 0, device: 0, offset: 0, size: 4096, read: false }], {
      devices: [new QueueDevice('a', 10), new QueueDevice('b', 10)],
      policy,
    });
    assert.equal(asked, 0);
  });

  test('a policy that throws is treated as submit and counted', () => {
    const policy: AdmissionPolicy = {
      name: 'broken',
      admit: () => {
        throw new Error('boom');
      },
    };
    const result = replay(reads(3, 1), {
      devices: [new QueueDevice('a', 10), new QueueDevice('b', 10)],
      policy,
    });
    assert.equal(result.policyFaults, 3);
    assert.equal(result.revokes, 0);
  });

  test('hedging duplicates a slow read to the next replica and the first completion wins', () => {
    const devices = [new QueueDevice('slow', 5000), new QueueDevice('fast', 50)];
    const out = collect();
    const result = replay(reads(1, 1), {
      devices,
      policy: hedgingPolicy(200, 'hedge'),
      readLatency: out.sink,
    });
    assert.equal(result.extraIos, 1);
    assert.equal(result.hedgedReads, 1);
    assert.deepEqual(out.values, [250]);
    assert.equal(devices[1]!.submitted, 1);
  });

  test('hedging does nothing for reads that complete before the delay', () => {
    const devices = [new QueueDevice('a', 50), new QueueDevice('b', 50)];
    const result = replay(reads(20, 1), { devices, policy: hedgingPolicy(200, 'hedge') });
    assert.equal(result.extraIos, 0);
  });

  test('the greedy oracle moves reads to a replica that completes sooner', () => {
    const devices = [new QueueDevice('slow', 3000), new QueueDevice('fast', 100)];
    const out = collect();
    replay(reads(4, 10), { devices, policy: greedyOraclePolicy(), readLatency: out.sink, revokeCostUs: 5 });
    assert.deepEqual(out.values, Array(4).fill(105));
  });

  test('random revokes roughly its probability and is seeded', () => {
    const run = () =>
      replay(reads(2000, 1), {
        devices: [new QueueDevice('a', 10), new QueueDevice('b', 10)],
        policy: randomPolicy(0.25, 9),
      }).revokes;
    const first = run();
    assert.equal(first, run());
    // On two replicas each read is offered once (the last replica is never revoked): one draw per read of
    // the policy's seeded stream, revoked when under 0.25.
    const draws = new Random(9);
    let expected = 0;
    for (let i = 0; i < 2000; i++) if (draws.next() < 0.25) expected++;
    assert.equal(first, expected);
    assert.ok(Math.abs(expected - 500) < 4 * Math.sqrt(2000 * 0.25 * 0.75), `revokes ${expected}`);
  });

  test('completed reads update the device view in completion order', () => {
    const seen: number[][] = [];
    const policy: AdmissionPolicy = {
      name: 'spy',
      admit(_read, context) {
        const view = context.devices[0]!;
        seen.push([view.completedReads, view.recentLatencyUs(0), view.pendingPages]);
        return false;
      },
    };
    // Arrivals at 0, 100, 200, 300 us; completions at 300, 600, 900, 1200: the completion at 300 runs first.
    replay(reads(4, 0.1), { devices: [new QueueDevice('a', 300), new QueueDevice('b', 300)], policy });
    assert.deepEqual(seen, [
      [0, 0, 0],
      [0, 0, 1],
      [0, 0, 2],
      [1, 300, 2],
    ]);
  });

  test('mergeStreams interleaves per-device streams by arrival and tags the device', () => {
    const merged = [...mergeStreams([reads(3, 2, 9), reads(3, 3, 9)])];
    assert.deepEqual(
      merged.map((r) => [r.arrivalMs, r.device]),
      [
        [0, 0],
        [0, 1],
        [2, 0],
        [3, 1],
        [4, 0],
        [6, 1],
      ],
    );
  });

  test('out-of-order arrivals are replayed at the current time and counted', () => {
    const arrivals: TraceRecord[] = [
      { arrivalMs: 5, device: 0, offset: 0, size: 4096, read: true },
      { arrivalMs: 4, device: 0, offset: 0, size: 4096, read: true },
    ];
    const result = replay(arrivals, { devices: [new QueueDevice('a', 10)], policy: baselinePolicy() });
    assert.equal(result.reorderedArrivals, 1);
  });
});
