/**
 * A policy that throws (in admit or in a wakeAt callback) or never releases a held try is a policy fault:
 * the read is submitted, the fault counted, and the FIRST fault kept in words, as the real-clock engine keeps
 * its first I/O error. The same policies run on both engines (virtual clock; real clock on the virtual
 * backend), and the report's warning and JSON name the first fault.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { replay } from '../../src/array/engine.js';
import { parsePolicySpec } from '../../src/array/policies.js';
import { type AdmissionPolicy, timedDecisions } from '../../src/array/policy.js';
import { policyReport, runPolicies } from '../../src/array/run.js';
import { policyJson, runWarnings } from '../../src/cli/run-report.js';
import { arrivalsOf } from '../../src/realdev/arrivals.js';
import { replayReal } from '../../src/realdev/engine.js';
import { VirtualBackend, virtualDevices } from '../../src/realdev/virtual.js';
import type { TraceRecord } from '../../src/trace/types.js';
import { QueueDevice } from '../helpers/queue-device.js';

function reads(count: number): TraceRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    arrivalMs: i,
    device: 0,
    offset: i * 4096,
    size: 4096,
    read: true,
  }));
}

function devices(): QueueDevice[] {
  return [new QueueDevice('a', 50), new QueueDevice('b', 50), new QueueDevice('c', 50)];
}

/** Throws from the third read try on, each time saying which try it was. */
function throwsFromThird(): AdmissionPolicy {
  let tries = 0;
  return {
    name: 'flaky',
    start: () => {
      tries = 0;
    },
    admit: () => {
      tries++;
      if (tries >= 3) throw new Error(`model missing for try ${tries}`);
      return false;
    },
  };
}

/** Holds every try and releases it from a timer that throws on the second read. */
function throwingTimer(): AdmissionPolicy {
  let tries = 0;
  return {
    name: 'timer',
    start: () => {
      tries = 0;
    },
    admit(read, context) {
      const timed = timedDecisions(context)!;
      const ticket = timed.hold();
      const n = ++tries;
      timed.wakeAt(read.nowUs + 5, () => {
        if (n === 2) throw new RangeError(`batch ${n} failed`);
        timed.release(ticket, false, read.nowUs + 5);
      });
      return false;
    },
  };
}

/** Holds every try and never releases one. */
function forgetful(): AdmissionPolicy {
  return {
    name: 'forgetful',
    admit(_read, context) {
      timedDecisions(context)!.hold();
      return false;
    },
  };
}

interface FaultResult {
  policyFaults: number;
  firstPolicyFault?: string;
}

const engines: [string, (policy: AdmissionPolicy, count: number) => Promise<FaultResult>][] = [
  ['virtual clock', async (policy, count) => replay(reads(count), { devices: devices(), policy })],
  [
    'real clock',
    async (policy, count) => {
      const d = devices();
      return replayReal(arrivalsOf(reads(count)), {
        devices: virtualDevices(d),
        backend: new VirtualBackend(d),
        policy,
      });
    },
  ],
];

for (const [engine, run] of engines) {
  describe(`policy faults (${engine})`, () => {
    test('a throw in admit keeps the first message and counts every fault', async () => {
      const result = await run(throwsFromThird(), 6);
      assert.equal(result.policyFaults, 4);
      assert.equal(
        result.firstPolicyFault,
        'policy flaky threw in admit(): model missing for try 3 (the read was submitted)',
      );
    });

    test('a throw in a wakeAt callback is named as such', async () => {
      const result = await run(throwingTimer(), 4);
      // The second read's timer threw, so its try was never released either: two faults, the throw first.
      assert.equal(result.policyFaults, 2);
      assert.equal(
        result.firstPolicyFault,
        'policy timer threw in a wakeAt() callback: batch 2 failed (the read was submitted)',
      );
    });

    test('a held try never released is named', async () => {
      const result = await run(forgetful(), 3);
      assert.equal(result.policyFaults, 3);
      assert.equal(
        result.firstPolicyFault,
        'policy forgetful held a read try and never released it (submitted at the end of the run)',
      );
    });

    test('a policy without faults has no first fault', async () => {
      const result = await run({ name: 'quiet', admit: () => false }, 5);
      assert.equal(result.policyFaults, 0);
      assert.equal(result.firstPolicyFault, undefined);
    });
  });
}

test('the report warns with the first fault and results.json carries it', async () => {
  const runs = await runPolicies({
    workload: { kind: 'memory', arrivals: () => reads(6) },
    makeDevices: devices,
    specs: ['baseline', 'linnos'].map(parsePolicySpec),
    seed: 1,
    makePolicy: (spec) => (spec.kind === 'linnos' ? { ...throwsFromThird(), name: spec.name } : undefined),
  });
  const first = 'policy linnos threw in admit(): model missing for try 3 (the read was submitted)';
  const warnings = runWarnings(runs);
  assert.deepEqual(
    warnings.map((w) => [w.policy, w.kind, w.value]),
    [['linnos', 'faults', 4]],
  );
  assert.ok(warnings[0]!.message.endsWith(`; the first: ${first}`), warnings[0]!.message);
  const json = runs.map((r) => policyJson(r, policyReport(r), () => null));
  assert.equal(json[1]!.firstPolicyFault, first);
  assert.equal('firstPolicyFault' in json[0]!, false, 'no fault, no field (results.json unchanged)');
});
