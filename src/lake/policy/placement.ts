import type { BackendKind } from '../backends/types.js';
import { INLINE, UTILISATION_THRESHOLD } from './constants.js';

/** One backend as a placement function sees it when a batch closes. */
export interface BackendState {
  readonly name: string;
  readonly kind: BackendKind;
  /** Whether lakeD can run this model there now (detected, and calibrated for the model). */
  readonly usable: boolean;
  /** Why not, when not usable. */
  readonly reason?: string;
  /** Its calibrated crossover for the model: the smallest batch from which it beats inline (null: never). */
  readonly crossover: number | null;
  /** Calibrated microseconds for this batch there (undefined when not usable). */
  readonly batchUs: number | undefined;
  /** Busy fraction of its lakeD caused by other clients, over the last sampling period. */
  readonly utilisation: number;
  /** Set when its device faulted in lakeD (then not usable; `reason` says why). */
  readonly faulted?: true;
}

/** What a placement function decides from (and all a user policy module receives). */
export interface PlacementInput {
  /** Reads in the closing batch. */
  readonly batchSize: number;
  /** The model the batch runs ('nn', 'nn+1', 'nn+2'). */
  readonly model: string;
  /** Mean time between latency-critical reads on the batch's device lately, us (Infinity: unknown). */
  readonly interArrivalUs: number;
  /** lakeD's busy fraction caused by other clients (the highest over usable backends), 0..1. */
  readonly utilisation: number;
  /** Calibrated microseconds for this batch inline. */
  readonly inlineUs: number;
  readonly backends: readonly BackendState[];
}

/** Returns 'inline' or the name of a usable backend. */
export type PlacementFunction = (input: PlacementInput) => string;

/**
 * The default placement (documented in docs/lake-policy.md): among the usable backends whose calibrated
 * crossover the batch reaches and whose utilisation by other clients is at most 70% (LAKE's threshold),
 * the one with the lowest calibrated time for this batch; inline when there is none. So batches below the
 * crossover run inline, batches at or above it run on lakeD, and a backend that others keep busy is skipped.
 */
export function defaultPlacement(input: PlacementInput): string {
  let best = INLINE;
  let bestUs = Number.POSITIVE_INFINITY;
  for (const backend of input.backends) {
    if (!backend.usable || backend.crossover === null || input.batchSize < backend.crossover) continue;
    if (backend.utilisation > UTILISATION_THRESHOLD) continue;
    const us = backend.batchUs ?? Number.POSITIVE_INFINITY;
    if (best === INLINE || us < bestUs) {
      best = backend.name;
      bestUs = us;
    }
  }
  return best;
}

/** Why a batch went where it went, for the placement statistics. */
export type PlacementReason =
  | 'crossover' // the batch reached a backend's crossover
  | 'below-crossover' // no backend wins at this size
  | 'utilisation' // a backend would win but others keep it busy
  | 'slowdown' // a backend would win by the utilisation readings, but its own recent batches ran slowed
  | 'no-backend' // no backend is usable for the model
  | 'backend-fault' // a backend would win at this size, but its device faulted in lakeD
  | 'user' // a user policy chose
  | 'user-fallback' // a user policy failed; the default chose
  | 'forced'; // the caller fixed the placement

/** Why the default placement chose what it chose. */
export function defaultReason(input: PlacementInput, chosen: string): PlacementReason {
  if (chosen !== INLINE) return 'crossover';
  const reaches = (b: BackendState): boolean => b.crossover !== null && input.batchSize >= b.crossover;
  const usable = input.backends.filter((b) => b.usable);
  if (usable.some(reaches)) return 'utilisation';
  // A faulted GPU whose crossover the batch reaches is why it stays inline, not the batch's size.
  if (input.backends.some((b) => b.faulted === true && reaches(b))) return 'backend-fault';
  return usable.length === 0 ? 'no-backend' : 'below-crossover';
}

/**
 * A placement function from outside (a user policy), checked on every call. `choose` returns whatever the
 * policy returned, or throws what it threw; a policy isolated on its own thread (loadUserPolicy) hands
 * back a value that cannot cross threads as a DescribedValue, and throws PolicyStoppedError when a call
 * overran its budget.
 */
