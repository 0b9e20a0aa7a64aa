/**
 * The admission bookkeeping every engine shares: offering a read try to the policy (admit, with the
 * rollback of a hold when the policy throws), decisions that take time (hold, release, wakeAt: batching,
 * inference), policy faults, and the end-of-run handling of tries a policy never released.
 *
 * A try is named by a ticket: the engine's slot number for what it parks while the policy decides (the
 * virtual-clock engine parks application I/Os, the real-clock engine device tries). Times handed to and
 * from the policy are on the policy's clock (us since the replay's start); the engine's scheduler turns
 * them into events on its own clock.
 */
import { escapeInput, toError } from '../../errors.js';
import type { DeviceView } from '../device-state.js';
import type { AdmissionPolicy, ArrayContext, ReadTry, TimedDecisions } from '../policy.js';
import { grown } from './slots.js';

/** Where the engine puts what the policy schedules; each call comes back as takeRelease / fireTimer. */
export interface DecisionScheduler {
  /** A released try acts at `atUs` (the current time if earlier). */
  release(ticket: number, atUs: number): void;
  /** Policy timer `id` fires at `atUs` (the current time if earlier). */
  timer(id: number, atUs: number): void;
}

/** The counters admission keeps (a ReplayResult's). */
export interface AdmissionCounts {
  policyFaults: number;
  /** The first fault, said in words (policyFaultMessage): later ones are only counted. */
  firstPolicyFault?: string;
  heldTries?: number;
  /** Tries whose verdict waited for the inference time the policy charged (ArrayContext.charge), and that time, us. */
  chargedTries?: number;
  chargedUs?: number;
}

export interface AdmissionOptions {
  policy: AdmissionPolicy;
  /** Whether reads carry the latency-critical flag (only LC reads are offered to the policy). */
  lcReads: boolean;
  replicas: number;
  revokeCostUs: number;
  devices: readonly DeviceView[];
  peekReadUs: ArrayContext['peekReadUs'];
  scheduler: DecisionScheduler;
  counts: AdmissionCounts;
  /**
   * Whether the inference time a policy charges delays the try's verdict (ArrayContext.charge): on a
   * virtual clock, where the inference itself takes no time. A real clock already spent it: false.
   */
  chargesInference?: boolean;
}

/** The policy's verdict on a try. */
export const SUBMIT = 0;
export const REVOKE = 1;
/** Held: the engine parks the try until takeRelease gives its verdict. */
export const HELD = 2;
export type Verdict = typeof SUBMIT | typeof REVOKE | typeof HELD;

/** Where a policy fault happened: in admit(), in a wakeAt() callback, or a held try never released. */
export type PolicyFaultSite = 'admit' | 'timer' | 'unreleased';

/**
 * A policy fault in words, naming the policy and what it threw (quoted as input: a user's policy may throw
 * anything). Both engines keep the first one, as they keep the first I/O error.
 */
export function policyFaultMessage(policy: string, site: PolicyFaultSite, thrown?: unknown): string {
  if (site === 'unreleased')
    return `policy ${policy} held a read try and never released it (submitted at the end of the run)`;
  const where = site === 'admit' ? 'admit()' : 'a wakeAt() callback';
  return `policy ${policy} threw in ${where}: ${escapeInput(toError(thrown).message)} (the read was submitted)`;
}

// A ticket's state.
const FREE = 0;
const WAITING = 1; // held, waiting for release
const RELEASED = 2; // released: its event is scheduled

export class Admission {
  /** What the policy sees (with its timed decisions). */
  readonly context: ArrayContext & TimedDecisions;
  readonly #admit: AdmissionPolicy['admit'];
  readonly #lcReads: boolean;
  readonly #replicas: number;
  readonly #scheduler: DecisionScheduler;
  readonly #counts: AdmissionCounts;
  readonly #policyName: string;
  readonly #readTry: ReadTry = { index: 0, home: 0, device: 0, offset: 0, size: 0, nowUs: 0, attempt: 0 };
  #state = new Uint8Array(0);
  #revoke = new Uint8Array(0);
  #admitting = -1;
  #heldDuringAdmit = false;
  /** Inference time charged during the current admit, us. */
  #charged = 0;
  #waiting = 0;
  readonly #timers: (((nowUs: number) => void) | undefined)[] = [];
  readonly #freeTimers: number[] = [];

