/**
 * Warnings about policies that behaved pathologically in a replay: figures a reader of the latency table
 * could take at face value although the policy was not doing what it is for. Every command that reports
 * policy runs (simulate, replay, demo) prints them under the tables and carries them in results.json.
 */
import { extraIosPerRead, revokesPerRead } from './rates.js';

/** What the checks read of one policy's run. */
export interface PolicyFigures {
  name: string;
  /** Whether this is the plain path the others are compared with. */
  baseline: boolean;
  reads: number;
  meanReadUs: number;
  revokes: number;
  /** Device I/Os beyond one per application I/O (hedged duplicates that reached a device). */
  extraIos: number;
  /** Times the policy threw, or left a held try unreleased. */
  policyFaults: number;
  /** The first of them in words (absent when unknown). */
  firstPolicyFault?: string;
}

export type PolicyWarningKind = 'revokes' | 'extra-ios' | 'slower' | 'faults';

export interface PolicyWarning {
  policy: string;
  kind: PolicyWarningKind;
  /** The figure that crossed its limit. */
  value: number;
  limit: number;
  message: string;
}

/**
 * The limits, and why:
 * - revokesPerRead: more than one revoke per read on average means most tries were predicted slow; reads
 *   end on the last replicas of their chain (which are never revoked), so the policy is moving load, not
 *   avoiding slow devices;
 * - extraIosPerRead: hedging that duplicates more than a quarter of the reads waits less than the baseline's
 *   p75: it adds load to mask what is not a tail (LinnOS+HL hedges at p(100-f); f above 25% is a model that
 *   misses most slow reads);
 * - meanVsBaseline: an average read latency 1.5x the baseline's is no tail trade-off: the policy made the
 *   common case worse;
 * - any policy fault: the policy threw or never released a held try, and the array submitted in its stead.
 */
export const PATHOLOGY_LIMITS = {
  revokesPerRead: 1,
  extraIosPerRead: 0.25,
  meanVsBaseline: 1.5,
} as const;

function fixed(x: number, digits: number): string {
  return x.toFixed(digits);
}

/** The warnings for a set of policy runs, in the order the runs are given. */
export function policyWarnings(runs: readonly PolicyFigures[]): PolicyWarning[] {
  const baseline = runs.find((r) => r.baseline);
  const out: PolicyWarning[] = [];
  for (const run of runs) {
    const revokes = revokesPerRead(run.revokes, run.reads);
    const extraPerRead = extraIosPerRead(run.extraIos, run.reads);
    if (revokes === undefined || extraPerRead === undefined) continue;
    if (revokes > PATHOLOGY_LIMITS.revokesPerRead)
      out.push({
        policy: run.name,
        kind: 'revokes',
        value: revokes,
        limit: PATHOLOGY_LIMITS.revokesPerRead,
        message: `${fixed(revokes, 2)} revokes per read (more than ${PATHOLOGY_LIMITS.revokesPerRead}): most read tries were revoked, so reads pile onto the last replicas of their chains (a model that predicts most reads slow does this)`,
      });
    if (extraPerRead > PATHOLOGY_LIMITS.extraIosPerRead)
      out.push({
        policy: run.name,
        kind: 'extra-ios',
        value: extraPerRead,
        limit: PATHOLOGY_LIMITS.extraIosPerRead,
        message: `extra I/Os ${fixed(extraPerRead * 100, 1)}% of reads (more than ${PATHOLOGY_LIMITS.extraIosPerRead * 100}%): its hedge delay is below the tail it should mask, and the duplicates load the replicas`,
      });
    if (baseline !== undefined && run !== baseline && baseline.meanReadUs > 0) {
      const ratio = run.meanReadUs / baseline.meanReadUs;
      if (ratio > PATHOLOGY_LIMITS.meanVsBaseline)
        out.push({
          policy: run.name,
          kind: 'slower',
          value: ratio,
          limit: PATHOLOGY_LIMITS.meanVsBaseline,
          message: `average read latency ${fixed(ratio, 2)}x the baseline's (${fixed(run.meanReadUs, 0)} vs ${fixed(baseline.meanReadUs, 0)} us; more than ${PATHOLOGY_LIMITS.meanVsBaseline}x)`,
        });
    }
    if (run.policyFaults > 0)
      out.push({
        policy: run.name,
        kind: 'faults',
        value: run.policyFaults,
        limit: 0,
        message: `${run.policyFaults} policy faults: the policy threw or never released a held read, and the array submitted it instead${run.firstPolicyFault !== undefined ? `; the first: ${run.firstPolicyFault}` : ''}`,
      });
  }
  return out;
}

/** One line per warning, for the text report. */
export function warningLines(warnings: readonly PolicyWarning[]): string[] {
  return warnings.map((w) => `warning: ${w.policy}: ${w.message}`);
}
