/**
 * What every engine reports the same way: the ReplayResult counters, and an application I/O at its first
 * completion (its latency in the sinks, its IoRecord to onRecord).
 */
import { type ReplayOutputs, recordLatency } from '../outputs.js';
import type { IoRecord } from '../types.js';

export interface ReplayResult {
  ios: number;
  reads: number;
  writes: number;
  /** Device I/Os beyond one per application I/O (hedged duplicates). */
  extraIos: number;
  /** Read tries revoked by the policy. */
  revokes: number;
  /** Reads that were hedged. */
  hedgedReads: number;
  /** Reads served by a replica other than their home. */
  failedOver: number;
  /** Arrivals earlier than the previous one (trace out of order), replayed at the current time. */
  reorderedArrivals: number;
  /** Times the policy threw (each try was submitted), or left a held try unreleased at the end. */
  policyFaults: number;
  /** The first policy fault in words (policyFaultMessage), absent when there was none. */
  firstPolicyFault?: string;
  /** Read tries the policy held (ArrayContext.hold) and released later: batching, inference time. */
  heldTries?: number;
  /** Read tries whose verdict waited for the inference time the policy charged, and that time summed, us. */
  chargedTries?: number;
  chargedUs?: number;
  /** Time of the last completion since the replay's start, us. */
  endUs: number;
}

/** A result with every counter at 0. */
export function emptyReplayResult(): ReplayResult {
  return {
    ios: 0,
    reads: 0,
    writes: 0,
    extraIos: 0,
    revokes: 0,
    hedgedReads: 0,
    failedOver: 0,
    reorderedArrivals: 0,
    policyFaults: 0,
    heldTries: 0,
    endUs: 0,
  };
}

/**
 * An application I/O at its first completion and the try that served it, times in us on the replay's
 * clock. Engines fill one and reuse it (no allocation unless onRecord wants an IoRecord).
 */
export interface ServedIo extends Omit<IoRecord, 'device' | 'arrivalMs' | 'submitMs'> {
  /** Home device (the record's `device`). */
  home: number;
  /** Scheduled (arrival) time, us (the record's `arrivalMs`; its `submitMs` comes from `submitUs`). */
  arrivalUs: number;
}

export function emptyServedIo(): ServedIo {
  return {
    index: 0,
    home: 0,
    arrivalUs: 0,
    latencyUs: 0,
    read: false,
    size: 0,
    offset: 0,
    ok: 1,
    servedBy: 0,
    revokes: 0,
    pendingAtIssue: 0,
    submitUs: 0,
    completeUs: 0,
    hedged: false,
    submitSeq: 0,
  };
}

/** The IoRecord of a served I/O. */
export function ioRecordOf(served: ServedIo): IoRecord {
  return {
    index: served.index,
    device: served.home,
    arrivalMs: served.arrivalUs / 1000,
    latencyUs: served.latencyUs,
    read: served.read,
    size: served.size,
    offset: served.offset,
    submitMs: served.submitUs / 1000,
    ok: served.ok,
    servedBy: served.servedBy,
    revokes: served.revokes,
    pendingAtIssue: served.pendingAtIssue,
    submitUs: served.submitUs,
    completeUs: served.completeUs,
    hedged: served.hedged,
    submitSeq: served.submitSeq,
  };
}

/**
 * Reports an I/O at its first completion: its latency to the sinks, its record to onRecord. Returns whether
 * it was a read served by a replica other than its home (a failover).
 */
export function reportServed(outputs: ReplayOutputs, served: ServedIo): boolean {
  const failedOver = recordLatency(outputs, served.read, served.home, served.servedBy, served.latencyUs);
  if (outputs.onRecord !== undefined) outputs.onRecord(ioRecordOf(served));
  return failedOver;
}
