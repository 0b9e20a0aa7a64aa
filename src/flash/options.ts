/**
 * Options of the simulated SSD, their defaults and their validation. `resolveFlashConfig` turns the
 * user's partial options into a complete, checked configuration with the derived geometry, so the
 * simulator itself never looks at a default or an undefined field.
 *
 * Defaults, and why (chosen for realism, not to favour any admission policy):
 * - Geometry: FEMU's 8 channels x 8 LUNs and 256 pages per block, but 64 blocks per LUN instead of 256:
 *   4 GiB raw. The mapping tables (~7 MB per device) then stay in the CPU's last-level cache for three
 *   devices, which roughly halves the time per command; GC bursts have FEMU's length (they scale with the
 *   pages per block, not with the number of blocks).
 * - Over-provisioning 22% of raw pages (Intel 750, REFERENCE.md; consumer drives 7%, enterprise up to
 *   28%). Under uniformly random overwrites this gives a write amplification of ~3.
 * - Write buffer 4 MiB, flushed one stripe (one page per LUN) at a time; 3 us to accept a write or to
 *   serve a read from DRAM.
 * - GC over lines (FEMU; also what drives with superblocks do): background GC below 5% free lines (well
 *   under the over-provisioning — a threshold above it keeps GC running forever on nearly-full victims,
 *   the FEMU 25% default does that here), foreground (blocking) GC below 2%, greedy victims. Line GC
 *   makes a device busy as a whole for tens of milliseconds at a time, then idle: the device-level
 *   busy periods that LinnOS exploits. gcUnit 'lun' (per-die GC) spreads the same work evenly instead.
 * - Read priority on (controllers serve reads ahead of queued programs and GC work); background GC runs
 *   at idle priority (after host programs), deferred while 50 ms of it are still queued on a die (then
 *   foreground GC takes over at its floor). Suspension off: not every drive suspends, and with it on the
 *   read tail nearly vanishes; switch it on to model drives that do.
 * - FEMU exactly: { readPriority: false, idleBackgroundGc: false } — everything FIFO per LUN. Under the
 *   Azure-like load this saturates (a line GC puts ~40 ms of work ahead of every read), as in FEMU.
 */
import { usageError } from '../errors.js';
import { type FlashProfile, type FlashProfileName, flashProfileNames, flashProfiles } from './profiles.js';

/** How garbage collection groups blocks: one die at a time, or FEMU's lines (a block index across all LUNs). */
export type GcUnit = 'lun' | 'line';

export interface PreconditionOptions {
  /** Fraction of the logical pages written sequentially first (0..1). */
  fill: number;
  /** Random single-page overwrites afterwards, as a fraction of the logical pages (>= 0). */
  randomOverwrites: number;
}