  constructor(options: AdmissionOptions) {
    this.#admit = options.policy.admit?.bind(options.policy);
    this.#lcReads = options.lcReads;
    this.#replicas = options.replicas;
    this.#scheduler = options.scheduler;
    this.#counts = options.counts;
    this.#policyName = options.policy.name;
    this.context = {
      devices: options.devices,
      revokeCostUs: options.revokeCostUs,
      peekReadUs: options.peekReadUs,
      hold: () => this.#hold(),
      release: (ticket, revoke, atUs) => this.#release(ticket, revoke, atUs),
      wakeAt: (atUs, fire) => this.#wakeAt(atUs, fire),
      ...(options.chargesInference === true ? { charge: (us: number) => this.#charge(us) } : {}),
    };
  }

  /** Held tries not yet released. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Whether a read try after `attempt` revokes goes to the policy: an LC read not on the last replica. */
  asks(attempt: number): boolean {
    return this.#admit !== undefined && this.#lcReads && attempt < this.#replicas - 1;
  }

  /**
   * Offers a read try to the policy. A throw counts as a policy fault and submits at once (a hold is taken
   * back, a charge dropped). A verdict the policy charged inference time for is HELD: it acts that much
   * later through takeRelease, as a release by the policy would (a try the policy held itself waits for its
   * release; what it charged is the policy's to add to the release time).
   */
  ask(
    ticket: number,
    index: number,
    home: number,
    device: number,
    offset: number,
    size: number,
    nowUs: number,
    attempt: number,
  ): Verdict {
    const read = this.#readTry;
    read.index = index;
    read.home = home;
    read.device = device;
    read.offset = offset;
    read.size = size;
    read.nowUs = nowUs;
    read.attempt = attempt;
    if (ticket >= this.#state.length) this.#grow(ticket);
    this.#admitting = ticket;
    this.#heldDuringAdmit = false;
    this.#charged = 0;
    let revoke = false;
    try {
      revoke = this.#admit!(read, this.context);
    } catch (thrown) {
      this.#fault('admit', thrown);
      revoke = false;
      this.#charged = 0;
      if (this.#heldDuringAdmit && this.#state[ticket] === WAITING) {
        // A policy that held the try and then threw will not release it: take it back.
        this.#state[ticket] = FREE;
        this.#waiting--;
        this.#counts.heldTries = (this.#counts.heldTries ?? 1) - 1;
        this.#heldDuringAdmit = false;
      }
    }
    this.#admitting = -1;
    if (this.#heldDuringAdmit) return HELD;
    const charged = this.#charged;
    if (charged > 0) {
      this.#state[ticket] = RELEASED;
      this.#revoke[ticket] = revoke ? 1 : 0;
      const counts = this.#counts;
      counts.chargedTries = (counts.chargedTries ?? 0) + 1;
      counts.chargedUs = (counts.chargedUs ?? 0) + charged;
      this.#scheduler.release(ticket, nowUs + charged);
      return HELD;
    }
    return revoke ? REVOKE : SUBMIT;
  }

  /** A released try's scheduled time has come: its verdict (true = revoke); the ticket is free again. */
  takeRelease(ticket: number): boolean {
    this.#state[ticket] = FREE;
    return this.#revoke[ticket] === 1;
  }

  /** A policy timer's time has come: calls it (a throw counts as a policy fault). */
  fireTimer(id: number, nowUs: number): void {
    const fire = this.#timers[id]!;
    this.#timers[id] = undefined;
    this.#freeTimers.push(id);
    try {
      fire(nowUs);
    } catch (thrown) {
      this.#fault('timer', thrown);
    }
  }

  /**
   * At the end of a run: tries the policy never released are submitted (`submit`, in ticket order) rather
   * than lose their reads, each counted as a policy fault.
   */
  submitUnreleased(submit: (ticket: number) => void): void {
    for (let ticket = 0; ticket < this.#state.length && this.#waiting > 0; ticket++) {
      if (this.#state[ticket] !== WAITING) continue;
      this.#fault('unreleased');
      this.#waiting--;
      this.#state[ticket] = FREE;
      submit(ticket);
    }
  }

  #fault(site: PolicyFaultSite, thrown?: unknown): void {
    this.#counts.policyFaults++;
    this.#counts.firstPolicyFault ??= policyFaultMessage(this.#policyName, site, thrown);
  }

  #grow(ticket: number): void {
    let length = Math.max(64, this.#state.length * 2);
    while (length <= ticket) length *= 2;
    this.#state = grown(this.#state, length);
    this.#revoke = grown(this.#revoke, length);
  }

  #hold(): number {
    const ticket = this.#admitting;
    if (ticket < 0) throw new RangeError('hold() may only be called from admit()');
    if (!this.#heldDuringAdmit) {
      this.#heldDuringAdmit = true;
      this.#state[ticket] = WAITING;
      this.#waiting++;
      this.#counts.heldTries = (this.#counts.heldTries ?? 0) + 1;
    }
    return ticket;
  }

  #charge(us: number): void {
    if (this.#admitting < 0) throw new RangeError('charge() may only be called from admit()');
    if (!(Number.isFinite(us) && us >= 0)) throw new RangeError(`charge(${us}): not a time in us`);
    this.#charged += us;
  }

  #release(ticket: number, revoke: boolean, atUs: number): void {
    if (!(ticket >= 0 && ticket < this.#state.length) || this.#state[ticket] !== WAITING)
      throw new RangeError(`release(${ticket}): no read try is held with this ticket`);
    this.#state[ticket] = RELEASED;
    this.#revoke[ticket] = revoke ? 1 : 0;
    this.#waiting--;
    this.#scheduler.release(ticket, atUs);
  }

  #wakeAt(atUs: number, fire: (nowUs: number) => void): void {
    const id = this.#freeTimers.pop() ?? this.#timers.length;
    this.#timers[id] = fire;
    this.#scheduler.timer(id, atUs);
  }
}
