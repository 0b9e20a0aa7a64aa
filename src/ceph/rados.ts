/**
 * lake's RADOS client: librados (`librados.so.2`, Ceph's C API) through the koffi FFI, loaded lazily so
 * that lake runs without either (radosAvailability says why not). No maintained Node binding of librados
 * exists; the C API is small and stable, and koffi calls it without a build step.
 *
 * Two ways to learn that an op completed, chosen per op:
 * - polling (the replay's backend): the op has no callback, and harvest() takes every op that
 *   rados_aio_is_complete reports done (a few tens of ns per op in flight), stamped when lake saw it. The
 *   backend sleeps between looks (Atomics.wait, 100 us by default: src/ceph/backend.ts), so a look takes
 *   every completion of the last 100 us at once and nothing spins;
 * - callbacks (the promise helpers: preparing pools, models): rados_aio_create_completion2 with one
 *   registered koffi callback. librados runs it on its finisher thread; koffi hands each call to the main
 *   thread (an N-API thread-safe function) and the finisher waits until the JavaScript ran, so each
 *   completion costs a thread hand-off and callbacks come one at a time. Each callback also harvests.
 * In prototype runs on the test cluster (4 KiB random reads, queue depth 16, each beside a `rados bench`
 * run): a callback for every op reached 0.36-0.61x `rados bench`'s IOPS, polling in a tight loop (a core
 * taken from the OSDs sharing the host) 0.24x, polling every 100 us 1.2x (docs/ceph.md).
 *
 * Every op is counted from submission until it is seen complete and, with a callback, until its callback
 * ran; `shutdown` waits until each has been seen before it
 * releases the I/O contexts and calls rados_shutdown (which waits for the finisher: calling it with a
 * callback still queued would deadlock, the finisher waiting for the main thread that waits for it); ops
 * without a callback are looked for every millisecond meanwhile.
 */

import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { LakeError } from '../errors.js';

/** How long rados_connect may try to reach the monitors (client_mount_timeout), seconds. */
export const DEFAULT_CONNECT_TIMEOUT_S = 15;
/** An op that has not completed after this long fails with ETIMEDOUT (rados_osd_op_timeout), seconds. */
export const DEFAULT_OP_TIMEOUT_S = 60;

/** Linux's ESHUTDOWN (librados's answer on a handle that is shut down; not in Node's table). */
const ESHUTDOWN = 108;

/** negative errno -> its name (ENOENT), from Node's table of the platform's errno values. */
const ERRNO_NAMES = new Map<number, string>([[ESHUTDOWN, 'ESHUTDOWN']]);
// The first name of a value wins (EAGAIN before EWOULDBLOCK).
for (const [name, value] of Object.entries(osConstants.errno))
  if (!ERRNO_NAMES.has(value)) ERRNO_NAMES.set(value, name);

const ERRNO_MEANINGS: Record<string, string> = {
  ENOENT: 'no such object or pool',
  EIO: 'I/O error',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ETIMEDOUT: 'timed out',
  ENOTCONN: 'not connected',
  EINVAL: 'invalid argument',
  ENOSPC: 'no space left',
  EDQUOT: 'quota exceeded',
  EBLOCKLISTED: 'client blocklisted',
  ESHUTDOWN: 'cluster handle shut down',
  EFBIG: 'object too large',
  E2BIG: 'argument too large',
};

/** The name of a (negative or positive) errno value: `ENOENT`, or `errno 999` when unknown here. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(Math.abs(errno)) ?? `errno ${Math.abs(errno)}`;
}

/** `ENOENT (no such object or pool)`. */
export function describeErrno(errno: number): string {
  const name = errnoName(errno);
  const meaning = ERRNO_MEANINGS[name];
  return meaning === undefined ? name : `${name} (${meaning})`;
}

