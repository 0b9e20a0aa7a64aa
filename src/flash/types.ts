/**
 * The device interface the replay engine drives. A simulated SSD computes a command's completion time
 * when it is submitted (FEMU's model: max(now, lun_free_at) + latency); state only changes on submit,
 * so replay is deterministic.
 */
export type SlowCause = 'none' | 'read' | 'program' | 'erase' | 'gc' | 'flush';
export const slowCauses: readonly SlowCause[] = ['none', 'read', 'program', 'erase', 'gc', 'flush'];

export interface SubmitResult {
  /** Virtual time in us at which the command completes. */
  completeUs: number;
  /** For a read: what it waited behind longest (the cause of its queueing delay), 'none' when it waited for nothing. */
  cause: SlowCause;
}

export interface Device {
  readonly name: string;
  /** Capacity in bytes; offsets are taken modulo this. */
  readonly capacityBytes: number;
  /** Submit a read or write at virtual time nowUs (non-decreasing across calls). */
  submit(read: boolean, offset: number, size: number, nowUs: number): SubmitResult;
  /** Completion time a read would have if submitted now, without changing any state (what the greedy oracle consults). */
  peekRead(offset: number, size: number, nowUs: number): number;
}
