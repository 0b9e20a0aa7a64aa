import { usageError } from '../errors.js';
import { Random } from '../random.js';
import type { AdmissionPolicy, ArrayContext, ReadTry } from './policy.js';

/** Always submit: the plain path. */
export function baselinePolicy(): AdmissionPolicy {
  return { name: 'baseline' };
}

/** Revoke each latency-critical read try with a fixed probability (seeded): the heuristic LinnOS compares with. */
export function randomPolicy(probability: number, seed: number, name = 'random'): AdmissionPolicy {
  if (!(probability >= 0 && probability <= 1)) throw new RangeError('probability must be in [0, 1]');
  let random = new Random(seed);
  return {
    name,
    start: () => {
      random = new Random(seed);
    },
    admit: () => random.next() < probability,
  };
}

/** Wait then speculate: duplicate a read to the next replica if it has not completed after `afterUs`. */
export function hedgingPolicy(afterUs: number, name: string): AdmissionPolicy {
  if (!(afterUs >= 0)) throw new RangeError('afterUs must be a non-negative number');
  return { name, hedgeAfterUs: afterUs };
}

/**
 * The greedy oracle sees every device's queue (simulated devices only): it revokes a try whenever a later
 * replica in the failover chain would complete the read sooner, counting the revoke costs on the way. That
 * is the best choice for the read at hand given what the devices hold now, and nothing more: it is blind to
 * what its choice does to the reads after it (a read moved to a replica delays the ones that arrive there
 * next), so it is NOT an upper bound on a policy's tail or even its mean latency (on the Tencent rw_60_40
 * trace its p99.9 is 1.07x the baseline's). What holds exactly (test/array/oracle.test.ts): with no revoke
 * cost, every read completes no later than its home replica would have completed it when it arrived.
 * Devices are only asked about the present (a device model may not be asked about a time before one it has
 * seen); a replica reached k revokes later is taken to complete k revoke costs later than it would now,
 * which never flatters it (FEMU's model completes at max(t, lun_free_at) + latency, so waiting can only
 * overlap its queue), but another I/O may reach that replica during the revoke cost.
 */
export function greedyOraclePolicy(): AdmissionPolicy {
  return {
    name: 'greedy-oracle',
    admit(read: ReadTry, context: ArrayContext): boolean {
      const n = context.devices.length;
      const here = context.peekReadUs(read.device, read.offset, read.size, read.nowUs);
      let delay = 0;
      for (let attempt = read.attempt + 1; attempt < n; attempt++) {
        delay += context.revokeCostUs;
        const device = (read.home + attempt) % n;
        if (context.peekReadUs(device, read.offset, read.size, read.nowUs) + delay < here) return true;
      }
      return false;
    },
  };
}

/** A parsed `--policies` entry. Hedging percentiles are resolved against the baseline run. */
export type PolicySpec =
  | { kind: 'baseline'; name: string }
  | { kind: 'random'; name: string; probability: number }
  | { kind: 'hedging'; name: string; percentile: number }
  | { kind: 'greedy-oracle'; name: string }
  | { kind: 'linnos'; name: string; hedged: boolean };

/**
 * Parse one policy name: `baseline`, `random` (revoke 5%) or `random@P` (P a probability), `hedgingNN`
 * (hedge at the NNth percentile of the baseline's read latency, e.g. `hedging95`, `hedging99.9`),
 * `greedy-oracle`, `linnos`, `linnos+hl` (LinnOS with hedging at p(100-f), f = its false-submit rate %).
 */
export function parsePolicySpec(text: string): PolicySpec {
  const name = text.trim();
  if (name === 'baseline') return { kind: 'baseline', name };
  if (name === 'greedy-oracle') return { kind: 'greedy-oracle', name };
  if (name === 'oracle')
    throw usageError(
      'policy "oracle" is now "greedy-oracle": it picks, read by read, the replica that completes the read first given what the devices hold now, which is not an upper bound on tail latency',
    );
  if (name === 'linnos') return { kind: 'linnos', name, hedged: false };
  if (name === 'linnos+hl') return { kind: 'linnos', name, hedged: true };
  if (name === 'random') return { kind: 'random', name, probability: 0.05 };
  const random = /^random@(\d*\.?\d+)$/.exec(name);
  if (random) {
    const probability = Number(random[1]);
    if (probability > 1) throw usageError(`policy ${name}: probability must be in [0, 1]`);
    return { kind: 'random', name, probability };
  }
  const hedging = /^hedging(\d+(?:\.\d+)?)$/.exec(name);
  if (hedging) {
    const percentile = Number(hedging[1]);
    if (!(percentile > 0 && percentile < 100))
      throw usageError(`policy ${name}: percentile must be in (0, 100)`);
    return { kind: 'hedging', name, percentile };
  }
  throw usageError(
    `unknown policy "${name}" (expected baseline, random, random@P, hedgingNN, greedy-oracle, linnos, linnos+hl)`,
  );
}

export function parsePolicyList(text: string): PolicySpec[] {
  const specs = text
    .split(',')
    .filter((s) => s.trim() !== '')
    .map(parsePolicySpec);
  if (specs.length === 0) throw usageError('--policies must name at least one policy');
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) throw usageError(`policy ${s.name} is listed twice`);
    seen.add(s.name);
  }
  return specs;
}
