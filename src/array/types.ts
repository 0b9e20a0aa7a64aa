/**
 * One I/O as the replay engine reports it: the LinnOS replayer's 9 columns plus which replica served it,
 * how many times it was revoked, and the exact virtual times needed to rebuild device state offline.
 */
export interface IoRecord {
  /** Index of the I/O in its device's stream. */
  index: number;
  /** Home device (the replica the I/O was first sent to). */
  device: number;
  /** Scheduled (arrival) time, ms. */
  arrivalMs: number;
  /** Latency the application saw, us: from arrival to the first completion (revoke costs included). */
  latencyUs: number;
  read: boolean;
  size: number;
  offset: number;
  /** Submission time of the try that served it, ms. */
  submitMs: number;
  /** 1 = ok (the LinnOS replayer's return state). */
  ok: 1 | 0;
  /** Device that served it. */
  servedBy: number;
  /** Times it was revoked before being submitted. */
  revokes: number;
  /** Pending 4 KiB pages on the serving device at the serving try's issue, including itself. */
  pendingAtIssue: number;
  /** Virtual submit time of the serving try, us (exact, for offline replay of device state). */
  submitUs: number;
  /** Virtual completion time of the serving try, us. */
  completeUs: number;
  /** Whether a hedged duplicate was issued for it. */
  hedged: boolean;
  /** Global submission sequence number of the serving try (orders submits at equal virtual times). */
  submitSeq: number;
}
