/**
 * A Ceph cluster as a device backend of the real-clock engine (src/realdev/engine.ts): device d is the
 * replica pool named d-th (r_d, pinned to one OSD), and the engine's queue/flush/poll/wait/close become
 * librados aio reads and writes (src/ceph/rados.ts), completions stamped on the same monotonic clock as the
 * libuv backend's (performance.now). The engine keeps every device view it keeps for files — in flight,
 * recent latencies, pending at issue — per pool, so per OSD, as the client sees it.
 *
 * The mapping from a device offset to RADOS: a pool holds the device as objects of `objectBytes` (4 MiB by
 * default, RBD's and CephFS's default object size) named `lake.<objectBytes>.<index>`; device offset o lives
 * in object floor(o / objectBytes) at o mod objectBytes. The engine places I/Os on 4 KiB blocks within the
 * device's capacity as it does on files (src/realdev/place.ts); an I/O that crosses an object boundary is
 * split into one op per object and completes when its last piece has (its result: the bytes of every piece,
 * or the first piece's error).
 */
import { LakeError } from '../errors.js';
import type { SubmitResult } from '../flash/types.js';
import type { BackendKind, IoBackend } from '../realdev/backend.js';
import { CallbackCompletions, waitForAll } from '../realdev/completion-queue.js';
import { fillPattern } from '../realdev/device.js';
import { placedOffset, placedSize } from '../realdev/place.js';
import type { RadosClient, RadosPool } from './rados.js';

export const DEFAULT_OBJECT_BYTES = 4 * 1024 * 1024;
/** The engine places I/Os on multiples of this (a page, as a block device's logical block). */
export const CEPH_BLOCK_BYTES = 4096;
/** librados's own bound on ops in flight per client (objecter_inflight_ops). */
const OBJECTER_INFLIGHT_OPS = 1024;
/**
 * Waits longer than this sleep on a timer (Node's timers count whole ms), waking just before the deadline;
 * shorter ones turn the event loop over. Lower than the file backends' 2 ms: on a test cluster the OSDs
 * share the host's CPUs, and a client that spins through the gaps between arrivals takes a CPU from them.
 */
const TIMER_WAIT_US = 1200;
/** Wake this long before the deadline: a timer fires late by up to a millisecond less this. */
const TIMER_EARLY_US = 150;
/**
 * While ops are in flight the backend looks for completions this often (see CephBackend): a completion is
 * seen up to this late, and every op done meanwhile is taken in the same look.
 */
export const DEFAULT_POLL_US = 100;
/** The last this many us before a wait's deadline are spun: a sleep of Atomics.wait can overrun by that. */
const SPIN_TAIL_US = 60;
/** One wait in the backend polls at most this long before handing the thread back to the engine. */
const MAX_POLL_WAIT_US = 10_000;

/** The object holding device offset `offset`, and the offset in it. */
export function objectOf(offset: number, objectBytes: number): { index: number; offsetInObject: number } {
  const index = Math.floor(offset / objectBytes);
  return { index, offsetInObject: offset - index * objectBytes };
}

export function objectName(index: number, objectBytes: number): string {
  return `lake.${objectBytes}.${index}`;
}

/** One replica: a pool pinned to one OSD, seen by the engine as a device of `capacityBytes`. */
export class CephDevice {
  readonly index: number;
  readonly pool: RadosPool;
  readonly name: string;
  readonly path: string;
  readonly kind = 'rados-pool';
  readonly capacityBytes: number;
  readonly blockBytes = CEPH_BLOCK_BYTES;
  readonly objectBytes: number;
  /** No client-side cache sits between lake and the OSD (librados reads go to the OSD). */
  readonly direct = true;
  readonly writable = true;
  readonly created = false;
  readonly backing = undefined;
  #closed = false;

