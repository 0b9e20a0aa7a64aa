/**
 * How an I/O finds its replicas, the same in every engine: its home is its trace device modulo the
 * replicas; failover walks the chain from home (after k revokes a read tries home + k); a hedge duplicates
 * a read onto the replica after the one serving it. The last replica is never revoked (Admission.asks).
 */
import type { AdmissionPolicy } from '../policy.js';

/** Cost of revoking a read and re-issuing it on the next replica when none is given, us (LinnOS: a few us). */
export const DEFAULT_REVOKE_COST_US = 5;

/** An I/O's home replica: its trace device modulo the replicas (a negative device number wraps too). */
export function homeReplica(device: number, replicas: number): number {
  return ((device % replicas) + replicas) % replicas;
}

/** The replica a read tries after `attempt` revokes. */
export function replicaAfter(home: number, attempt: number, replicas: number): number {
  return (home + attempt) % replicas;
}

/** The replica a hedged duplicate goes to: the one after the replica serving the read. */
export function hedgeReplica(serving: number, replicas: number): number {
  return (serving + 1) % replicas;
}

/** The policy's hedge delay, us, or undefined when it does not hedge or there is no other replica. */
export function hedgeDelayUs(policy: AdmissionPolicy, replicas: number): number | undefined {
  const delay = policy.hedgeAfterUs;
  return delay !== undefined && Number.isFinite(delay) && replicas > 1 ? delay : undefined;
}