/** A librados call that failed: the errno by name, and the pool and object it was about. */
export class RadosError extends LakeError {
  readonly errno: number;
  readonly errnoName: string;
  readonly pool: string | undefined;
  readonly object: string | undefined;
  constructor(what: string, errno: number, where: { pool?: string; object?: string; conf?: string } = {}) {
    const place = [
      where.pool !== undefined ? `pool ${where.pool}` : undefined,
      where.object !== undefined ? `object ${where.object}` : undefined,
      where.conf !== undefined ? `cluster of ${where.conf}` : undefined,
    ].filter((p) => p !== undefined);
    super(
      'LAKE_E_IO',
      `rados: ${what}${place.length > 0 ? ` (${place.join(', ')})` : ''}: ${describeErrno(errno)}`,
    );
    this.name = 'RadosError';
    this.errno = -Math.abs(errno);
    this.errnoName = errnoName(errno);
    this.pool = where.pool;
    this.object = where.object;
  }
}

/** An opaque librados handle (rados_t, rados_ioctx_t, rados_completion_t) as koffi returns it. */
type Handle = { readonly __radosHandle: unique symbol };

/** The librados functions lake calls, bound by koffi. */
interface Librados {
  create2(out: (Handle | null)[], cluster: string, name: string, flags: number): number;
  confReadFile(cluster: Handle, path: string): number;
  confSet(cluster: Handle, option: string, value: string): number;
  connect: { async(cluster: Handle, done: (error: unknown, result: number) => void): void };
  shutdown(cluster: Handle): void;
  ioctxCreate(cluster: Handle, pool: string, out: (Handle | null)[]): number;
  ioctxDestroy(ioctx: Handle): void;
  createCompletion2(token: number, callback: unknown | null, out: (Handle | null)[]): number;
  aioRead(ioctx: Handle, oid: string, c: Handle, buf: Buffer, len: number, off: number): number;
  aioWrite(ioctx: Handle, oid: string, c: Handle, buf: Buffer, len: number, off: number): number;
  getReturnValue(c: Handle): number;
  isComplete(c: Handle): number;
  release(c: Handle): void;
  register(callback: (c: Handle, token: number) => void): unknown;
  unregister(callback: unknown): void;
  /** rados_watch3 (on koffi's worker: it waits for the OSD), with a registered lake_rados_watch_cb. */
  watch3: {
    async(
      ioctx: Handle,
      oid: string,
      cookie: WatchId[],
      onNotify: unknown,
      onError: unknown,
      timeoutS: number,
      arg: number,
      done: (error: unknown, result: number) => void,
    ): void;
  };
  unwatch2: { async(ioctx: Handle, cookie: WatchId, done: (error: unknown, result: number) => void): void };
  watchFlush: { async(cluster: Handle, done: (error: unknown, result: number) => void): void };
  notify2: {
    async(
      ioctx: Handle,
      oid: string,
      buf: Buffer,
      len: number,
      timeoutMs: number,
      reply: null,
      replyLength: null,
      done: (error: unknown, result: number) => void,
    ): void;
  };
  notifyAck(ioctx: Handle, oid: string, notifyId: WatchId, cookie: WatchId, buf: null, len: number): number;
  registerWatch(
    callback: (
      arg: number,
      notifyId: WatchId,
      cookie: WatchId,
      notifier: WatchId,
      data: unknown,
      length: number,
    ) => void,
  ): unknown;
  registerWatchError(callback: (arg: number, cookie: WatchId, error: number) => void): unknown;
  decodeText(data: unknown, length: number): string;
}

/** A 64-bit id librados hands out (a watch's cookie, a notify's id): a number, or a bigint past 2^53. */
export type WatchId = number | bigint;

interface KoffiModule {
  load(path: string): { func(definition: string): unknown };
  pointer(name: string, ref: unknown): unknown;
  opaque(): unknown;
  proto(definition: string): unknown;
  register(callback: (...args: never[]) => void, type: string): unknown;
  unregister(callback: unknown): void;
  decode(data: unknown, type: string, length: number): unknown;
}

let loaded: { lib: Librados | undefined; reason: string } | undefined;