  constructor(index: number, pool: RadosPool, capacityBytes: number, objectBytes: number) {
    this.index = index;
    this.pool = pool;
    this.name = `rados:${pool.name}`;
    this.path = this.name;
    this.capacityBytes = capacityBytes;
    this.objectBytes = objectBytes;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Device offset and byte count a trace I/O is replayed with (as the engine places it). */
  place(offset: number, size: number): { offset: number; size: number } {
    const bytes = placedSize(size, this.blockBytes, this.capacityBytes);
    return { offset: placedOffset(offset, bytes, this.blockBytes, this.capacityBytes), size: bytes };
  }

  /** A pool has no blocking path: the virtual-clock engine cannot drive it. */
  submit(): SubmitResult {
    throw new LakeError(
      'LAKE_E_USAGE',
      `${this.name}: a Ceph pool is driven by the real-clock engine only (lake replay --ceph)`,
    );
  }

  peekRead(): number {
    throw new LakeError(
      'LAKE_E_USAGE',
      `${this.name}: a Ceph pool cannot tell a read's future latency (the greedy oracle runs on simulated devices only)`,
    );
  }

  /** The pool stays open on the client; the client's shutdown closes it. */
  close(): void {
    this.#closed = true;
  }
}

export interface CephBackendOptions {
  maxInFlight: number;
  maxIoBytes: number;
  /** How often to look for completions while ops are in flight, us (default DEFAULT_POLL_US). */
  pollUs?: number;
}

/** Grows an Int32Array/Float64Array to hold index `i`. */
function fit<T extends Int32Array | Float64Array>(array: T, i: number, make: (n: number) => T): T {
  if (i < array.length) return array;
  const bigger = make(Math.max(i + 1, array.length * 2));
  bigger.set(array);
  return bigger;
}

/**
 * The engine's backend on a cluster. It owns none of the cluster: the client and its pools outlive it
 * (one backend per policy run), and close() waits for this backend's ops only.
 *
 * Its ops carry no librados callback: poll() and wait() take every op rados_aio_is_complete reports done,
 * and a wait with ops in flight sleeps pollUs at a time between looks (Atomics.wait: no CPU, and the
 * engine has nothing else to do until a completion or its deadline). A callback per op costs a thread
 * hand-off from librados's finisher to the main thread for every completion, one at a time, and capped
 * the replay well below `rados bench`; spinning instead takes a CPU from OSDs sharing the host
 * (docs/ceph.md, "The client").
 */
export class CephBackend implements IoBackend {
  readonly kind: BackendKind = 'rados';
  readonly concurrency = OBJECTER_INFLIGHT_OPS;
  readonly completions: Float64Array;
  readonly #client: RadosClient;
  readonly #devices: readonly CephDevice[];
  readonly #readBuffer: Buffer;
  readonly #writeBuffer: Buffer;
  #queue: number[] = [];
  readonly #done: CallbackCompletions;
  /** Per slot: pieces not yet complete, bytes so far (a write's are its size, negated, from submission:
   * librados answers 0 for a whole write), first error (0: none). */
  #piecesLeft = new Int32Array(64);
  #bytes = new Float64Array(64);
  #error = new Int32Array(64);
  #inFlight = 0;
  readonly #pollUs: number;
  readonly #sleeper = new Int32Array(new SharedArrayBuffer(4));
  #closed = false;

