import { LakeError } from '../../errors.js';
import { UTILISATION_PERIOD_MS } from './constants.js';
import type { UtilisationMonitor } from './utilisation.js';

/**
 * A GPU's process list as the slowdown signal reads it (NvmlUtilisationSource implements it): the count
 * the device monitor's last poll left, and a poll now.
 */
export interface ForeignProcessSource {
  /** Other processes with a compute context on the device at the last poll (no driver call). */
  readonly foreignProcesses: number;
  /** Reads the process list now (one driver call) and returns the count of other processes. */
  pollForeignProcesses(): number;
}

/**
 * How much slower than calibrated a GPU batch must run to count as slowed, and for how many batches in a
 * row. Measured on lake's reference 2-core VM (load 2-3), batches of LinnOS NN+2 through lakeD against the
 * calibrated figure of their size, 3,000 back to back and 600 each 1 ms and 5 ms apart: single batches
 * reached 3x calibrated at the 99th percentile and 43x at worst (a preempted lakeD, a wake-up from sleep);
 * the smallest of three consecutive ratios never passed 2.2x. So one batch says nothing, three in a row
 * over 4x do: twice the worst noise seen. The excess must also reach 500 us, because for a batch calibrated
 * at a few tens of us a lakeD wake-up alone (100-300 us there) is several times its cost; a kernel of
 * another context delays lake's by a time slice or a kernel, milliseconds.
 */
export const SLOWDOWN_RATIO = 4;
export const SLOWDOWN_MIN_EXCESS_US = 500;
export const SLOWDOWN_RUN = 3;

export interface SlowdownSignalOptions {
  /** The GPU's backend name, for messages and reports ('cuda'). */
  backend: string;
  /** The device's NVML monitor: its readings after the signal was raised can clear it. */
  monitor: UtilisationMonitor;
  /** The device's process list (NvmlUtilisationSource). */
  processes: ForeignProcessSource;
  /** A batch is slowed when it takes at least `ratio` x its calibrated time... (default SLOWDOWN_RATIO) */
  ratio?: number;
  /** ...and at least this many us more (default SLOWDOWN_MIN_EXCESS_US)... */
  minExcessUs?: number;
  /** ...and the signal is raised after this many slowed batches in a row (default SLOWDOWN_RUN). */
  run?: number;
  /** Fewest ms between two process-list reads of the signal's own (default 20, the monitor's period). */
  pollEveryMs?: number;
}

/** What ended a raise: the other processes left the device, or NVML's load fell below the threshold. */
export type SlowdownClear = 'exit' | 'nvml';

/** What the signal did, for reports: counters and the last raise's time (monitor clock, ms). */
export interface SlowdownReport {
  readonly backend: string;
  raises: number;
  clearedByExit: number;
  clearedByNvml: number;
  /**
   * Slowed batches that ended a run of `run` or more in a row while no other process was on the device
   * (lake's own slowness: raises nothing). The first `run - 1` of each run are not counted.
   */
  slowAlone: number;
  lastRaisedAtMs: number | null;
}

/**
 * The contention signal that moves within a few batches: lake's own GPU batches running slower than
 * calibrated while another process has a compute context on the device. NVML's utilisation needs a sample
 * period (1/6 s or more on many GPUs) to show a job's load; a kernel of the job delays lake's very next
 * batch. When `run` batches in a row are slowed and another process is listed, the backend counts as fully
 * loaded by others (foreign load 1) at once. It stays so until the other processes leave the list (seen at
 * the monitor's next poll) or a monitor reading that rests only on time after the raise shows their load at
 * or below the threshold (so a reading from before the job started cannot clear it). With no other process
 * listed a slowed batch is lake's own doing (more of its own load, a busy host) and raises nothing.
 * Observing a batch allocates nothing and reads no clock: the caller passes the times it already took.
 */
