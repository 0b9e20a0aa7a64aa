/**
 * What the admission path knows about one device at any instant: pending 4 KiB pages (reads + writes in
 * flight) and a ring of the most recent completed reads with their pending-at-issue and latency.
 * The array keeps one per device and updates it on submit and completion; offline feature extraction
 * replays recorded submits and completions through the same class, so online and offline features are
 * computed from one implementation.
 */

/** LinnOS counts pending I/O in 4 KiB pages: floor((bytes/512 + 7) / 8). */
export function pagesOf(bytes: number): number {
  return Math.floor((Math.floor(bytes / 512) + 7) / 8);
}

/** Read-only view handed to admission policies and feature code. */
export interface DeviceView {
  readonly device: number;
  /** Pending 4 KiB pages now (reads + writes submitted and not yet completed, queued ones included). */
  readonly pendingPages: number;
  /** Number of I/Os submitted to the device and not yet completed (queued ones included). */
  readonly inFlight: number;
  /** Reads completed so far on this device (monotonic). */
  readonly completedReads: number;
  /** Pending pages at issue (including itself) of the k-th most recent completed read; k = 0 is the newest. */
  recentPendingAtIssue(k: number): number;
  /** Latency in us of the k-th most recent completed read; k = 0 is the newest. */
  recentLatencyUs(k: number): number;
  /** Completion time in us of the k-th most recent completed read. */
  recentCompleteUs(k: number): number;
}

export const RECENT_READS = 16;

export class DeviceState implements DeviceView {
  readonly device: number;
  pendingPages = 0;
  inFlight = 0;
  completedReads = 0;
  readonly #pend = new Float64Array(RECENT_READS);
  readonly #lat = new Float64Array(RECENT_READS);
  readonly #done = new Float64Array(RECENT_READS);

  constructor(device: number) {
    this.device = device;
  }

  /** An I/O of `bytes` is submitted; returns the pending pages at its issue, including itself. */
  submit(bytes: number): number {
    this.pendingPages += pagesOf(bytes);
    this.inFlight++;
    return this.pendingPages;
  }

  /** A submitted I/O is withdrawn before the device served it (a queued try whose read completed elsewhere). */
  withdraw(bytes: number): void {
    this.pendingPages -= pagesOf(bytes);
    this.inFlight--;
  }

  /** An I/O completes. For reads, pendingAtIssue is what submit() returned. */
  complete(
    read: boolean,
    bytes: number,
    pendingAtIssue: number,
    latencyUs: number,
    completeUs: number,
  ): void {
    this.pendingPages -= pagesOf(bytes);
    this.inFlight--;
    if (read) {
      const slot = this.completedReads % RECENT_READS;
      this.#pend[slot] = pendingAtIssue;
      this.#lat[slot] = latencyUs;
      this.#done[slot] = completeUs;
      this.completedReads++;
    }
  }

  #slot(k: number): number {
    return (this.completedReads - 1 - k + RECENT_READS * 4) % RECENT_READS;
  }

  recentPendingAtIssue(k: number): number {
    return k < this.completedReads && k < RECENT_READS ? this.#pend[this.#slot(k)]! : 0;
  }

  recentLatencyUs(k: number): number {
    return k < this.completedReads && k < RECENT_READS ? this.#lat[this.#slot(k)]! : 0;
  }

  recentCompleteUs(k: number): number {
    return k < this.completedReads && k < RECENT_READS ? this.#done[this.#slot(k)]! : 0;
  }
}