export interface FlashOptions {
  /** Timing profile by name or given in full. Default 'femu'. */
  profile?: FlashProfileName | FlashProfile;
  channels?: number;
  lunsPerChannel?: number;
  blocksPerLun?: number;
  pagesPerBlock?: number;
  /** Flash page and mapping unit in bytes. Default 4096. */
  pageBytes?: number;
  /** Fraction of raw pages kept back from the exported capacity (0 < op < 0.9). Default 0.22. */
  overProvisioning?: number;
  /** Per-page channel transfer time in us, added to each page read and program (no channel contention). Default 0 (as FEMU). */
  transferUs?: number;
  /** DRAM write buffer size in bytes; 0 = write-through (each write programs at once). Default 4 MiB. */
  bufferBytes?: number;
  /** Pages accumulated before a flush; default one stripe (one page per LUN), capped at the buffer size. */
  flushPages?: number;
  /** Time to accept a write into, or serve a read from, the DRAM buffer, us. Default 3. */
  bufferLatencyUs?: number;
  /** Background GC starts when a GC unit's free blocks fall below this fraction. Default 0.05. */
  gcThreshold?: number;
  /** Foreground (blocking) GC starts below this fraction. Default 0.02. */
  gcForegroundThreshold?: number;
  /** Default 'line' (FEMU; superblocks across all dies, as most drives do). */
  gcUnit?: GcUnit;
  /** Background GC work runs only when the die has nothing else queued (true) or in FIFO order with host work (false). Default true. */
  idleBackgroundGc?: boolean;
  /** Background GC is deferred while a die already has this much idle-priority work queued, us. Default 50,000. */
  backgroundBacklogUs?: number;
  /** Reads go ahead of programs / erases / GC work queued but not started. Default true. */
  readPriority?: boolean;
  /** A read suspends an in-progress program, erase or GC copy (needs readPriority). Default false. */
  suspension?: boolean;
  /** Time for a program/erase to reach a suspend point, us. Default 30. */
  suspendLatencyUs?: number;
  /** Suspensions allowed per program/erase before reads must wait for it. Default 4. */
  maxSuspendsPerOp?: number;
  /** A read is slow when its latency exceeds this multiple of the nominal page read time. Default 4. */
  slowReadMultiple?: number;
  /** Age the device before use (untimed). false = fresh device. Default { fill: 1, randomOverwrites: 0.5 }. */
  precondition?: PreconditionOptions | false;
  /**
   * Return the same SubmitResult object from every submit(), overwritten each time (saves an allocation
   * per command, ~5% of a submit). Only for callers that read the result before the next submit.
   * Default false.
   */
  reuseResult?: boolean;
  /** Seed for preconditioning's random overwrites. Default 1. */
  seed?: number;
  /** Device name. Default 'ssd'. */
  name?: string;
}

export const flashDefaults = {
  profile: 'femu' as FlashProfileName,
  channels: 8,
  lunsPerChannel: 8,
  blocksPerLun: 64,
  pagesPerBlock: 256,
  pageBytes: 4096,
  overProvisioning: 0.22,
  transferUs: 0,
  bufferBytes: 4 * 1024 * 1024,
  bufferLatencyUs: 3,
  gcThreshold: 0.05,
  gcForegroundThreshold: 0.02,
  gcUnit: 'line' as GcUnit,
  idleBackgroundGc: true,
  backgroundBacklogUs: 50_000,
  readPriority: true,
  suspension: false,
  suspendLatencyUs: 30,
  maxSuspendsPerOp: 4,
  slowReadMultiple: 4,
  precondition: { fill: 1, randomOverwrites: 0.5 } as PreconditionOptions,
  reuseResult: false,
  seed: 1,
  name: 'ssd',
} as const;

/** A complete, validated configuration with the derived geometry. */
export interface FlashConfig {
  readonly name: string;
  readonly profile: FlashProfile;
  readonly channels: number;
  readonly lunsPerChannel: number;
  readonly luns: number;
  readonly blocksPerLun: number;
  readonly pagesPerBlock: number;
  readonly pageBytes: number;
  readonly overProvisioning: number;
  readonly physicalPages: number;
  readonly logicalPages: number;
  readonly capacityBytes: number;
  readonly transferUs: number;
  readonly bufferPages: number;
  readonly flushPages: number;
  readonly bufferLatencyUs: number;
  readonly gcUnit: GcUnit;
  /** GC groups: LUNs ('lun') or 1 ('line'). */
  readonly groups: number;
  /** LUNs per GC group: 1 ('lun') or all ('line'). */
  readonly unitsPerGroup: number;
  /** Free blocks (per group) under which background GC runs. */
  readonly gcFreeBlocks: number;
  /** Free blocks (per group) under which foreground GC runs. */
  readonly gcForegroundFreeBlocks: number;
  readonly idleBackgroundGc: boolean;
  readonly backgroundBacklogUs: number;
  readonly readPriority: boolean;
  readonly suspension: boolean;
  readonly suspendLatencyUs: number;
  readonly maxSuspendsPerOp: number;
  readonly slowReadMultiple: number;
  /** Slowest unqueued page read: max read time over page types plus transfer. */
  readonly nominalReadUs: number;
  readonly precondition: PreconditionOptions | false;
  readonly reuseResult: boolean;
  readonly seed: number;
}

