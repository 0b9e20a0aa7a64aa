import type { DeviceView } from './device-state.js';

/** A latency-critical read about to be submitted to one replica. Reused between calls: copy what you keep. */
export interface ReadTry {
  /** Index of the I/O in its home device's stream. */
  index: number;
  /** Home device of the I/O. */
  home: number;
  /** Device this try would go to. */
  device: number;
  offset: number;
  size: number;
  /** Virtual time now, us. */
  nowUs: number;
  /** 0 for the first try; k after k revokes. */
  attempt: number;
}

/**
 * Decisions that take virtual time: batching (a read waits for others) and inference cost. An engine that
 * offers them (the virtual-clock replay engine does) puts all three on its ArrayContext; `timedDecisions`
 * tells a policy whether it may use them.
 */
export interface TimedDecisions {
  /**
   * Called during `admit`: holds the read try being admitted. The array ignores admit's return value and
   * parks the try until `release`. Returns the ticket to release it with. Throws outside `admit`.
   */
  hold(): number;
  /**
   * Acts on a held try at virtual time `atUs` (the current time if earlier): revoke it (fail over to the next
   * replica after the revoke cost) or submit it; its latency includes the wait. Each ticket exactly once; a
   * try still held when the replay finishes is submitted and counted as a policy fault.
   */
  release(ticket: number, revoke: boolean, atUs: number): void;
  /** Calls `fire` at virtual time `atUs` (the current time if earlier), after completions at that time. */
  wakeAt(atUs: number, fire: (nowUs: number) => void): void;
}

/** The context with its timed decisions, or undefined when its engine does not offer them. */
export function timedDecisions(context: ArrayContext): (ArrayContext & TimedDecisions) | undefined {
  return context.hold !== undefined && context.release !== undefined && context.wakeAt !== undefined
    ? (context as ArrayContext & TimedDecisions)
    : undefined;
}

/** What a policy may consult: every device's live view, and (for the greedy oracle only) the devices' queues. */
export interface ArrayContext extends Partial<TimedDecisions> {
  readonly devices: readonly DeviceView[];
  readonly revokeCostUs: number;
  /** Completion time a read would get on `device` if submitted at `atUs` (never earlier than the current time); changes nothing. */
  peekReadUs(device: number, offset: number, size: number, atUs: number): number;
  /**
   * Called during `admit`: the decision on the try being admitted took `us` of inference, so the try waits
   * that long before it is submitted or revoked (its latency includes it). Calls add up. Engines whose clock
   * runs the inference itself (real devices) ignore it: the time was spent there already. Absent on an
   * engine without decisions that take time; a policy calls it as `context.charge?.(us)`.
   */
  charge?(us: number): void;
}

/** A completed read, told to policies that learn or measure online accuracy. */
export interface CompletedReadInfo {
  device: number;
  latencyUs: number;
  /** What the policy decided for this try (true = it predicted slow but the try was the last one and went anyway). */
  completeUs: number;
}

/**
 * One admission-policy interface for simulated and real devices. The array calls `admit` for every
 * latency-critical read try that is not on the last replica (the last try goes without the LC flag and is
 * never revoked); `true` revokes the try and the array fails it over to the next replica after the revoke
 * cost. Hedging is the array's job too: a policy only names the delay.
 */
export interface AdmissionPolicy {
  readonly name: string;
  /** Duplicate a read to the next replica when it has not completed this many us after submission. */
  readonly hedgeAfterUs?: number;
  /** Called once before a replay with the array it will run on. */
  start?(context: ArrayContext): void;
  /** true = revoke (predicted slow). Must not throw; the array treats a throw as submit. */
  admit?(read: ReadTry, context: ArrayContext): boolean;
  /**
   * Told of each completed device read (including hedging losers), for online learning: `home` and `index`
   * name the I/O as its ReadTry did (an I/O tries each device at most once, so with `device` they name the
   * try whose admit a policy saw). Optional so that an engine without them still type-checks; both engines
   * pass them, and a policy that learns per try ignores a completion without them.
   */
  onReadComplete?(device: number, latencyUs: number, completeUs: number, home?: number, index?: number): void;
}
