/**
 * Where a replay's per-I/O results go. The simulated engine (engine.ts) and the real-device engine
 * (src/realdev) report through the same options and the same function, so a latency means the same thing in
 * both: from the I/O's arrival to its first completion on any replica.
 */
import type { IoRecord } from './types.js';

/** Where latencies go; a LatencyRecorder from src/report satisfies it. */
export interface LatencySink {
  record(latencyUs: number): void;
}

export interface ReplayOutputs {
  /** Called for every I/O when it completes, in completion order. */
  onRecord?: (record: IoRecord) => void;
  readLatency?: LatencySink;
  readLatencyByDevice?: readonly LatencySink[];
  writeLatency?: LatencySink;
}

/**
 * Record an application I/O's latency at its first completion; returns whether it was a read served by a
 * replica other than its home (a failover).
 */
export function recordLatency(
  outputs: ReplayOutputs,
  read: boolean,
  home: number,
  servedBy: number,
  latencyUs: number,
): boolean {
  if (!read) {
    outputs.writeLatency?.record(latencyUs);
    return false;
  }
  outputs.readLatency?.record(latencyUs);
  outputs.readLatencyByDevice?.[home]?.record(latencyUs);
  return servedBy !== home;
}