export interface GuardedPlacement {
  readonly name: string;
  choose(input: PlacementInput): unknown;
  /** Why the policy no longer runs (it overran its budget, loading or in a call); undefined while it runs. */
  readonly stopped?: string | undefined;
  /** Ends the policy's thread, if it has one. */
  close?(): Promise<void>;
}

/** What a policy on another thread returned, when it was not a string: described there. */
export class DescribedValue {
  readonly description: string;
  constructor(description: string) {
    this.description = description;
  }
}

/** The policy was stopped (it overran its budget); the message says when and why. */
export class PolicyStoppedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyStoppedError';
  }
}

export interface PlacementFault {
  readonly policy: string;
  readonly message: string;
}

/**
 * Runs a user placement function and validates what it returns: 'inline' or the name of a usable backend.
 * A throw or any other value is a fault: the default decides instead, the fault is counted, and its first
 * message is kept (and handed to `onFault` once) so the user learns what went wrong. A policy that was
 * stopped (it overran its time budget) is not asked again: the default decides every later batch, and
 * the stop is reported through `onFault` too, even when it came after another fault.
 */
export class PlacementGuard {
  readonly policy: GuardedPlacement;
  /** Calls the policy answered (well or badly). */
  calls = 0;
  /** Calls whose answer was a fault (a throw, a bad value, an overrun). */
  faults = 0;
  /** Batches decided by the default because the policy had been stopped. */
  afterStop = 0;
  firstFault: string | undefined;
  /** Why the policy was stopped, when it was. */
  stopped: string | undefined;
  readonly #onFault: ((fault: PlacementFault) => void) | undefined;

  constructor(policy: GuardedPlacement, onFault?: (fault: PlacementFault) => void) {
    this.policy = policy;
    this.#onFault = onFault;
    if (policy.stopped !== undefined) this.#stop(policy.stopped);
  }

  /** The user's choice, or the default's after a fault; `faulted` says which. */
  choose(input: PlacementInput): { placement: string; faulted: boolean } {
    if (this.stopped !== undefined) {
      this.afterStop++;
      return { placement: defaultPlacement(input), faulted: true };
    }
    let value: unknown;
    try {
      value = this.policy.choose(input);
    } catch (error) {
      if (error instanceof PolicyStoppedError) {
        this.faults++;
        this.#stop(error.message);
        return { placement: defaultPlacement(input), faulted: true };
      }
      this.calls++;
      return this.#fault(input, `threw ${error instanceof Error ? error.message : String(error)}`, '');
    }
    this.calls++;
    if (value === INLINE) return { placement: INLINE, faulted: false };
    const backend = typeof value === 'string' ? input.backends.find((b) => b.name === value) : undefined;
    if (backend?.usable === true) return { placement: backend.name, faulted: false };
    const usable = input.backends.filter((b) => b.usable).map((b) => `'${b.name}'`);
    const expected = [`'${INLINE}'`, ...usable].join(' or ');
    const why =
      backend === undefined ? '' : ` (${backend.name} is not usable: ${backend.reason ?? 'not calibrated'})`;
    return this.#fault(input, `returned ${describePolicyValue(value)}${why}`, `; expected ${expected}`);
  }

  #fault(input: PlacementInput, what: string, expected: string): { placement: string; faulted: boolean } {
    this.faults++;
    if (this.firstFault === undefined) {
      this.firstFault = `policy ${this.policy.name} ${what} for a batch of ${input.batchSize} (${input.model})${expected}; the default placement decides instead`;
      this.#onFault?.({ policy: this.policy.name, message: this.firstFault });
    }
    return { placement: defaultPlacement(input), faulted: true };
  }

  #stop(message: string): void {
    this.stopped = message;
    this.firstFault ??= message;
    this.#onFault?.({ policy: this.policy.name, message });
  }
}

/** How a policy's return value reads in a fault message. */
export function describePolicyValue(value: unknown): string {
  if (value instanceof DescribedValue) return value.description;
  if (typeof value === 'string') return `'${value}'`;
  if (value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  if (typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function')
    return 'a promise (placement must be synchronous)';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
