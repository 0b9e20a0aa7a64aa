/**
 * The real-clock engine keeps the virtual-clock engine's semantics: on the same simulated devices (through
 * the virtual backend, whose clock stands still while the engine works) and with no queue-depth limit, both
 * produce the same records — admission, revocation and failover, hedging, pending pages, latencies.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ReplayResult, replay } from '../../src/array/engine.js';
import { baselinePolicy, greedyOraclePolicy, hedgingPolicy, randomPolicy } from '../../src/array/policies.js';
import { type AdmissionPolicy, timedDecisions } from '../../src/array/policy.js';
import type { IoRecord } from '../../src/array/types.js';
import { createFlashDevice } from '../../src/flash/index.js';
import type { Device } from '../../src/flash/types.js';
import { Random } from '../../src/random.js';
import { arrivalsOf } from '../../src/realdev/arrivals.js';
import { replayReal } from '../../src/realdev/engine.js';
import { VirtualBackend, virtualDevices } from '../../src/realdev/virtual.js';
import type { TraceRecord } from '../../src/trace/types.js';
import { QueueDevice } from '../helpers/queue-device.js';

/** Arrivals on a 125 us grid (exact in binary floating point, so both engines compute identical times). */
function workload(count: number, seed: number, readFraction: number): TraceRecord[] {
  const random = new Random(seed);
  const out: TraceRecord[] = [];
  let tick = 0;
  for (let i = 0; i < count; i++) {
    tick += random.int(4);
    out.push({
      arrivalMs: tick * 0.125,
      device: random.int(3),
      offset: random.int(1 << 20) * 4096,
      size: 4096 * (1 + random.int(8)),
      read: random.next() < readFraction,
    });
  }
  return out;
}

const key = (r: IoRecord): string => `${r.device}:${r.index}`;

/** What both engines count the same way (with no queue-depth limit no hedge is cancelled). */
function counters(r: ReplayResult): Partial<ReplayResult> {
  const { ios, reads, writes, extraIos, revokes, hedgedReads, failedOver, policyFaults, heldTries } = r;
  return {
    ios,
    reads,
    writes,
    extraIos,
    revokes,
    hedgedReads,
    failedOver,
    policyFaults,
    heldTries,
    ...(r.firstPolicyFault !== undefined ? { firstPolicyFault: r.firstPolicyFault } : {}),
  };
}

async function bothEngines(
  arrivals: TraceRecord[],
  makeDevices: () => Device[],
  makePolicy: () => AdmissionPolicy,
): Promise<{ sim: IoRecord[]; real: IoRecord[] }> {
  const sim: IoRecord[] = [];
  const simResult = replay(arrivals, {
    devices: makeDevices(),
    policy: makePolicy(),
    onRecord: (r) => sim.push(r),
  });
  const devices = makeDevices();
  const real: IoRecord[] = [];
  const result = await replayReal(arrivalsOf(arrivals), {
    devices: virtualDevices(devices),
    backend: new VirtualBackend(devices),
    policy: makePolicy(),
    queueDepth: 4096,
    onRecord: (r) => real.push(r),
  });
  assert.equal(result.late, 0, 'the virtual clock never runs late');
  assert.deepEqual(counters(result), counters(simResult), 'the same counters');
  return { sim, real };
}

const policies: [string, () => AdmissionPolicy][] = [
  ['baseline', () => baselinePolicy()],
  ['random revocation', () => randomPolicy(0.3, 11)],
  ['hedging', () => hedgingPolicy(300, 'hedging')],
  ['revoking every try on device 1', () => ({ name: 'no-1', admit: (t) => t.device === 1 })],
  ['greedy-oracle', () => greedyOraclePolicy()],
  [
    'holding each try 20 us, then revoking those on device 1 (decisions that take time)',
    () => ({
      name: 'hold',
      admit(t, context) {
        const timed = timedDecisions(context);
        if (timed === undefined) throw new Error('the engine offers no timed decisions');
        timed.release(timed.hold(), t.device === 1, t.nowUs + 20);
        return false;
      },
    }),
  ],
  [
    'a policy that faults: throws in admit (once after holding), throws in timers, revokes on device 2',
    () => {
      let asked = 0;
      return {
        name: 'faulty',
        admit(t, context) {
          const timed = timedDecisions(context);
          if (timed === undefined) throw new Error('the engine offers no timed decisions');
          asked++;
          if (asked % 7 === 0) throw new Error(`try ${asked} refused`);
          if (asked % 17 === 0) {
            timed.hold();
            throw new Error(`try ${asked} held, then refused`);
          }
          if (asked % 13 === 0)
            timed.wakeAt(t.nowUs + 5, () => {
              throw new Error('timer refused');
            });
          return t.device === 2 && asked % 3 === 0;
        },
      };
    },
  ],
];

describe('real-clock engine = virtual-clock engine on simulated devices', () => {
  for (const [name, makePolicy] of policies) {
    test(`${name}: the same records on FIFO devices`, async () => {
      const arrivals = workload(3000, 5, 0.7);
      const makeDevices = (): Device[] => [
        new QueueDevice('a', 90),
        new QueueDevice('b', 140),
        new QueueDevice('c', 60),
      ];
      const { sim, real } = await bothEngines(arrivals, makeDevices, makePolicy);
      assert.equal(real.length, sim.length);
      const byKey = new Map(real.map((r) => [key(r), r]));
      for (const s of sim) assert.deepEqual(byKey.get(key(s)), s, `record ${key(s)}`);
    });
  }

  test('random revocation and hedging: the same records on simulated flash (FEMU timing, GC)', async () => {
    const arrivals = workload(4000, 9, 0.5);
    const makeDevices = (): Device[] =>
      [0, 1, 2].map((i) => createFlashDevice({ name: `ssd${i}`, seed: i + 1 }));
    for (const makePolicy of [() => randomPolicy(0.2, 3), () => hedgingPolicy(500, 'hedging')]) {
      const { sim, real } = await bothEngines(arrivals, makeDevices, makePolicy);
      const byKey = new Map(real.map((r) => [key(r), r]));
      assert.equal(real.length, sim.length);
      for (const s of sim) assert.deepEqual(byKey.get(key(s)), s, `record ${key(s)}`);
    }
  });
});
