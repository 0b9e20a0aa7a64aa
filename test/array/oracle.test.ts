/**
 * The greedy oracle: what it is (the best replica for the read at hand given what the devices hold now,
 * revoke costs counted) and what it is not (an upper bound: its choices delay the reads that come after).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DeviceState } from '../../src/array/device-state.js';
import { replay } from '../../src/array/engine.js';
import { baselinePolicy, greedyOraclePolicy } from '../../src/array/policies.js';
import type { AdmissionPolicy, ArrayContext, ReadTry } from '../../src/array/policy.js';
import type { IoRecord } from '../../src/array/types.js';
import { createFlashDevice } from '../../src/flash/index.js';
import type { Device } from '../../src/flash/types.js';
import { Random } from '../../src/random.js';
import type { TraceRecord } from '../../src/trace/types.js';
import { QueueDevice } from '../helpers/queue-device.js';

/** A context whose devices would complete a read at fixed times (nothing else is consulted). */
function fixedContext(completeAt: number[], revokeCostUs: number): ArrayContext {
  return {
    devices: completeAt.map((_, i) => new DeviceState(i)),
    revokeCostUs,
    peekReadUs: (device) => completeAt[device]!,
  };
}

function readTry(home: number, attempt: number): ReadTry {
  return { index: 0, home, device: (home + attempt) % 3, offset: 0, size: 4096, nowUs: 0, attempt };
}

/** Distinct arrival times (a microsecond grid plus a fraction), mixed reads and writes on three homes. */
function workload(count: number, seed: number): TraceRecord[] {
  const random = new Random(seed);
  const out: TraceRecord[] = [];
  let us = 0;
  for (let i = 0; i < count; i++) {
    us += 1 + random.int(60);
    out.push({
      arrivalMs: (us + 0.25) / 1000,
      device: random.int(3),
      offset: random.int(1 << 18) * 4096,
      size: 4096 * (1 + random.int(4)),
      read: random.next() < 0.6,
    });
  }
  return out;
}

describe('greedy oracle', () => {
  test('revokes exactly when a later replica in the chain completes sooner, revoke costs counted', () => {
    const oracle = greedyOraclePolicy();
    // Home 0 completes at 300; replica 1 at 296 + 5 (not sooner); replica 2 at 280 + 10 (sooner).
    assert.equal(oracle.admit!(readTry(0, 0), fixedContext([300, 296, 280], 5)), true);
    assert.equal(oracle.admit!(readTry(0, 0), fixedContext([300, 296, 291], 5)), false, '291 + 10 > 300');
    assert.equal(oracle.admit!(readTry(0, 0), fixedContext([300, 294, 999], 5)), true, '294 + 5 < 300');
    // Second try (on replica 1): only replica 2 is later in the chain.
    assert.equal(oracle.admit!(readTry(0, 1), fixedContext([0, 300, 294], 5)), true);
    assert.equal(oracle.admit!(readTry(0, 1), fixedContext([0, 300, 296], 5)), false);
  });

  for (const [name, makeDevices] of [
    ['FIFO devices', (): Device[] => [40, 90, 150].map((us, i) => new QueueDevice(`q${i}`, us))],
    [
      'simulated flash (FEMU timing, GC)',
      (): Device[] => [0, 1, 2].map((i) => createFlashDevice({ name: `ssd${i}`, seed: 40 + i })),
    ],
  ] as const) {
    test(`${name}: with no revoke cost, every read completes no later than its home would have completed it on arrival`, () => {
      const arrivals = workload(6000, 12);
      // The home replica's completion time for each read at its first try, as the devices stood then.
      const homeEstimate = new Map<string, number>();
      const oracle = greedyOraclePolicy();
      const watching: AdmissionPolicy = {
        name: 'greedy-oracle',
        admit(t, context) {
          if (t.attempt === 0)
            homeEstimate.set(`${t.home}:${t.index}`, context.peekReadUs(t.home, t.offset, t.size, t.nowUs));
          return oracle.admit!(t, context);
        },
      };
      const records: IoRecord[] = [];
      const result = replay(arrivals, {
        devices: makeDevices(),
        policy: watching,
        revokeCostUs: 0,
        onRecord: (r) => records.push(r),
      });
      assert.ok(result.revokes > 100, `${result.revokes} revokes: the oracle moved reads`);
      let moved = 0;
      for (const r of records.filter((r) => r.read)) {
        const estimate = homeEstimate.get(`${r.device}:${r.index}`)!;
        assert.ok(r.completeUs <= estimate, `read ${r.device}:${r.index}: ${r.completeUs} > ${estimate}`);
        if (r.revokes > 0) {
          moved++;
          assert.ok(r.completeUs < estimate, `a moved read completes sooner than at home`);
        }
      }
      assert.equal(moved, records.filter((r) => r.read && r.revokes > 0).length);
    });
  }

  test('it is not an upper bound: a read it moves can end later than at home, and the tail worse than baseline', () => {
    // Two FIFO replicas of 100 us. A write holds replica 0 until 100; read A (home 0) arrives at 1 us and
    // would complete at 200 at home, at 101 + 5 on replica 1: the oracle revokes it. During the 5 us revoke
    // cost read B (home 1) arrives at 2 us and takes replica 1 first; A completes at 202, later than at home.
    const arrivals: TraceRecord[] = [
      { arrivalMs: 0, device: 0, offset: 0, size: 4096, read: false },
      { arrivalMs: 0.001, device: 0, offset: 4096, size: 4096, read: true },
      { arrivalMs: 0.002, device: 1, offset: 8192, size: 4096, read: true },
    ];
    const run = (policy: AdmissionPolicy): IoRecord[] => {
      const records: IoRecord[] = [];
      replay(arrivals, {
        devices: [new QueueDevice('a', 100), new QueueDevice('b', 100)],
        policy,
        revokeCostUs: 5,
        onRecord: (r) => records.push(r),
      });
      return records.filter((r) => r.read).sort((a, b) => a.device - b.device);
    };
    const baseline = run(baselinePolicy());
    const oracle = run(greedyOraclePolicy());
    assert.deepEqual(
      baseline.map((r) => r.latencyUs),
      [199, 100],
    );
    assert.deepEqual(
      oracle.map((r) => r.latencyUs),
      [201, 100],
    );
    const worst = (records: IoRecord[]) => Math.max(...records.map((r) => r.latencyUs));
    assert.ok(worst(oracle) > worst(baseline));
  });
});