function bind(): Librados {
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as KoffiModule;
  const so = koffi.load('librados.so.2');
  // Type names are process-wide in koffi: lake's own names cannot clash with another binding's.
  koffi.pointer('lake_rados_t', koffi.opaque());
  koffi.pointer('lake_rados_ioctx_t', koffi.opaque());
  koffi.pointer('lake_rados_completion_t', koffi.opaque());
  // The completion's argument is lake's op token (an integer in a pointer-sized slot).
  koffi.proto('void lake_rados_callback(lake_rados_completion_t c, uintptr_t token)');
  const callbackType = 'lake_rados_callback *';
  koffi.proto(
    'void lake_rados_watch_cb(uintptr_t arg, uint64_t notify_id, uint64_t cookie, uint64_t notifier_id, void *data, size_t data_len)',
  );
  koffi.proto('void lake_rados_watch_error_cb(uintptr_t arg, uint64_t cookie, int err)');
  const f = (definition: string): never => so.func(definition) as never;
  return {
    create2: f(
      'int rados_create2(_Out_ lake_rados_t *pcluster, const char *cluster, const char *name, uint64_t flags)',
    ),
    confReadFile: f('int rados_conf_read_file(lake_rados_t cluster, const char *path)'),
    confSet: f('int rados_conf_set(lake_rados_t cluster, const char *option, const char *value)'),
    connect: f('int rados_connect(lake_rados_t cluster)'),
    shutdown: f('void rados_shutdown(lake_rados_t cluster)'),
    ioctxCreate: f(
      'int rados_ioctx_create(lake_rados_t cluster, const char *pool, _Out_ lake_rados_ioctx_t *ioctx)',
    ),
    ioctxDestroy: f('void rados_ioctx_destroy(lake_rados_ioctx_t io)'),
    createCompletion2: f(
      'int rados_aio_create_completion2(uintptr_t token, lake_rados_callback *cb, _Out_ lake_rados_completion_t *pc)',
    ),
    aioRead: f(
      'int rados_aio_read(lake_rados_ioctx_t io, const char *oid, lake_rados_completion_t c, void *buf, size_t len, uint64_t off)',
    ),
    aioWrite: f(
      'int rados_aio_write(lake_rados_ioctx_t io, const char *oid, lake_rados_completion_t c, const void *buf, size_t len, uint64_t off)',
    ),
    getReturnValue: f('int rados_aio_get_return_value(lake_rados_completion_t c)'),
    isComplete: f('int rados_aio_is_complete(lake_rados_completion_t c)'),
    release: f('void rados_aio_release(lake_rados_completion_t c)'),
    register: (callback) => koffi.register(callback as (...args: never[]) => void, callbackType),
    unregister: (callback) => koffi.unregister(callback),
    watch3: f(
      'int rados_watch3(lake_rados_ioctx_t io, const char *o, _Out_ uint64_t *cookie, lake_rados_watch_cb *watchcb, lake_rados_watch_error_cb *watcherrcb, uint32_t timeout, uintptr_t arg)',
    ),
    unwatch2: f('int rados_unwatch2(lake_rados_ioctx_t io, uint64_t cookie)'),
    watchFlush: f('int rados_watch_flush(lake_rados_t cluster)'),
    notify2: f(
      'int rados_notify2(lake_rados_ioctx_t io, const char *o, const void *buf, int buf_len, uint64_t timeout_ms, void *reply_buffer, void *reply_buffer_len)',
    ),
    notifyAck: f(
      'int rados_notify_ack(lake_rados_ioctx_t io, const char *o, uint64_t notify_id, uint64_t cookie, const char *buf, int buf_len)',
    ),
    registerWatch: (callback) =>
      koffi.register(callback as (...args: never[]) => void, 'lake_rados_watch_cb *'),
    registerWatchError: (callback) =>
      koffi.register(callback as (...args: never[]) => void, 'lake_rados_watch_error_cb *'),
    decodeText: (data, length) => (length > 0 ? String(koffi.decode(data, 'char', length)) : ''),
  };
}

/** librados through koffi, or undefined with the reason (koffi not installed, librados.so.2 not found). */
function loadLibrados(): { lib: Librados | undefined; reason: string } {
  if (loaded !== undefined) return loaded;
  try {
    loaded = { lib: bind(), reason: 'available' };
  } catch (error) {
    const message = (error as Error).message;
    const reason = /Cannot find (module|package) 'koffi'/.test(message)
      ? 'the optional dependency koffi is not installed (npm install koffi)'
      : /librados/.test(message)
        ? `librados.so.2 could not be loaded (Debian: apt-get install librados2): ${message}`
        : `librados could not be bound through koffi: ${message}`;
    loaded = { lib: undefined, reason };
  }
  return loaded;
}

