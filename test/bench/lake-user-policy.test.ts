import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchUserPolicyCall, userPolicySuite } from '../../src/bench/lake-user-policy.js';
import { assertPlainData } from '../helpers/plain-data.js';

// Shape only: what a call costs is the benchmark's figure.

test('benchUserPolicyCall times the default and the isolated policy at each gap', async () => {
  const r = await benchUserPolicyCall({ calls: 300, gapsUs: [0, 50] });
  assert.deepEqual(
    r.policyUs.map((p) => p.gapUs),
    [0, 50],
  );
  for (const t of [r.defaultUs, ...r.policyUs]) {
    assert.ok(t.minUs > 0 && t.minUs <= t.medianUs && t.medianUs <= t.p90Us);
    assert.ok(t.p90Us <= t.p99Us && t.p99Us <= t.maxUs);
  }
  assertPlainData(r);
});

test('the user-policy suite puts the default first as the reference', async () => {
  const suite = await userPolicySuite();
  assert.equal(suite.suite, 'user-policy');
  assert.equal(suite.results[0]!.reference, suite.results[0]!.name);
  assert.equal(suite.results.length, 4);
});
