/**
 * Where each application I/O stands on its replica chain, and the rules both engines follow on it: a
 * revoke moves the read one replica along the chain (counted); a hedge duplicates a read once, onto the
 * replica after the one serving it, unless the read was already served (counted); the first completion
 * serves the I/O, later ones are hedging losers. An engine names an I/O by its own number (a slot that is
 * reused, or a position in the workload) and calls `begin` when one is taken up.
 */
import type { ReplayResult } from './records.js';
import { hedgeReplica, replicaAfter } from './replicas.js';
import { grown } from './slots.js';

export class ReplicaChains {
  readonly #replicas: number;
  readonly #counts: Pick<ReplayResult, 'revokes' | 'hedgedReads'>;
  /** Index of the I/O in its home device's stream. */
  #index: Float64Array;
  #home: Int32Array;
  /** Revokes so far: the read's next try goes to home + attempt. */
  #attempt: Int32Array;
  /** Replica of the latest try submitted (a hedge duplicates onto the next one). */
  #serving: Int32Array;
  #served: Uint8Array;
  #hedged: Uint8Array;

  constructor(replicas: number, capacity: number, counts: Pick<ReplayResult, 'revokes' | 'hedgedReads'>) {
    this.#replicas = replicas;
    this.#counts = counts;
    this.#index = new Float64Array(capacity);
    this.#home = new Int32Array(capacity);
    this.#attempt = new Int32Array(capacity);
    this.#serving = new Int32Array(capacity);
    this.#served = new Uint8Array(capacity);
    this.#hedged = new Uint8Array(capacity);
  }

  /** Room for I/O numbers below `capacity` (what was there is kept). */
  grow(capacity: number): void {
    this.#index = grown(this.#index, capacity);
    this.#home = grown(this.#home, capacity);
    this.#attempt = grown(this.#attempt, capacity);
    this.#serving = grown(this.#serving, capacity);
    this.#served = grown(this.#served, capacity);
    this.#hedged = grown(this.#hedged, capacity);
  }

  /** An I/O is taken up: first try on its home, not served, not hedged. */
  begin(io: number, index: number, home: number): void {
    this.#index[io] = index;
    this.#home[io] = home;
    this.#attempt[io] = 0;
    this.#served[io] = 0;
    this.#hedged[io] = 0;
  }

  index(io: number): number {
    return this.#index[io]!;
  }

  home(io: number): number {
    return this.#home[io]!;
  }

  /** Revokes so far. */
  attempt(io: number): number {
    return this.#attempt[io]!;
  }

  /** The replica the read's next try goes to. */
  target(io: number): number {
    return replicaAfter(this.#home[io]!, this.#attempt[io]!, this.#replicas);
  }

  isServed(io: number): boolean {
    return this.#served[io] === 1;
  }

  isHedged(io: number): boolean {
    return this.#hedged[io] === 1;
  }

  /** The read's current try was revoked: its next try goes one replica along the chain. */
  revoke(io: number): void {
    this.#counts.revokes++;
    this.#attempt[io]!++;
  }

  /** A try of the I/O was submitted to `device` (a hedge will duplicate onto the replica after it). */
  submittedTo(io: number, device: number): void {
    this.#serving[io] = device;
  }

  /** The hedge delay has passed: the replica to duplicate the read onto, or -1 if it was served or hedged. */
  hedge(io: number): number {
    if (this.#served[io] === 1 || this.#hedged[io] === 1) return -1;
    this.#hedged[io] = 1;
    this.#counts.hedgedReads++;
    return hedgeReplica(this.#serving[io]!, this.#replicas);
  }

  /** A try of the I/O completed: true for the first completion (it serves the I/O), false after. */
  serve(io: number): boolean {
    if (this.#served[io] === 1) return false;
    this.#served[io] = 1;
    return true;
  }
}