/** Whether lake can reach a Ceph cluster from here, and why not. */
export function radosAvailability(): { available: boolean; reason: string } {
  const { lib, reason } = loadLibrados();
  return { available: lib !== undefined, reason };
}

export interface RadosConnectOptions {
  /** The cluster's ceph.conf (monitor addresses, auth). */
  confPath: string;
  /** The client's name, `client.admin` by default. */
  clientName?: string;
  connectTimeoutS?: number;
  opTimeoutS?: number;
}

/** A pool opened for I/O (an rados_ioctx_t). */
export interface RadosPool {
  readonly name: string;
  /** Index of the pool among the client's open pools. */
  readonly index: number;
}

/** A watch on one object (RadosClient.watch). */
export interface RadosWatch {
  readonly pool: RadosPool;
  readonly object: string;
  cookie: WatchId;
  /** The koffi callbacks registered for it, released by unwatch. */
  readonly callbacks: unknown[];
  /** The OSD dropped the watch (its error callback ran). */
  lost?: boolean;
}

/** Called once per op, on the main thread: the op's tag, bytes (>= 0) or -errno, and when lake saw it. */
export type OpCompleted = (tag: number, result: number, seenUs: number) => void;

interface PendingOp {
  completion: Handle;
  tag: number;
  pool: number;
  /** Kept referenced until the completion: librados writes a read's data into it. */
  buffer: Buffer;
  onCompleted: OpCompleted;
}

function monotonicUs(): number {
  return performance.now() * 1000;
}

/**
 * One connection to a cluster. Ops are submitted with a numeric tag and their completions delivered to
 * the `onCompleted` each was submitted with (the backend's, or the promise helpers' below): several users
 * can share one connection.
 */
export class RadosClient {
  readonly confPath: string;
  readonly #lib: Librados;
  #cluster: Handle | undefined;
  readonly #ioctxs: Handle[] = [];
  readonly #pools: RadosPool[] = [];
  readonly #pending = new Map<number, PendingOp>();
  #nextToken = 1;
  #callback: unknown;
  /** A timer kept referenced while ops are in flight: koffi's hand-off alone does not keep Node running. */
  readonly #keepAlive: NodeJS.Timeout;
  #drained: (() => void) | undefined;
  readonly #watches = new Set<RadosWatch>();
  /** Ops submitted whose librados callback has not run yet (delivered by harvest() or not). */
  #callbacksDue = 0;
  #submitted = 0;
  #completed = 0;

  private constructor(lib: Librados, cluster: Handle, confPath: string) {
    this.#lib = lib;
    this.#cluster = cluster;
    this.confPath = confPath;
    this.#callback = lib.register((_c, token) => this.#complete(token));
    this.#keepAlive = setInterval(() => {}, 1 << 30);
    this.#keepAlive.unref();
  }

  /** Connects to the cluster a ceph.conf names; refuses with the reason when librados cannot be loaded. */
  static async connect(options: RadosConnectOptions): Promise<RadosClient> {
    const { lib, reason } = loadLibrados();
    if (lib === undefined) throw new LakeError('LAKE_E_USAGE', `lake cannot reach Ceph here: ${reason}`);
    const conf = options.confPath;
    const out: (Handle | null)[] = [null];
    const name = options.clientName ?? 'client.admin';
    let rc = lib.create2(out, 'ceph', name, 0);
    const cluster = out[0] ?? null;
    if (rc < 0 || cluster === null) throw new RadosError(`rados_create2 as ${name}`, rc, { conf });
    try {
      rc = lib.confReadFile(cluster, conf);
      if (rc < 0) throw new RadosError(`reading ${conf}`, rc, { conf });
      const settings: [string, string][] = [
        // The client writes no log file and opens no admin socket where the conf puts the daemons' own.
        ['log_file', ''],
        ['log_to_stderr', 'false'],
        ['err_to_stderr', 'false'],
        ['admin_socket', ''],
        ['client_mount_timeout', String(options.connectTimeoutS ?? DEFAULT_CONNECT_TIMEOUT_S)],
        ['rados_osd_op_timeout', String(options.opTimeoutS ?? DEFAULT_OP_TIMEOUT_S)],
      ];
      for (const [option, value] of settings) {
        rc = lib.confSet(cluster, option, value);
        if (rc < 0) throw new RadosError(`setting ${option}`, rc, { conf });
      }
      // rados_connect blocks until the monitors answer: run it on koffi's worker, not the event loop.
      rc = await new Promise<number>((resolve, reject) =>
        lib.connect.async(cluster, (error, result) => (error ? reject(error) : resolve(result))),
      );
      if (rc < 0) throw new RadosError('connecting to the monitors', rc, { conf });
    } catch (error) {
      lib.shutdown(cluster);
      throw error;
    }
    return new RadosClient(lib, cluster, conf);
  }

