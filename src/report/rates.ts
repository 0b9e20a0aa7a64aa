/**
 * The per-read rates of a policy run, computed once for every table, warning and report that shows them.
 */

/**
 * Extra device I/Os (hedged duplicates that reached a device) per application read: what hedging costs the
 * replicas. Undefined with no read.
 */
export function extraIosPerRead(extraIos: number, reads: number): number | undefined {
  return reads > 0 ? extraIos / reads : undefined;
}

/** Revokes per application read (a read revoked on two replicas counts twice). Undefined with no read. */
export function revokesPerRead(revokes: number, reads: number): number | undefined {
  return reads > 0 ? revokes / reads : undefined;
}
