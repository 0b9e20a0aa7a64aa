/**
 * The fallback backend: Node's fs.read/fs.write on the libuv thread pool, through each device's aligned
 * transfer buffer (align.ts). Works wherever Node runs; see backend.ts for what it costs.
 */
import { read, write } from 'node:fs';
import type { BackendKind, BackendOptions, IoBackend } from './backend.js';
import type { RealDevice } from './device.js';

const COMPLETION_FIELDS = 3;
/** Waits longer than this sleep on a timer (woken 1 ms early); shorter ones turn the event loop over. */
const TIMER_WAIT_US = 2000;

/** The thread pool's size: what UV_THREADPOOL_SIZE said when the process started (libuv's default 4). */
export function threadPoolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1024) : 4;
}

export class LibuvBackend implements IoBackend {
  readonly kind: BackendKind = 'libuv';
  readonly concurrency: number;
  completions: Float64Array;
  readonly #fds: number[];
  readonly #buffers: Buffer[];
  #queue: number[] = [];
  #done: number[] = [];
  #inFlight = 0;
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(devices: readonly RealDevice[], options: BackendOptions) {
    this.concurrency = threadPoolSize();
    this.#fds = devices.map((d) => d.fd);
    this.#buffers = devices.map((d) => d.transferBuffer(options.maxIoBytes));
    this.completions = new Float64Array(Math.max(64, options.maxInFlight * 2) * COMPLETION_FIELDS);
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
      const done = (error: NodeJS.ErrnoException | null, bytes: number): void => {
        this.#done.push(slot, error ? (error.errno ?? -5) : bytes, this.nowUs());
        const wake = this.#wake;
        if (wake !== undefined) {
          this.#wake = undefined;
          wake();
        }
      };
      if (q[k + 2] === 1) write(this.#fds[device]!, this.#buffers[device]!, 0, size, q[k + 3]!, done);
      else read(this.#fds[device]!, this.#buffers[device]!, 0, size, q[k + 3]!, done);
    }
    this.#inFlight += q.length / 5;
    this.#queue = [];
    return at;
  }

  #drain(): number {
    const done = this.#done;
    const n = Math.min(done.length / COMPLETION_FIELDS, this.completions.length / COMPLETION_FIELDS);
    if (n === 0) return 0;
    for (let i = 0; i < n * COMPLETION_FIELDS; i++) this.completions[i] = done[i]!;
    this.#done = done.slice(n * COMPLETION_FIELDS);
    this.#inFlight -= n;
    return n;
  }

  poll(): number {
    return this.#drain();
  }

  wait(untilUs: number, _spinUs: number): number | Promise<number> {
    const ready = this.#drain();
    if (ready > 0) return ready;
    const left = untilUs - this.nowUs();
    return new Promise<number>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let immediate: NodeJS.Immediate | undefined;
      this.#wake = () => {
        if (timer !== undefined) clearTimeout(timer);
        if (immediate !== undefined) clearImmediate(immediate);
        resolve(this.#drain());
      };
      const fire = (): void => {
        this.#wake = undefined;
        resolve(this.#drain());
      };
      if (left > TIMER_WAIT_US) timer = setTimeout(fire, Math.min(left - 1000, 1e6) / 1000);
      else immediate = setImmediate(fire);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#inFlight > 0) {
      const r = this.wait(this.nowUs() + 1e6, 0);
      if (typeof r !== 'number') await r;
    }
  }
}
