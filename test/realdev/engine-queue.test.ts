/**
 * What the real-clock engine adds to the virtual-clock engine's semantics, checked exactly on simulated
 * devices through the virtual backend: queue depth per device (tries beyond it wait in lake's FIFO, which
 * is part of the device's queue: pending, and in the device latency), revocation never reaching the
 * device, tries cancelled or ignored under hedging, pending-page accounting under failover, late and slack
 * counts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hedgingPolicy } from '../../src/array/policies.js';
import type { AdmissionPolicy, ArrayContext } from '../../src/array/policy.js';
import type { IoRecord } from '../../src/array/types.js';
import type { Device } from '../../src/flash/types.js';
import { Random } from '../../src/random.js';
import { arrivalsOf } from '../../src/realdev/arrivals.js';
import { type RealReplayOptions, replayReal, type SubmitEvent } from '../../src/realdev/engine.js';
import { VirtualBackend, virtualDevices } from '../../src/realdev/virtual.js';
import type { TraceRecord } from '../../src/trace/types.js';
import { QueueDevice } from '../helpers/queue-device.js';

function reads(count: number, gapMs: number, devices: number, seed = 1): TraceRecord[] {
  const random = new Random(seed);
  return Array.from({ length: count }, (_, i) => ({
    arrivalMs: i * gapMs,
    device: random.int(devices),
    offset: random.int(1 << 16) * 4096,
    size: 4096 * (1 + random.int(4)),
    read: true,
  }));
}

function fifoDevices(...serviceUs: number[]): Device[] {
  return serviceUs.map((us, i) => new QueueDevice(`d${i}`, us));
}

/** The virtual backend, noting the most tries it held in the kernel at once per device. */
class CountingBackend extends VirtualBackend {
  readonly #inKernel: number[];
  readonly #deviceOf = new Map<number, number>();
  readonly mostInKernel: number[];
  constructor(devices: Device[], options: { submitCostUs?: number }) {
    super(devices, options);
    this.#inKernel = devices.map(() => 0);
    this.mostInKernel = devices.map(() => 0);
  }
  override queue(slot: number, device: number, write: boolean, offset: number, size: number): void {
    this.#deviceOf.set(slot, device);
    this.#inKernel[device]!++;
    this.mostInKernel[device] = Math.max(this.mostInKernel[device]!, this.#inKernel[device]!);
    super.queue(slot, device, write, offset, size);
  }
  #seen(k: number): number {
    for (let i = 0; i < k; i++) this.#inKernel[this.#deviceOf.get(this.completions[i * 3]!)!]!--;
    return k;
  }
  override poll(): number {
    return this.#seen(super.poll());
  }
  override wait(untilUs: number): number {
    return this.#seen(super.wait(untilUs));
  }
}

async function run(
  arrivals: TraceRecord[],
  devices: Device[],
  options: Partial<RealReplayOptions> & { policy: AdmissionPolicy },
  backendOptions: { submitCostUs?: number } = {},
) {
  const records: IoRecord[] = [];
  const submits: SubmitEvent[] = [];
  const backend = new CountingBackend(devices, backendOptions);
  const result = await replayReal(arrivalsOf(arrivals), {
    devices: virtualDevices(devices),
    backend,
    onRecord: (r) => records.push(r),
    onSubmit: (s) => submits.push({ ...s }),
    ...options,
  });
  const queueDepth = options.queueDepth ?? 32;
  for (const most of backend.mostInKernel)
    assert.ok(most <= queueDepth, `${most} tries in the kernel at once`);
  return { result, records, submits, mostInKernel: backend.mostInKernel };
}

/** A policy that checks every device's view each time it is asked, and keeps the context for the end. */
function watching(inner: AdmissionPolicy): AdmissionPolicy & { context?: ArrayContext; checks: number } {
  const policy: AdmissionPolicy & { context?: ArrayContext; checks: number } = {
    name: inner.name,
    checks: 0,
    ...(inner.hedgeAfterUs !== undefined ? { hedgeAfterUs: inner.hedgeAfterUs } : {}),
    start(context) {
      policy.context = context;
    },
    admit(t, context) {
      for (const view of context.devices) {
        assert.ok(view.pendingPages >= 0, `device ${view.device}: negative pending pages`);
        assert.ok(view.inFlight >= 0, `device ${view.device}: ${view.inFlight} in flight`);
        assert.ok(view.pendingPages >= view.inFlight, `device ${view.device}: fewer pages than I/Os`);
      }
      policy.checks++;
      return inner.admit?.(t, context) ?? false;
    },
  };
  return policy;
}

