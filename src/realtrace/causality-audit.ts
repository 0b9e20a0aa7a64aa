/**
 * A check that features are causal: a read's features may depend only on what had completed before its
 * submit. For a probe read p, every I/O not completed at p's submit (in flight then, p itself, and
 * everything submitted later) gets a new random latency — the in-flight ones still completing after p's
 * submit, so what had completed before it is unchanged. Then the features of every read submitted up to p
 * must come out exactly as before (those reads knew even less than p). Any difference is a leak: some
 * feature read a latency that was still in the future. The test suite runs it on every causal extractor,
 * on Heimdall's published features (which must fail it) and on a deliberately leaky extractor.
 */
import { Random } from '../random.js';
import { completedBefore } from './evaluation.js';
import type { FeatureSet } from './event-stream.js';
import { type IoTable, withLatencies } from './io-table.js';

export interface AuditOptions {
  /** Probe reads (default 6), drawn from the second half of the trace. */
  probes?: number;
  /** Default 1. */
  seed?: number;
  /** New latencies are drawn up to this many us past the earliest allowed (default 5000). */
  maxExtraUs?: number;
}

export interface Leak {
  probe: number;
  read: number;
  feature: string;
  before: number;
  after: number;
}

export interface AuditReport {
  probes: number;
  /** Feature vectors compared (reads at or before a probe, over all probes). */
  vectorsChecked: number;
  /** Vectors that changed (or appeared or vanished). */
  violations: number;
  /** The first few, for the message. */
  leaks: Leak[];
}

/** Feature sets of the reads at or before `last`, by I/O index. */
function byRead(set: FeatureSet, last: number): Map<number, Float64Array> {
  const out = new Map<number, Float64Array>();
  for (let r = 0; r < set.count; r++) {
    const io = set.rows[r]!;
    if (io > last) break;
    out.set(io, set.values.subarray(r * set.width, (r + 1) * set.width));
  }
  return out;
}

function reads(table: IoTable): number[] {
  const out: number[] = [];
  for (let i = 0; i < table.count; i++) if (table.read[i] === 1) out.push(i);
  return out;
}

/** Run `features` on the trace and on perturbed copies; see the module comment. */
export function auditCausality(
  table: IoTable,
  features: (table: IoTable) => FeatureSet,
  options: AuditOptions = {},
): AuditReport {
  const probes = options.probes ?? 6;
  const maxExtra = options.maxExtraUs ?? 5000;
  const random = new Random(options.seed ?? 1);
  const base = features(table);
  const readIos = reads(table);
  const candidates = readIos.filter((io) => io >= table.count / 2);
  const leaks: Leak[] = [];
  let violations = 0;
  let checked = 0;
  for (let k = 0; k < probes && candidates.length > 0; k++) {
    const p = candidates[random.int(candidates.length)]!;
    const latency = Float64Array.from(table.latencyUs);
    const submitP = table.submitUs[p]!;
    for (let j = 0; j < table.count; j++) {
      if (j < p && completedBefore(table, j, p)) continue;
      // Still unknown at p's submit: any latency, as long as an in-flight I/O stays in flight.
      const earliest = j < p ? submitP - table.submitUs[j]! + 1 : 0;
      latency[j] = earliest + random.int(maxExtra + 1);
    }
    const perturbed = features(withLatencies(table, latency));
    const before = byRead(base, p);
    const after = byRead(perturbed, p);
    const ios = new Set([...before.keys(), ...after.keys()]);
    for (const io of ios) {
      checked++;
      const a = before.get(io);
      const b = after.get(io);
      let leak: Leak | undefined;
      if (a === undefined || b === undefined) {
        leak = { probe: p, read: io, feature: '(vector present)', before: a ? 1 : 0, after: b ? 1 : 0 };
      } else {
        for (let f = 0; f < a.length; f++) {
          if (!Object.is(a[f], b[f])) {
            leak = { probe: p, read: io, feature: base.names[f] ?? String(f), before: a[f]!, after: b[f]! };
            break;
          }
        }
      }
      if (leak !== undefined) {
        violations++;
        if (leaks.length < 5) leaks.push(leak);
      }
    }
  }
  return { probes, vectorsChecked: checked, violations, leaks };
}