function positiveInteger(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw usageError(`options.${name} must be an integer in 1..${max} (got ${String(value)})`);
  }
  return value;
}

function finiteAtLeast(name: string, value: number, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw usageError(`options.${name} must be a finite number >= ${min} (got ${String(value)})`);
  }
  return value;
}

function fraction(name: string, value: number, minExclusive: number, maxExclusive: number): number {
  if (typeof value !== 'number' || !(value > minExclusive && value < maxExclusive)) {
    throw usageError(
      `options.${name} must be a number in (${minExclusive}, ${maxExclusive}) (got ${String(value)})`,
    );
  }
  return value;
}

function resolveProfile(profile: FlashProfileName | FlashProfile): FlashProfile {
  if (typeof profile === 'string') {
    if (!(flashProfileNames as readonly string[]).includes(profile)) {
      throw usageError(`options.profile must be one of ${flashProfileNames.join(', ')} (got ${profile})`);
    }
    return flashProfiles[profile];
  }
  const types = profile.readUs.length;
  if (types < 1 || profile.programUs.length !== types) {
    throw usageError('options.profile must give readUs and programUs for the same (>= 1) page types');
  }
  for (const v of [...profile.readUs, ...profile.programUs, profile.eraseUs]) {
    if (!(Number.isFinite(v) && v > 0)) throw usageError('options.profile times must be positive numbers');
  }
  return profile;
}