  /**
   * Watches `object`: every notify on it calls `onNotify` on the main thread with its id and payload (text);
   * the watcher answers with ack(). librados delivers notifies on its own thread, which waits (through
   * koffi) until the JavaScript ran, as for completions.
   */
  async watch(
    pool: RadosPool,
    object: string,
    onNotify: (notifyId: WatchId, payload: string) => void,
  ): Promise<RadosWatch> {
    const lib = this.#lib;
    const ioctx = this.#ioctx(pool);
    const watch: RadosWatch = { pool, object, cookie: 0, callbacks: [] };
    const notified = lib.registerWatch((_arg, notifyId, _cookie, _notifier, data, length) => {
      onNotify(notifyId, lib.decodeText(data, length));
    });
    const failed = lib.registerWatchError(() => {
      // A watch the OSD dropped (timeout, OSD restart): later notifies will not reach this client.
      watch.lost = true;
    });
    watch.callbacks.push(notified, failed);
    const cookie: WatchId[] = [0];
    const rc = await new Promise<number>((resolve, reject) =>
      lib.watch3.async(ioctx, object, cookie, notified, failed, 30, 0, (error, result) =>
        error ? reject(error) : resolve(result),
      ),
    );
    if (rc < 0) {
      for (const c of watch.callbacks) lib.unregister(c);
      throw new RadosError('watching', rc, { pool: pool.name, object });
    }
    watch.cookie = cookie[0] ?? 0;
    this.#watches.add(watch);
    return watch;
  }

  /** Acknowledges a notify received by `watch` (the notifier waits for every watcher's ack). */
  ack(watch: RadosWatch, notifyId: WatchId): void {
    const rc = this.#lib.notifyAck(this.#ioctx(watch.pool), watch.object, notifyId, watch.cookie, null, 0);
    if (rc < 0)
      throw new RadosError('acknowledging a notify', rc, { pool: watch.pool.name, object: watch.object });
  }

