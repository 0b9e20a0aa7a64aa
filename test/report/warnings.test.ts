/**
 * Pathological policies are flagged: each limit on its own, and end to end in `lake simulate`'s text report
 * and results.json.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PATHOLOGY_LIMITS, type PolicyFigures, policyWarnings } from '../../src/report/warnings.js';
import { runLake } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'lake-warnings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const baseline: PolicyFigures = {
  name: 'baseline',
  baseline: true,
  reads: 1000,
  meanReadUs: 200,
  revokes: 0,
  extraIos: 0,
  policyFaults: 0,
};

function policy(figures: Partial<PolicyFigures>): PolicyFigures {
  return { ...baseline, name: 'p', baseline: false, ...figures };
}

describe('pathological policy warnings', () => {
  test('each limit fires just above it and not at it', () => {
    const kinds = (p: PolicyFigures) => policyWarnings([baseline, p]).map((w) => w.kind);
    assert.deepEqual(kinds(policy({})), []);
    assert.deepEqual(kinds(policy({ revokes: 1000 })), [], 'one revoke per read is the limit');
    assert.deepEqual(kinds(policy({ revokes: 1001 })), ['revokes']);
    assert.deepEqual(kinds(policy({ extraIos: 250 })), []);
    assert.deepEqual(kinds(policy({ extraIos: 251 })), ['extra-ios']);
    assert.deepEqual(kinds(policy({ meanReadUs: 300 })), []);
    assert.deepEqual(kinds(policy({ meanReadUs: 301 })), ['slower']);
    assert.deepEqual(kinds(policy({ policyFaults: 1 })), ['faults']);
    assert.deepEqual(kinds(policy({ revokes: 1800, extraIos: 900, meanReadUs: 9000 })), [
      'revokes',
      'extra-ios',
      'slower',
    ]);
  });

  test('a policy is compared with the baseline only when the baseline ran; figures name the policy', () => {
    const slow = policy({ name: 'linnos+hl', meanReadUs: 9000, revokes: 1800 });
    assert.deepEqual(
      policyWarnings([slow]).map((w) => w.kind),
      ['revokes'],
    );
    const [revokes, slower] = policyWarnings([baseline, slow]);
    assert.equal(revokes!.policy, 'linnos+hl');
    assert.equal(revokes!.value, 1.8);
    assert.equal(revokes!.limit, PATHOLOGY_LIMITS.revokesPerRead);
    assert.match(revokes!.message, /^1\.80 revokes per read/);
    assert.equal(slower!.value, 45);
    assert.match(slower!.message, /45\.00x the baseline's \(9000 vs 200 us/);
  });

  test('lake simulate prints them under the tables and carries them in results.json', () => {
    // random@0.9 revokes 0.9 + 0.9 x 0.9 = 1.71 times per read on three replicas; hedging50 duplicates about
    // half the reads; hedging99 and the baseline are sane.
    const policies = 'baseline,random@0.9,hedging50,hedging99';
    const out = join(dir, 'simulate');
    const text = runLake(['simulate', '--duration', '0.5', '--policies', policies, '--out', out]);
    assert.equal(text.status, 0, text.stderr);
    const lines = text.stdout.split('\n').filter((l) => l.startsWith('warning: '));
    assert.equal(lines.length, 2, text.stdout);
    assert.match(lines[0]!, /^warning: random@0\.9: 1\.7\d revokes per read/);
    assert.match(lines[1]!, /^warning: hedging50: extra I\/Os \d\d\.\d% of reads/);
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
      policyWarnings: { policy: string; kind: string; value: number }[];
    };
    assert.deepEqual(
      json.policyWarnings.map((w) => `${w.policy} ${w.kind}`),
      ['random@0.9 revokes', 'hedging50 extra-ios'],
    );
    assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /Warnings/);
    const quiet = runLake(['simulate', '--duration', '0.5', '--policies', 'baseline,hedging99', '--json']);
    assert.equal(quiet.status, 0, quiet.stderr);
    assert.deepEqual((JSON.parse(quiet.stdout) as { policyWarnings: unknown[] }).policyWarnings, []);
  });
});