export function resolveFlashConfig(options: FlashOptions = {}): FlashConfig {
  const d = flashDefaults;
  const profile = resolveProfile(options.profile ?? d.profile);
  const channels = positiveInteger('channels', options.channels ?? d.channels, 1024);
  const lunsPerChannel = positiveInteger('lunsPerChannel', options.lunsPerChannel ?? d.lunsPerChannel, 1024);
  const blocksPerLun = positiveInteger('blocksPerLun', options.blocksPerLun ?? d.blocksPerLun, 1 << 20);
  const pagesPerBlock = positiveInteger('pagesPerBlock', options.pagesPerBlock ?? d.pagesPerBlock, 1 << 16);
  const pageBytes = positiveInteger('pageBytes', options.pageBytes ?? d.pageBytes, 1 << 24);
  if (pageBytes % 512 !== 0)
    throw usageError(`options.pageBytes must be a multiple of 512 (got ${pageBytes})`);
  const luns = channels * lunsPerChannel;
  const physicalPages = luns * blocksPerLun * pagesPerBlock;
  if (physicalPages > 0x7fffffff) {
    throw usageError(`geometry has ${physicalPages} pages; at most 2^31-1 are supported`);
  }
  const overProvisioning = fraction(
    'overProvisioning',
    options.overProvisioning ?? d.overProvisioning,
    0,
    0.9,
  );
  const gcUnit = options.gcUnit ?? d.gcUnit;
  if (gcUnit !== 'lun' && gcUnit !== 'line') {
    throw usageError(`options.gcUnit must be 'lun' or 'line' (got ${String(gcUnit)})`);
  }
  const groups = gcUnit === 'lun' ? luns : 1;
  const unitsPerGroup = gcUnit === 'lun' ? 1 : luns;
  const gcThreshold = fraction('gcThreshold', options.gcThreshold ?? d.gcThreshold, 0, 1);
  const gcForegroundThreshold = fraction(
    'gcForegroundThreshold',
    options.gcForegroundThreshold ?? d.gcForegroundThreshold,
    0,
    1,
  );
  if (gcForegroundThreshold > gcThreshold) {
    throw usageError(
      `options.gcForegroundThreshold (${gcForegroundThreshold}) must not exceed options.gcThreshold (${gcThreshold})`,
    );
  }
  // A GC run needs one free block to copy into, so the foreground floor keeps at least two.
  const gcForegroundFreeBlocks = Math.max(2, Math.ceil(gcForegroundThreshold * blocksPerLun));
  const gcFreeBlocks = Math.max(gcForegroundFreeBlocks, Math.ceil(gcThreshold * blocksPerLun));
  // Exported pages must leave every group its GC reserve, its open block and room to make progress.
  const logicalPages = Math.floor(physicalPages * (1 - overProvisioning));
  const spareBlocks = (physicalPages - logicalPages) / (groups * unitsPerGroup * pagesPerBlock);
  if (spareBlocks < gcFreeBlocks + 2) {
    throw usageError(
      `options.overProvisioning ${overProvisioning} leaves ${spareBlocks.toFixed(1)} spare blocks per LUN; ` +
        `GC needs more than ${gcFreeBlocks + 2} (raise overProvisioning or blocksPerLun, or lower gcThreshold)`,
    );
  }
  const transferUs = finiteAtLeast('transferUs', options.transferUs ?? d.transferUs, 0);
  const bufferBytes = finiteAtLeast('bufferBytes', options.bufferBytes ?? d.bufferBytes, 0);
  const bufferPages = Math.floor(bufferBytes / pageBytes);
  if (bufferBytes > 0 && bufferPages < 1) {
    throw usageError(`options.bufferBytes must hold at least one page of ${pageBytes} bytes (or be 0)`);
  }
  const flushPages =
    bufferPages === 0
      ? 0
      : positiveInteger('flushPages', options.flushPages ?? Math.min(luns, bufferPages), bufferPages);
  const bufferLatencyUs = finiteAtLeast('bufferLatencyUs', options.bufferLatencyUs ?? d.bufferLatencyUs, 0);
  const readPriority = options.readPriority ?? d.readPriority;
  const suspension = options.suspension ?? d.suspension;
  if (suspension && !readPriority) {
    throw usageError(
      'options.suspension needs options.readPriority (a read can only suspend the op it waits on)',
    );
  }
  const precondition = options.precondition ?? d.precondition;
  if (precondition !== false) {
    if (!(precondition.fill >= 0 && precondition.fill <= 1)) {
      throw usageError(`options.precondition.fill must be in [0, 1] (got ${String(precondition.fill)})`);
    }
    finiteAtLeast('precondition.randomOverwrites', precondition.randomOverwrites, 0);
  }
  const seed = options.seed ?? d.seed;
  if (!Number.isInteger(seed)) throw usageError(`options.seed must be an integer (got ${String(seed)})`);
  return {
    name: options.name ?? d.name,
    profile,
    channels,
    lunsPerChannel,
    luns,
    blocksPerLun,
    pagesPerBlock,
    pageBytes,
    overProvisioning,
    physicalPages,
    logicalPages,
    capacityBytes: logicalPages * pageBytes,
    transferUs,
    bufferPages,
    flushPages,
    bufferLatencyUs,
    gcUnit,
    groups,
    unitsPerGroup,
    gcFreeBlocks,
    gcForegroundFreeBlocks,
    idleBackgroundGc: options.idleBackgroundGc ?? d.idleBackgroundGc,
    backgroundBacklogUs: finiteAtLeast(
      'backgroundBacklogUs',
      options.backgroundBacklogUs ?? d.backgroundBacklogUs,
      0,
    ),
    readPriority,
    suspension,
    suspendLatencyUs: finiteAtLeast('suspendLatencyUs', options.suspendLatencyUs ?? d.suspendLatencyUs, 0),
    maxSuspendsPerOp: finiteAtLeast('maxSuspendsPerOp', options.maxSuspendsPerOp ?? d.maxSuspendsPerOp, 0),
    slowReadMultiple: finiteAtLeast('slowReadMultiple', options.slowReadMultiple ?? d.slowReadMultiple, 1),
    nominalReadUs: Math.max(...profile.readUs) + transferUs,
    precondition,
    reuseResult: options.reuseResult ?? d.reuseResult,
    seed,
  };
}