export class SlowdownSignal {
  readonly backend: string;
  readonly ratio: number;
  readonly minExcessUs: number;
  readonly run: number;
  readonly report: SlowdownReport;
  readonly #monitor: UtilisationMonitor;
  readonly #processes: ForeignProcessSource;
  readonly #pollEveryMs: number;
  #slowInRow = 0;
  #raisedAtMs = Number.NaN;
  #polledAtMs = Number.NEGATIVE_INFINITY;

  constructor(options: SlowdownSignalOptions) {
    this.backend = options.backend;
    this.ratio = options.ratio ?? SLOWDOWN_RATIO;
    this.minExcessUs = options.minExcessUs ?? SLOWDOWN_MIN_EXCESS_US;
    this.run = options.run ?? SLOWDOWN_RUN;
    this.#pollEveryMs = options.pollEveryMs ?? UTILISATION_PERIOD_MS;
    this.#monitor = options.monitor;
    this.#processes = options.processes;
    const bad = (name: string, value: number, rule: string): never => {
      throw new LakeError(
        'LAKE_E_USAGE',
        `slowdown signal of ${this.backend}: ${name} ${rule}, got ${value}`,
      );
    };
    if (!(this.ratio >= 1 && Number.isFinite(this.ratio))) bad('ratio', this.ratio, 'must be a number >= 1');
    if (!(this.minExcessUs >= 0 && Number.isFinite(this.minExcessUs)))
      bad('minExcessUs', this.minExcessUs, 'must be a number >= 0');
    if (!(Number.isSafeInteger(this.run) && this.run >= 1)) bad('run', this.run, 'must be an integer >= 1');
    this.report = {
      backend: this.backend,
      raises: 0,
      clearedByExit: 0,
      clearedByNvml: 0,
      slowAlone: 0,
      lastRaisedAtMs: null,
    };
  }

  /** Whether the signal is raised (without checking whether it should clear: see contended()). */
  get raised(): boolean {
    return !Number.isNaN(this.#raisedAtMs);
  }

  /**
   * One GPU batch ran: what the calibration says it costs, what the caller waited for it (copy in, launch,
   * copy out, synchronise), and the clock (the monitor's, ms) when it ended.
   */
  observe(calibratedUs: number, measuredUs: number, endMs: number): void {
    if (this.raised) return;
    if (!(measuredUs >= this.ratio * calibratedUs && measuredUs - calibratedUs >= this.minExcessUs)) {
      this.#slowInRow = 0;
      return;
    }
    this.#slowInRow++;
    if (this.#slowInRow < this.run) return;
    // The count the monitor's last poll left, or the list itself when that says none (at most once a poll
    // period: a run of slow batches alone on the device does not read the list every batch).
    let others = this.#processes.foreignProcesses;
    if (others === 0 && endMs - this.#polledAtMs >= this.#pollEveryMs) {
      this.#polledAtMs = endMs;
      others = this.#processes.pollForeignProcesses();
    }
    if (others === 0) {
      this.report.slowAlone++;
      return;
    }
    this.#raisedAtMs = endMs;
    this.#slowInRow = 0;
    this.report.raises++;
    this.report.lastRaisedAtMs = endMs;
  }

  /** Whether the backend counts as contended now: raised, and not cleared by the monitor's latest reading. */
  contended(): boolean {
    if (!this.raised) return false;
    const foreign = this.#monitor.foreign(); // samples when a period has passed
    if (this.#processes.foreignProcesses === 0) return this.#clear('exit');
    const last = this.#monitor.last;
    if (last !== undefined && last.fromMs >= this.#raisedAtMs && foreign <= this.#monitor.threshold)
      return this.#clear('nvml');
    return true;
  }

  #clear(by: SlowdownClear): false {
    this.#raisedAtMs = Number.NaN;
    this.#slowInRow = 0;
    if (by === 'exit') this.report.clearedByExit++;
    else this.report.clearedByNvml++;
    return false;
  }
}
