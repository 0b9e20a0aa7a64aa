/**
 * The completions of a backend whose I/Os finish as event-loop callbacks (libuv.ts here, the Ceph backend
 * in src/ceph): each callback pushes [slot, result, seen us]; drain hands them to the engine through the
 * backend's `completions` array; a wait with none in sleeps on a timer or an immediate and is woken early
 * by the next push.
 */

/** Fields per completion: slot, result (bytes, or a negative errno), the clock when seen (us). */
export const COMPLETION_FIELDS = 3;

export class CallbackCompletions {
  /** The array the engine reads after a poll or wait (IoBackend.completions). */
  readonly completions: Float64Array;
  #done: number[] = [];
  #wake: (() => void) | undefined;

  constructor(maxInFlight: number) {
    this.completions = new Float64Array(Math.max(64, maxInFlight * 2) * COMPLETION_FIELDS);
  }

  /** One I/O done: queued for the next drain, and a pending sleep woken. */
  push(slot: number, result: number, seenUs: number): void {
    this.#done.push(slot, result, seenUs);
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#wake = undefined;
      wake();
    }
  }

  /** Moves as many queued completions as fit into `completions`; returns how many. */
  drain(): number {
    const done = this.#done;
    const n = Math.min(done.length / COMPLETION_FIELDS, this.completions.length / COMPLETION_FIELDS);
    if (n === 0) return 0;
    for (let i = 0; i < n * COMPLETION_FIELDS; i++) this.completions[i] = done[i]!;
    this.#done = done.slice(n * COMPLETION_FIELDS);
    return n;
  }

  /**
   * Sleeps until the next push or for `leftUs`: on a timer that fires `earlyUs` before the end when
   * leftUs > timerWaitUs (Node's timers count whole ms), else for one turn of the event loop. Resolves
   * with `take()` called when it wakes (the backend's drain, which also counts what is no longer in flight).
   */
  sleep(leftUs: number, timerWaitUs: number, earlyUs: number, take: () => number): Promise<number> {
    return new Promise<number>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let immediate: NodeJS.Immediate | undefined;
      this.#wake = () => {
        if (timer !== undefined) clearTimeout(timer);
        if (immediate !== undefined) clearImmediate(immediate);
        resolve(take());
      };
      const fire = (): void => {
        this.#wake = undefined;
        resolve(take());
      };
      if (leftUs > timerWaitUs)
        timer = setTimeout(fire, Math.max(1, Math.floor(Math.min(leftUs - earlyUs, 1e6) / 1000)));
      else immediate = setImmediate(fire);
    });
  }
}

/** What waitForAll needs of a backend (IoBackend's own members). */
interface InFlightWaiter {
  readonly inFlight: number;
  nowUs(): number;
  wait(untilUs: number, spinUs: number): number | Promise<number>;
}

/**
 * Waits, up to a second a wait, until nothing `backend` submitted is in flight: what a callback backend's
 * close does (an op in flight may still write into its buffers).
 */
export async function waitForAll(backend: InFlightWaiter): Promise<void> {
  while (backend.inFlight > 0) {
    const r = backend.wait(backend.nowUs() + 1e6, 0);
    if (typeof r !== 'number') await r;
  }
}