  constructor(client: RadosClient, devices: readonly CephDevice[], options: CephBackendOptions) {
    this.#client = client;
    this.#devices = devices;
    // A replayer never looks at the data: reads share one buffer, writes send one pattern.
    this.#readBuffer = Buffer.alloc(options.maxIoBytes);
    this.#writeBuffer = Buffer.alloc(options.maxIoBytes);
    fillPattern(this.#writeBuffer, 1);
    this.#done = new CallbackCompletions(options.maxInFlight);
    this.completions = this.#done.completions;
    this.#pollUs = options.pollUs ?? DEFAULT_POLL_US;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  nowUs(): number {
    return performance.now() * 1000;
  }

  queue(slot: number, device: number, write: boolean, offset: number, size: number): void {
    this.#queue.push(slot, device, write ? 1 : 0, offset, size);
  }

  flush(): number {
    const q = this.#queue;
    if (q.length === 0) return Number.NaN;
    const at = this.nowUs();
    this.#queue = [];
    this.#inFlight += q.length / 5;
    for (let k = 0; k < q.length; k += 5)
      this.#submit(q[k]!, q[k + 1]!, q[k + 2] === 1, q[k + 3]!, q[k + 4]!);
    return at;
  }

  /** One I/O as one op per object it touches. */
  #submit(slot: number, device: number, write: boolean, offset: number, size: number): void {
    const d = this.#devices[device]!;
    const objectBytes = d.objectBytes;
    const first = Math.floor(offset / objectBytes);
    const last = Math.floor((offset + size - 1) / objectBytes);
    this.#piecesLeft = fit(this.#piecesLeft, slot, (n) => new Int32Array(n));
    this.#bytes = fit(this.#bytes, slot, (n) => new Float64Array(n));
    this.#error = fit(this.#error, slot, (n) => new Int32Array(n));
    this.#piecesLeft[slot] = last - first + 1;
    this.#bytes[slot] = write ? -size : 0;
    this.#error[slot] = 0;
    const buffer = write ? this.#writeBuffer : this.#readBuffer;
    for (let index = first; index <= last; index++) {
      const start = Math.max(offset, index * objectBytes);
      const end = Math.min(offset + size, (index + 1) * objectBytes);
      const piece = end - start;
      // Pieces of one I/O read into (or write from) successive parts of the buffer.
      const view = buffer.subarray(start - offset, start - offset + piece);
      this.#client.submit(
        slot,
        d.pool,
        objectName(index, objectBytes),
        write,
        view,
        piece,
        start - index * objectBytes,
        this.#pieceDone,
        false,
      );
    }
  }

  readonly #pieceDone = (slot: number, result: number, seenUs: number): void => {
    if (result < 0) {
      if (this.#error[slot] === 0) this.#error[slot] = result;
    } else if (this.#bytes[slot]! >= 0) {
      this.#bytes[slot] = this.#bytes[slot]! + result;
    }
    const left = this.#piecesLeft[slot]! - 1;
    this.#piecesLeft[slot] = left;
    if (left > 0) return;
    const error = this.#error[slot]!;
    this.#done.push(slot, error < 0 ? error : Math.abs(this.#bytes[slot]!), seenUs);
  };

  /** Completions in, into `completions`, and no longer in flight. */
  readonly #drain = (): number => {
    const n = this.#done.drain();
    this.#inFlight -= n;
    return n;
  };

  poll(): number {
    this.#client.harvest();
    return this.#drain();
  }

  /** Completions arrive as event-loop tasks (rados.ts), so a wait with none ready yields to the loop. */
  wait(untilUs: number, _spinUs: number): number | Promise<number> {
    this.#client.harvest();
    const ready = this.#drain();
    if (ready > 0) return ready;
    if (this.#inFlight > 0) return this.#pollUntil(untilUs);
    // Nothing in flight: only the clock to wait for, and the event loop may run meanwhile.
    return this.#done.sleep(untilUs - this.nowUs(), TIMER_WAIT_US, TIMER_EARLY_US, this.#drain);
  }

  /**
   * Ops in flight: sleeps in steps of pollUs (Atomics.wait: no CPU, no event loop) and looks for
   * completions after each, until one is in or the clock reaches untilUs (at most MAX_POLL_WAIT_US, so the
   * engine gets the thread back to turn the event loop over).
   */
  #pollUntil(untilUs: number): number {
    const deadline = Math.min(untilUs, this.nowUs() + MAX_POLL_WAIT_US);
    for (;;) {
      const left = deadline - this.nowUs();
      if (left <= 0) return 0;
      // A sleep can overrun by tens of us: the last stretch before a deadline is spun, not slept.
      if (left > SPIN_TAIL_US)
        Atomics.wait(this.#sleeper, 0, 0, Math.min(this.#pollUs, left - SPIN_TAIL_US) / 1000);
      this.#client.harvest();
      const n = this.#drain();
      if (n > 0) return n;
    }
  }

  /** Waits until every op this backend submitted has completed (the client stays connected). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await waitForAll(this);
  }
}