describe('real-clock engine: queue depth, revocation, hedging, accounting', () => {
  test('a revoked read never reaches the slow device; the last replica is never asked', async () => {
    const policy = watching({ name: 'not-on-1', admit: (t) => t.device === 1 });
    const { result, records, submits } = await run(reads(600, 0.01, 3), fifoDevices(50, 50, 50), {
      policy,
      queueDepth: 4,
    });
    assert.equal(records.length, 600);
    // Device 1 only ever gets reads on their last replica (home 2: 2 -> 0 -> 1), never a revoked try.
    for (const s of submits.filter((s) => s.device === 1))
      assert.equal(s.attempt, 2, `read ${s.home}:${s.index}`);
    const homedOn1 = records.filter((r) => r.device === 1).length;
    assert.ok(homedOn1 > 0);
    assert.equal(result.revokes, homedOn1, 'exactly the reads whose first try was on device 1 were revoked');
    assert.ok(records.filter((r) => r.device === 1).every((r) => r.servedBy === 2 && r.revokes === 1));
    assert.ok(policy.checks > 0);
    for (const view of policy.context!.devices) {
      assert.equal(view.pendingPages, 0);
      assert.equal(view.inFlight, 0);
    }
  });

  test('queue depth: at most N tries in the kernel per device; the rest wait in the device queue, pending, and their wait is latency', async () => {
    const arrivals: TraceRecord[] = Array.from({ length: 5 }, (_, i) => ({
      arrivalMs: 0,
      device: 0,
      offset: i * 4096,
      size: 4096,
      read: true,
    }));
    const policy = watching({ name: 'baseline' });
    const { records, result, mostInKernel } = await run(arrivals, fifoDevices(100), {
      policy,
      queueDepth: 2,
    });
    assert.deepEqual(mostInKernel, [2]);
    const byIndex = records.sort((a, b) => a.index - b.index);
    // FIFO device, 100 us each, two at a time: done at 100, 200, 300, 400, 500 after arrival.
    assert.deepEqual(
      byIndex.map((r) => r.latencyUs),
      [100, 200, 300, 400, 500],
    );
    // All five were issued at once: each counts as pending from then (as the block layer counts a request
    // waiting for a tag), and its device latency includes its wait for a slot.
    assert.deepEqual(
      byIndex.map((r) => r.submitUs - byIndex[0]!.submitUs),
      [0, 0, 0, 0, 0],
    );
    assert.deepEqual(
      byIndex.map((r) => r.completeUs - r.submitUs),
      [100, 200, 300, 400, 500],
    );
    assert.deepEqual(
      byIndex.map((r) => r.pendingAtIssue),
      [1, 2, 3, 4, 5],
    );
    // The kernel's time excludes the wait for a slot: 100 us for the first, 200 for the others (each entered
    // the kernel behind one I/O the device was serving).
    assert.equal(result.deviceTime[0]!.readMeanUs, (100 + 4 * 200) / 5);
  });

  test('hedging: a try still queued when its read completed is cancelled; a second completion is ignored', async () => {
    const arrivals = reads(400, 0.005, 2, 3);
    const policy = watching(hedgingPolicy(0, 'hedge-at-once'));
    // Unequal devices, so a read's two tries do not move through their queues in step.
    const { result, records, submits } = await run(arrivals, fifoDevices(80, 130), { policy, queueDepth: 1 });
    assert.equal(records.length, 400, 'every I/O recorded exactly once');
    assert.equal(result.hedgedReads, 400);
    assert.ok(result.cancelledHedges > 0, 'some tries were still queued when their read completed');
    assert.ok(result.ignoredCompletions > 0, 'some tries reached the device and lost');
    // Every issued try (400 first tries, 400 duplicates) reached the kernel or was cancelled in its queue.
    assert.equal(submits.length + result.cancelledHedges, 800);
    assert.equal(result.ignoredCompletions, submits.length - records.length);
    assert.equal(result.extraIos, submits.length - 400, 'extra I/Os: device I/Os beyond one per read');
    const winners = records.filter((r) => r.servedBy !== r.device).length;
    assert.equal(winners, result.failedOver);
    for (const view of policy.context!.devices) {
      assert.equal(view.pendingPages, 0, 'a cancelled try is no longer pending');
      assert.equal(view.inFlight, 0);
    }
  });

  test('admission comes before the queue: a revoked read never waits in the FIFO of the device it leaves', async () => {
    // One slot per device; device 0 is held 1,000 us by a write, then a read homed on 0 arrives.
    const arrivals: TraceRecord[] = [
      { arrivalMs: 0, device: 0, offset: 0, size: 4096, read: false },
      { arrivalMs: 0.01, device: 0, offset: 4096, size: 4096, read: true },
    ];
    const devices = [new QueueDevice('busy', 1000), new QueueDevice('idle', 100)];
    let pendingSeen = -1;
    const { records, result } = await run(arrivals, devices, {
      policy: {
        name: 'queue-aware',
        admit: (t, context) => {
          pendingSeen = context.devices[t.device]!.pendingPages;
          return context.devices[t.device]!.inFlight > 0;
        },
      },
      queueDepth: 1,
      revokeCostUs: 5,
    });
    assert.equal(pendingSeen, 1, "the policy saw the write the device's queue holds");
    assert.equal(result.revokes, 1);
    const read = records.find((r) => r.read)!;
    assert.equal(read.servedBy, 1);
    assert.equal(read.latencyUs, 5 + 100, 'the revoke cost and the other replica, no wait on device 0');
  });

  test("the hedge timer starts at the try's issue, also while it waits in the FIFO; the waiting try is then cancelled", async () => {
    const arrivals: TraceRecord[] = [
      { arrivalMs: 0, device: 0, offset: 0, size: 4096, read: false },
      { arrivalMs: 0.01, device: 0, offset: 4096, size: 4096, read: true },
    ];
    const devices = [new QueueDevice('busy', 1000), new QueueDevice('idle', 100)];
    const { records, result, submits } = await run(arrivals, devices, {
      policy: hedgingPolicy(50, 'hedge-50'),
      queueDepth: 1,
    });
    const read = records.find((r) => r.read)!;
    assert.equal(result.hedgedReads, 1);
    assert.equal(read.hedged, true);
    assert.equal(read.servedBy, 1);
    assert.equal(
      read.latencyUs,
      50 + 100,
      'hedged 50 us after its issue, though it had not reached the kernel',
    );
    assert.equal(result.cancelledHedges, 1, 'the first try never reached device 0');
    assert.equal(submits.filter((s) => s.read).length, 1);
    assert.equal(result.extraIos, 0, 'one device I/O for one read');
  });

  test('pending pages stay exact under failover with hedging and revocation together', async () => {
    const random = new Random(4);
    const inner: AdmissionPolicy = { name: 'mixed', hedgeAfterUs: 60, admit: () => random.next() < 0.4 };
    const policy = watching(inner);
    const arrivals = reads(1500, 0.004, 3, 8).map((r, i) => ({ ...r, read: i % 4 !== 0 }));
    const { result, records } = await run(arrivals, fifoDevices(40, 90, 150), { policy, queueDepth: 3 });
    assert.equal(records.length, 1500);
    assert.ok(result.revokes > 0 && result.hedgedReads > 0 && result.failedOver > 0);
    assert.ok(policy.checks > 1000);
    for (const view of policy.context!.devices) {
      assert.equal(view.pendingPages, 0);
      assert.equal(view.inFlight, 0);
    }
  });

  test('held tries take no slot and are released with their verdict', async () => {
    const policy: AdmissionPolicy = {
      name: 'hold',
      admit(t, context) {
        const ticket = context.hold!();
        context.release!(ticket, t.device === 0, t.nowUs + 25);
        return false;
      },
    };
    const { result, records } = await run(reads(200, 0.05, 3, 6), fifoDevices(30, 30, 30), {
      policy,
      queueDepth: 2,
    });
    assert.equal(records.length, 200);
    assert.ok(result.heldTries! > 0);
    assert.equal(result.policyFaults, 0);
    assert.ok(
      records.every((r) => r.servedBy !== 0 || r.device === 1),
      'device 0 only serves last replicas',
    );
  });

  test('late: I/Os taken up after their time (here behind 30 us submission calls); slack: gaps over 100 ms', async () => {
    const arrivals = reads(300, 0.01, 3, 2);
    const punctual = await run(arrivals, fifoDevices(20, 20, 20), {
      policy: { name: 'baseline' },
      queueDepth: 8,
    });
    assert.equal(punctual.result.late, 0);
    assert.equal(punctual.result.lag.maxUs, 0);
    const slow = await run(
      arrivals,
      fifoDevices(20, 20, 20),
      { policy: { name: 'baseline' }, queueDepth: 8, lateAfterUs: 10 },
      { submitCostUs: 30 },
    );
    assert.ok(slow.result.late > 0);
    assert.equal(slow.result.lateFraction, slow.result.late / 300);
    assert.ok(slow.result.lag.maxUs > 10);
    // Latency runs from when the engine took the I/O up: lateness is reported apart, not added.
    assert.ok(slow.records.every((r) => r.latencyUs >= 20));
    const gaps: TraceRecord[] = [0, 1, 250, 251, 600].map((ms, i) => ({
      arrivalMs: ms,
      device: 0,
      offset: i * 4096,
      size: 4096,
      read: true,
    }));
    const slack = await run(gaps, fifoDevices(20), { policy: { name: 'baseline' } });
    assert.equal(slack.result.slack, 2);
  });

  test('the greedy oracle is refused on devices without a future', async () => {
    const devices = fifoDevices(10, 10);
    const backend = new VirtualBackend(devices);
    const blind = Object.assign(backend, { peekReadUs: undefined });
    let error: unknown;
    const result = await replayReal(arrivalsOf(reads(20, 0.1, 2)), {
      devices: virtualDevices(devices),
      backend: blind,
      policy: {
        name: 'peeks',
        admit: (t, c) => {
          try {
            c.peekReadUs(t.device, t.offset, t.size, t.nowUs);
          } catch (e) {
            error = e;
          }
          return false;
        },
      },
    });
    assert.equal(result.ios, 20);
    assert.match(String((error as Error).message), /cannot tell a read's future/);
  });
});
