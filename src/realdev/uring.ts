/** The io_uring backend: a thin typed shell over the native ring (see backend.ts and native/lake_io.cc). */
import { LakeError } from '../errors.js';
import type { BackendKind, BackendOptions, IoBackend } from './backend.js';
import type { RealDevice } from './device.js';
import type { NativeIo, NativeRing } from './native.js';

const SUBMISSION_FIELDS = 5;
const COMPLETION_FIELDS = 3;
/** The ring's buffers are aligned to this (a multiple of any logical block size). */
const BUFFER_ALIGN = 4096;

let probed: { available: boolean; reason: string } | undefined;

export class UringBackend implements IoBackend {
  readonly kind: BackendKind = 'uring';
  readonly concurrency: number;
  readonly completions: Float64Array;
  readonly #io: NativeIo;
  readonly #ring: NativeRing;
  readonly #submissions: Float64Array;
  readonly #fds: Int32Array;
  readonly #entries: number;
  #queued = 0;
  #inFlight = 0;
  #closed = false;

  /** Whether a ring can be set up here (io_uring may be disabled by sysctl or a seccomp profile). */
  static probe(io: NativeIo): { available: boolean; reason: string } {
    if (probed !== undefined) return probed;
    try {
      const ring = io.createRing(4, BUFFER_ALIGN, BUFFER_ALIGN, new Float64Array(20), new Float64Array(24));
      io.close(ring);
      probed = { available: true, reason: 'available' };
    } catch (error) {
      probed = { available: false, reason: (error as Error).message };
    }
    return probed;
  }

  constructor(io: NativeIo, devices: readonly RealDevice[], options: BackendOptions) {
    this.#io = io;
    let entries = 8;
    while (entries < options.maxInFlight) entries *= 2;
    if (entries > 16384)
      throw new LakeError('LAKE_E_USAGE', `at most 16384 I/Os in flight, asked for ${options.maxInFlight}`);
    this.#entries = entries;
    this.concurrency = entries;
    this.#submissions = new Float64Array(entries * SUBMISSION_FIELDS);
    this.completions = new Float64Array(entries * 2 * COMPLETION_FIELDS);
    this.#fds = Int32Array.from(devices, (d) => d.fd);
    this.#ring = io.createRing(
      entries,
      Math.max(options.maxIoBytes, BUFFER_ALIGN),
      BUFFER_ALIGN,
      this.#submissions,
      this.completions,
      options.sqpoll === true,
    );
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  nowUs(): number {
    return this.#io.nowUs();
  }

  queue(slot: number, device: number, write: boolean, offset: number, size: number): void {
    if (this.#queued + this.#inFlight >= this.#entries) this.flush();
    const s = this.#submissions;
    const k = this.#queued++ * SUBMISSION_FIELDS;
    s[k] = slot;
    s[k + 1] = this.#fds[device]!;
    s[k + 2] = write ? 1 : 0;
    s[k + 3] = offset;
    s[k + 4] = size;
  }

  flush(): number {
    const n = this.#queued;
    if (n === 0) return Number.NaN;
    this.#queued = 0;
    const at = this.#io.submit(this.#ring, n);
    this.#inFlight += n;
    return at;
  }

  poll(): number {
    const n = this.#io.wait(this.#ring, 0, 0);
    this.#inFlight -= n;
    return n;
  }

  wait(untilUs: number, spinUs: number): number {
    const n = this.#io.wait(this.#ring, untilUs, spinUs);
    this.#inFlight -= n;
    return n;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#io.close(this.#ring);
    this.#inFlight = 0;
  }
}
