/**
 * The fallback backend: Node's fs.read/fs.write on the libuv thread pool, through each device's aligned
 * transfer buffer (align.ts). Works wherever Node runs; see backend.ts for what it costs.
 */
import { read, write } from 'node:fs';
import type { BackendKind, BackendOptions, IoBackend } from './backend.js';
import { CallbackCompletions, waitForAll } from './completion-queue.js';
import type { RealDevice } from './device.js';

/** Waits longer than this sleep on a timer (woken 1 ms early); shorter ones turn the event loop over. */
const TIMER_WAIT_US = 2000;
const TIMER_EARLY_US = 1000;

/** The thread pool's size: what UV_THREADPOOL_SIZE said when the process started (libuv's default 4). */
export function threadPoolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1024) : 4;
}

export class LibuvBackend implements IoBackend {
  readonly kind: BackendKind = 'libuv';
  readonly concurrency: number;
  readonly completions: Float64Array;
  readonly #fds: number[];
  readonly #buffers: Buffer[];
  readonly #done: CallbackCompletions;
  #queue: number[] = [];
  #inFlight = 0;
  #closed = false;

  constructor(devices: readonly RealDevice[], options: BackendOptions) {
    this.concurrency = threadPoolSize();
    this.#fds = devices.map((d) => d.fd);
    this.#buffers = devices.map((d) => d.transferBuffer(options.maxIoBytes));
    this.#done = new CallbackCompletions(options.maxInFlight);
    this.completions = this.#done.completions;
    if (options.maxInFlight > this.concurrency) {
      options.onWarning?.(
        `the libuv thread pool runs ${this.concurrency} I/Os at once, fewer than the ${options.maxInFlight} asked for: start node with UV_THREADPOOL_SIZE=${Math.min(options.maxInFlight, 1024)} (or build the native addon)`,
      );
    }
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  nowUs(): number {
    return performance.now() * 1000;
  }

  queue(slot: number, device: number, isWrite: boolean, offset: number, size: number): void {
    this.#queue.push(slot, device, isWrite ? 1 : 0, offset, size);
  }

  flush(): number {
    const q = this.#queue;
    if (q.length === 0) return Number.NaN;
    const at = this.nowUs();
    for (let k = 0; k < q.length; k += 5) {
      const slot = q[k]!;
      const device = q[k + 1]!;
      const size = q[k + 4]!;
      const done = (error: NodeJS.ErrnoException | null, bytes: number): void =>
        this.#done.push(slot, error ? (error.errno ?? -5) : bytes, this.nowUs());
      if (q[k + 2] === 1) write(this.#fds[device]!, this.#buffers[device]!, 0, size, q[k + 3]!, done);
      else read(this.#fds[device]!, this.#buffers[device]!, 0, size, q[k + 3]!, done);
    }
    this.#inFlight += q.length / 5;
    this.#queue = [];
    return at;
  }

  /** Completions in, into `completions`, and no longer in flight. */
  readonly #takeDone = (): number => {
    const n = this.#done.drain();
    this.#inFlight -= n;
    return n;
  };

  poll(): number {
    return this.#takeDone();
  }

  wait(untilUs: number, _spinUs: number): number | Promise<number> {
    const ready = this.#takeDone();
    if (ready > 0) return ready;
    return this.#done.sleep(untilUs - this.nowUs(), TIMER_WAIT_US, TIMER_EARLY_US, this.#takeDone);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await waitForAll(this);
  }
}
