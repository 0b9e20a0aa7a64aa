/**
 * The real-clock engine on simulated devices: a backend whose clock is virtual and whose I/Os complete when
 * a `Device` (src/flash) says they do. Time stands still while the engine works and jumps to the next
 * completion or deadline when it waits, so a replay takes no wall time and is deterministic. It serves two
 * ends: checking that the real-clock engine keeps the virtual-clock engine's semantics exactly (the same
 * records on the same devices), and running queue-depth-limited replays on simulated SSDs.
 */
import type { Device } from '../flash/types.js';
import type { BackendKind, IoBackend } from './backend.js';
import type { ReplayDevice } from './engine.js';

const COMPLETION_FIELDS = 3;

/** Simulated devices as the engine's devices: offsets and sizes go to them as the trace gives them. */
export function virtualDevices(devices: readonly Device[]): ReplayDevice[] {
  return devices.map((d) => ({
    path: d.name,
    blockBytes: 1,
    // The device takes offsets modulo its capacity itself: the engine must not move them.
    capacityBytes: Number.MAX_SAFE_INTEGER,
    writable: true,
    closed: false,
  }));
}

export class VirtualBackend implements IoBackend {
  readonly kind: BackendKind = 'virtual';
  readonly concurrency = Number.POSITIVE_INFINITY;
  completions = new Float64Array(256 * COMPLETION_FIELDS);
  readonly #devices: readonly Device[];
  #now: number;
  #queued = 0;
  // Pending completions: [time, order, slot, bytes], kept sorted by (time, order) = submission order.
  #pending: number[][] = [];
  #order = 0;
  #inFlight = 0;

  readonly #submitCostUs: number;

  /**
   * `startUs`: the virtual clock's reading when the replay starts; `submitCostUs`: how far the clock moves
   * at each submission (a system call's cost, to study lateness; 0 by default).
   */
  constructor(devices: readonly Device[], options: { startUs?: number; submitCostUs?: number } = {}) {
    this.#devices = devices;
    this.#now = options.startUs ?? 0;
    this.#submitCostUs = options.submitCostUs ?? 0;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  nowUs(): number {
    return this.#now;
  }

  /** The device takes the I/O at once (the clock stands still until the engine waits): what it knows
   * about its queue is then up to date for the greedy oracle's next peek, as in the virtual-clock engine. */
  queue(slot: number, device: number, write: boolean, offset: number, size: number): void {
    const done = this.#devices[device]!.submit(!write, offset, size, this.#now);
    this.#insert([Math.max(done.completeUs, this.#now), this.#order++, slot, size]);
    this.#queued++;
  }

  flush(): number {
    if (this.#queued === 0) return Number.NaN;
    this.#inFlight += this.#queued;
    this.#queued = 0;
    const at = this.#now;
    this.#now += this.#submitCostUs;
    return at;
  }

  #insert(entry: number[]): void {
    const p = this.#pending;
    let lo = 0;
    let hi = p.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = p[mid]!;
      if (m[0]! < entry[0]! || (m[0] === entry[0] && m[1]! < entry[1]!)) lo = mid + 1;
      else hi = mid;
    }
    p.splice(lo, 0, entry);
  }

  poll(): number {
    let n = 0;
    const p = this.#pending;
    while (n < p.length && p[n]![0]! <= this.#now) n++;
    if (n === 0) return 0;
    if (this.completions.length < n * COMPLETION_FIELDS)
      this.completions = new Float64Array(n * 2 * COMPLETION_FIELDS);
    for (let i = 0; i < n; i++) {
      const e = p[i]!;
      this.completions[i * COMPLETION_FIELDS] = e[2]!;
      this.completions[i * COMPLETION_FIELDS + 1] = e[3]!;
      this.completions[i * COMPLETION_FIELDS + 2] = e[0]!;
    }
    p.splice(0, n);
    this.#inFlight -= n;
    return n;
  }

  wait(untilUs: number): number {
    const ready = this.poll();
    if (ready > 0) return ready;
    const next = this.#pending[0]?.[0] ?? Number.POSITIVE_INFINITY;
    const to = Math.min(untilUs, next);
    if (to > this.#now && Number.isFinite(to)) this.#now = to;
    return this.poll();
  }

  peekReadUs(device: number, offset: number, size: number, atUs: number): number {
    return this.#devices[device]!.peekRead(offset, size, Math.max(atUs, this.#now));
  }

  async close(): Promise<void> {
    this.#pending = [];
    this.#inFlight = 0;
  }
}