  /**
   * Notifies every watcher of `object` with `payload` and resolves when each has acknowledged (rejects
   * with ETIMEDOUT when one has not within timeoutMs). Runs on koffi's worker: rados_notify2 blocks.
   */
  async notify(pool: RadosPool, object: string, payload: string, timeoutMs = 10_000): Promise<void> {
    const data = Buffer.from(payload);
    const rc = await new Promise<number>((resolve, reject) =>
      this.#lib.notify2.async(
        this.#ioctx(pool),
        object,
        data,
        data.length,
        timeoutMs,
        null,
        null,
        (error, result) => (error ? reject(error) : resolve(result)),
      ),
    );
    if (rc < 0) throw new RadosError('notifying the watchers', rc, { pool: pool.name, object });
  }

  /** Ends a watch and waits until no callback of it can run (rados_watch_flush), then releases them. */
  async unwatch(watch: RadosWatch): Promise<void> {
    if (!this.#watches.delete(watch)) return;
    const lib = this.#lib;
    const cluster = this.#handle();
    await new Promise<number>((resolve, reject) =>
      lib.unwatch2.async(this.#ioctx(watch.pool), watch.cookie, (error, result) =>
        error ? reject(error) : resolve(result),
      ),
    );
    await new Promise<number>((resolve, reject) =>
      lib.watchFlush.async(cluster, (error, result) => (error ? reject(error) : resolve(result))),
    );
    for (const c of watch.callbacks) lib.unregister(c);
  }

  #ioctx(pool: RadosPool): Handle {
    const ioctx = this.#ioctxs[pool.index];
    if (ioctx === undefined || this.#cluster === undefined)
      throw new LakeError('LAKE_E_USAGE', `rados: the client of ${this.confPath} is shut down`);
    return ioctx;
  }

  /** Ops submitted and not yet completed. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Ops submitted, and ops whose completion was delivered, since the client connected. */
  get counts(): { submitted: number; completed: number } {
    return { submitted: this.#submitted, completed: this.#completed };
  }

  get pools(): readonly RadosPool[] {
    return this.#pools;
  }

  #handle(): Handle {
    if (this.#cluster === undefined)
      throw new LakeError('LAKE_E_USAGE', `rados: the client of ${this.confPath} is shut down`);
    return this.#cluster;
  }

  /** Opens a pool for I/O; a pool that does not exist is refused (ENOENT, naming it). */
  openPool(name: string): RadosPool {
    const found = this.#pools.find((p) => p.name === name);
    if (found !== undefined) return found;
    const out: (Handle | null)[] = [null];
    const rc = this.#lib.ioctxCreate(this.#handle(), name, out);
    const ioctx = out[0] ?? null;
    if (rc < 0 || ioctx === null)
      throw new RadosError('opening the pool', rc, { pool: name, conf: this.confPath });
    const pool = { name, index: this.#pools.length };
    this.#ioctxs.push(ioctx);
    this.#pools.push(pool);
    return pool;
  }

  /**
   * Submits an asynchronous read (`write` false: of `length` bytes into `buffer`) or write (of
   * `buffer[0, length)`) at `offset` in `object`. Never throws for the op itself: a submission librados
   * refuses completes at once with its -errno, as a failed op does, so the caller has one path for both.
   * `callback` false: librados gets no callback for the op, and it is seen only by harvest() (the
   * backend polls; see the file's comment); true: its callback wakes the event loop and delivers it.
   */
  submit(
    tag: number,
    pool: RadosPool,
    object: string,
    write: boolean,
    buffer: Buffer,
    length: number,
    offset: number,
    onCompleted: OpCompleted,
    callback = true,
  ): void {
    const lib = this.#lib;
    const ioctx = this.#ioctxs[pool.index];
    if (ioctx === undefined || this.#cluster === undefined) {
      this.#submitted++;
      this.#completed++;
      onCompleted(tag, -ESHUTDOWN, monotonicUs());
      return;
    }
    const token = this.#nextToken++;
    const out: (Handle | null)[] = [null];
    let rc = lib.createCompletion2(token, callback ? this.#callback : null, out);
    const completion = out[0] ?? null;
    this.#submitted++;
    if (rc < 0 || completion === null) {
      this.#completed++;
      onCompleted(tag, rc < 0 ? rc : -osConstants.errno.ENOMEM, monotonicUs());
      return;
    }
    rc = write
      ? lib.aioWrite(ioctx, object, completion, buffer, length, offset)
      : lib.aioRead(ioctx, object, completion, buffer, length, offset);
    if (rc < 0) {
      // Not submitted: librados will not call back for it.
      lib.release(completion);
      this.#completed++;
      onCompleted(tag, rc, monotonicUs());
      return;
    }
    if (callback) {
      if (this.#callbacksDue === 0) this.#keepAlive.ref();
      this.#callbacksDue++;
    }
    this.#pending.set(token, { completion, tag, pool: pool.index, buffer, onCompleted });
  }

  /**
   * Delivers every op librados has completed (rados_aio_is_complete, oldest first), without waiting for
   * their callbacks; returns how many. librados marks an op complete before it queues the op's callback
   * on its finisher, and the finisher hands callbacks to the main thread one at a time, each waiting for
   * the event loop: the callbacks are wake-ups, and whoever looks first (a callback, the backend's poll)
   * takes every op that is done. Callbacks of ops taken this way find nothing left to do.
   */
  harvest(): number {
    if (this.#pending.size === 0) return 0;
    let n = 0;
    const seenUs = monotonicUs();
    for (const [token, op] of this.#pending) {
      if (this.#lib.isComplete(op.completion) === 0) continue;
      this.#deliver(token, op, seenUs);
      n++;
    }
    return n;
  }

  #deliver(token: number, op: PendingOp, seenUs: number): void {
    this.#pending.delete(token);
    const result = this.#lib.getReturnValue(op.completion);
    // The finisher holds its own reference until the op's callback has run.
    this.#lib.release(op.completion);
    this.#completed++;
    op.onCompleted(op.tag, result, seenUs);
  }

  /** librados's callback for op `token`, on the main thread (koffi relays it from the finisher). */
  #complete(token: number): void {
    const seenUs = monotonicUs();
    this.#callbacksDue--;
    const op = this.#pending.get(token);
    if (op !== undefined) this.#deliver(token, op, seenUs);
    this.harvest();
    if (this.#callbacksDue === 0) {
      this.#keepAlive.unref();
      const drained = this.#drained;
      this.#drained = undefined;
      drained?.();
    }
  }

  /**
   * Resolves when no op is in flight and every callback librados owes has run: callbacks resolve it, and
   * ops submitted without one are looked for every millisecond.
   */
  async drain(): Promise<void> {
    while (this.#pending.size > 0 || this.#callbacksDue > 0) {
      this.harvest();
      if (this.#pending.size === 0 && this.#callbacksDue === 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#drained = undefined;
          resolve();
        }, 1);
        this.#drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /**
   * Waits for every op in flight (each completion is seen and released), then closes the pools and the
   * connection. Returns the op counts, equal when every completion was accounted for. Idempotent.
   */
  async shutdown(): Promise<{ submitted: number; completed: number }> {
    if (this.#cluster === undefined) return this.counts;
    await this.drain();
    for (const w of [...this.#watches]) await this.unwatch(w);
    for (const ioctx of this.#ioctxs) this.#lib.ioctxDestroy(ioctx);
    this.#ioctxs.length = 0;
    const cluster = this.#cluster;
    this.#cluster = undefined;
    this.#lib.shutdown(cluster);
    this.#lib.unregister(this.#callback);
    clearInterval(this.#keepAlive);
    return this.counts;
  }
}

/**
 * Promise helpers on a client whose completions nobody else takes (tests, preparing objects, the model
 * store): each op resolves with its byte count or rejects with a RadosError naming the pool and object.
 */
export class RadosOps {
  readonly client: RadosClient;
  readonly #waiting = new Map<
    number,
    { resolve: (n: number) => void; reject: (e: Error) => void; what: string; pool: string; object: string }
  >();
  #nextTag = 1;

  constructor(client: RadosClient) {
    this.client = client;
  }

  readonly #completed: OpCompleted = (tag, result) => {
    const w = this.#waiting.get(tag);
    if (w === undefined) return;
    this.#waiting.delete(tag);
    if (result < 0) w.reject(new RadosError(w.what, result, { pool: w.pool, object: w.object }));
    else w.resolve(result);
  };

  #op(
    pool: RadosPool,
    object: string,
    write: boolean,
    buffer: Buffer,
    length: number,
    offset: number,
  ): Promise<number> {
    const tag = this.#nextTag++;
    const what = `${write ? 'write' : 'read'} of ${length} B at ${offset}`;
    return new Promise<number>((resolve, reject) => {
      this.#waiting.set(tag, { resolve, reject, what, pool: pool.name, object });
      this.client.submit(tag, pool, object, write, buffer, length, offset, this.#completed);
    });
  }

  /** Reads up to `length` bytes at `offset` into `buffer`; resolves with the bytes read. */
  read(pool: RadosPool, object: string, buffer: Buffer, length = buffer.length, offset = 0): Promise<number> {
    if (length > buffer.length)
      throw new LakeError(
        'LAKE_E_USAGE',
        `rados read: length ${length} exceeds the buffer (${buffer.length} B)`,
      );
    return this.#op(pool, object, false, buffer, length, offset);
  }

  /** Writes `data` at `offset`; resolves with 0. */
  write(pool: RadosPool, object: string, data: Buffer, offset = 0): Promise<number> {
    return this.#op(pool, object, true, data, data.length, offset);
  }
}
