import {
  type AdmissionPolicy,
  type ArrayContext,
  type ReadTry,
  type TimedDecisions,
  timedDecisions,
} from '../../array/policy.js';
import { LakeError } from '../../errors.js';
import { LINNOS_FEATURES, linnosFeatures } from '../../linnos/features.js';
import type { BatchClose, BatchingOptions } from '../policy/batcher.js';
import { VirtualBatcher } from '../policy/batcher.js';
import { batchCostUs } from '../policy/calibration.js';
import { INLINE } from '../policy/constants.js';
import type { ContentionPolicy } from '../policy/contention.js';
import type { PlacementReason } from '../policy/placement.js';
import type { CaptureRing } from '../registry/capture-ring.js';
import type { FeatureRegistry } from '../registry/feature-registry.js';
import type { CompiledField, FeatureSchema } from '../registry/schema.js';
import type { LinnosBatchRunner } from './batch-runner.js';

/** What LinnOS on LAKE did over a replay: plain data. */
export interface LakeLinnosStats {
  /** Latency-critical read tries offered to the policy. */
  offered: number;
  /** Tries submitted without a prediction (fewer than 4 completed reads on the device, or no model). */
  unpredicted: number;
  /** Tries decided by a prediction; every one is held, then released with its decision. */
  decisions: number;
  /** Decisions that said slow (the try was revoked). */
  revoked: number;
  /** Decisions by where their batch ran ('inline' or a backend). */
  decisionsBy: Record<string, number>;
  /** Batches by where they ran. */
  batchesBy: Record<string, number>;
  /** Batches by why they ran there. */
  reasons: Partial<Record<PlacementReason, number>>;
  /**
   * Moves off a backend by contention: each run of consecutive batches kept off one (reason 'utilisation'
   * or 'slowdown') counted once, by the reason of its first batch, so a run shows which signal moved first
   * each time another job started: lakeD's or NVML's load ('utilisation') or lake's slowed GPU batches.
   */
  contentionMoves: { utilisation: number; slowdown: number };
  /** Batches by how they closed: window ended, full, or a lone read decided at once. */
  closes: Record<BatchClose, number>;
  /** batchSizes[k] = batches of k reads. */
  batchSizes: number[];
  /** Inference time charged to the reads' latency (calibrated us per batch), summed over batches. */
  chargedUs: number;
  /** Wall-clock time the inference calls took, summed over batches. */
  wallUs: number;
  /** Virtual time reads waited from their arrival to their decision (batching + inference), summed. */
  waitedUs: number;
  /** Feature vectors captured into the registry and read back from it. */
  captured: number;
  /** Captures the registry refused (ring full): those reads were decided alone from their own vector. */
  registryDropped: number;
  /** Batches whose inference failed where placed: they ran inline instead. */
  faults: number;
  /**
   * Backends whose device faulted in lakeD during this run: the index (0-based, in closing order) of the
   * batch running there when the policy learned of it (at that batch's end), and the device's reason.
   * That batch still got every decision (the CPU twin finished it) and was charged as the CPU path; later
   * batches went elsewhere.
   */
  backendFaults: Record<string, { batch: number; reason: string }>;
}

/** One closed batch, for observers (tests, traces). The arrays are copies. */
export interface LakeBatchEvent {
  device: number;
  nowUs: number;
  why: BatchClose;
  placement: string;
  reason: PlacementReason;
  costUs: number;
  digits: Uint8Array;
  decisions: Uint8Array;
}

export interface LakeLinnosPolicyOptions {
  name: string;
  /** The model's name in the contention policy's tables ('nn', 'nn+1', 'nn+2'). */
  model: string;
  /** One batch runner per device (its model); undefined = no model: always submit there. */
  runners: readonly (LinnosBatchRunner | undefined)[];
  contention: ContentionPolicy;
  /** Where the features go and come back from: one capture ring per device is registered in it. */
  registry: FeatureRegistry;
  batching: BatchingOptions;
  /** 'auto' (default): the contention policy places each batch; otherwise every batch runs there. */
  placement?: string;
  /** LinnOS+HL: hedge reads not complete after this many us. */
  hedgeAfterUs?: number;
  onBatch?: (event: LakeBatchEvent) => void;
}

const CAPTURE_SCHEMA_FIELDS: FeatureSchema['fields'] = [
  { name: 'digits', type: 'u8', length: LINNOS_FEATURES },
  { name: 'ticket', type: 'i32' },
  { name: 'arrivalUs', type: 'f64' },
];

function emptyStats(maxBatch: number): LakeLinnosStats {
  return {
    offered: 0,
    unpredicted: 0,
    decisions: 0,
    revoked: 0,
    decisionsBy: {},
    batchesBy: {},
    reasons: {},
    contentionMoves: { utilisation: 0, slowdown: 0 },
    closes: { window: 0, full: 0, lone: 0 },
    batchSizes: new Array<number>(maxBatch + 1).fill(0),
    chargedUs: 0,
    wallUs: 0,
    waitedUs: 0,
    captured: 0,
    registryDropped: 0,
    faults: 0,
    backendFaults: {},
  };
}

interface DeviceRing {
  readonly ring: CaptureRing;
  readonly bytes: Uint8Array;
  readonly digits: CompiledField;
  readonly ticket: CompiledField;
  readonly arrival: CompiledField;
}

/**
 * LinnOS on LAKE: for each latency-critical read try, the 31-digit vector of the target device is
 * captured into the feature registry (one capture ring per device) and the try is held; the device's
 * batcher closes a batch after its window, when full, or at once for a lone read; the batch's vectors are
 * read back from the registry into lakeShm and run where the contention policy says (inline for lone reads
 * and small batches, lakeD from the calibrated crossover on, inline again while others keep lakeD busy).
 * Each read is released at the batch's close time plus the batch's calibrated inference time: batching
 * and inference cost show in its latency. Never throws into the array: a failed batch runs inline.
 */
export class LakeLinnosPolicy implements AdmissionPolicy {
  readonly name: string;
  readonly hedgeAfterUs?: number;
  stats: LakeLinnosStats;
  readonly #model: string;
  readonly #runners: readonly (LinnosBatchRunner | undefined)[];
  readonly #contention: ContentionPolicy;
  readonly #rings: (DeviceRing | undefined)[];
  readonly #batcher: VirtualBatcher;
  readonly #placement: string;
  readonly #onBatch: ((event: LakeBatchEvent) => void) | undefined;
  readonly #digits = new Uint8Array(LINNOS_FEATURES);
  readonly #tickets: Int32Array;
  readonly #arrivals: Float64Array;
  #context: (ArrayContext & TimedDecisions) | undefined;
  /** Whether the last batch placed by the policy was kept off a backend by contention. */
  #offByContention = false;

  constructor(options: LakeLinnosPolicyOptions) {
    this.name = options.name;
    if (options.hedgeAfterUs !== undefined) this.hedgeAfterUs = options.hedgeAfterUs;
    this.#model = options.model;
    this.#runners = options.runners;
    this.#contention = options.contention;
    this.#placement = options.placement ?? 'auto';
    this.#onBatch = options.onBatch;
    options.contention.table(options.model); // fail now, not on the first batch
    const maxBatch = options.batching.maxBatch;
    this.stats = emptyStats(maxBatch);
    for (const runner of options.runners) {
      if (runner !== undefined && runner.capacity < maxBatch) {
        throw new LakeError(
          'LAKE_E_USAGE',
          `batch runner of ${runner.model} holds ${runner.capacity} rows, batches reach ${maxBatch}`,
        );
      }
    }
    let capacity = 16;
    while (capacity < 2 * maxBatch) capacity *= 2;
    this.#rings = options.runners.map((runner, device) => {
      if (runner === undefined) return undefined;
      const ring = options.registry.register(
        { name: `${options.name}/device${device}`, fields: CAPTURE_SCHEMA_FIELDS },
        { capacity },
      );
      return {
        ring,
        bytes: new Uint8Array(ring.buffer),
        digits: ring.field('digits'),
        ticket: ring.field('ticket'),
        arrival: ring.field('arrivalUs'),
      };
    });
    this.#tickets = new Int32Array(maxBatch);
    this.#arrivals = new Float64Array(maxBatch);
    this.#batcher = new VirtualBatcher(options.runners.length, options.batching, (device, size, nowUs, why) =>
      this.#closeBatch(device, size, nowUs, why),
    );
  }

  /** A new replay: fresh statistics, no open batches, empty rings. */
  start(context: ArrayContext): void {
    this.#context = timedDecisions(context);
    this.stats = emptyStats(this.#batcher.options.maxBatch);
    this.#offByContention = false;
    this.#batcher.reset();
    for (const r of this.#rings) r?.ring.truncate();
  }

  admit(read: ReadTry, plain: ArrayContext): boolean {
    const stats = this.stats;
    stats.offered++;
    const device = read.device;
    const ring = this.#rings[device];
    const view = plain.devices[device];
    if (ring === undefined || view === undefined || !linnosFeatures(view, read.size, this.#digits)) {
      stats.unpredicted++;
      return false;
    }
    const context = timedDecisions(plain);
    if (context === undefined) return this.#decideNow(device, read.nowUs);
    this.#context = context;
    const ticket = context.hold();
    const writer = ring.ring.begin(read.nowUs);
    if (writer === undefined) {
      // The ring is full (it holds twice the largest batch, so only a stuck consumer gets here).
      stats.registryDropped++;
      this.#decideAlone(device, ticket, read.nowUs);
      return false;
    }
    writer
      .capture(ring.digits, this.#digits)
      .set(ring.ticket, 0, ticket)
      .set(ring.arrival, 0, read.nowUs)
      .commit();
    stats.captured++;
    const worth = this.#placement === 'auto' ? this.#contention.worthBatching(this.#model) : null;
    this.#batcher.offer(device, read.nowUs, context, worth);
    return false;
  }

  /**
   * On an engine without timed decisions (no batching, no charged time): the vector still goes through
   * the registry, and the read is decided at once, inline.
   */
  #decideNow(device: number, nowUs: number): boolean {
    const stats = this.stats;
    const ring = this.#rings[device]!;
    const runner = this.#runners[device]!;
    if (ring.ring.capture({ digits: this.#digits, ticket: -1, arrivalUs: nowUs }, nowUs)) {
      stats.captured++;
      ring.ring.drain((entry) => {
        const at = entry.payload + ring.digits.offset;
        runner.input.set(ring.bytes.subarray(at, at + LINNOS_FEATURES));
      }, 1);
    } else {
      stats.registryDropped++;
      runner.input.set(this.#digits);
    }
    runner.runInline(1);
    const revoke = runner.output[0] === 1;
    stats.closes.lone++;
    stats.decisions++;
    if (revoke) stats.revoked++;
    stats.batchesBy[INLINE] = (stats.batchesBy[INLINE] ?? 0) + 1;
    stats.decisionsBy[INLINE] = (stats.decisionsBy[INLINE] ?? 0) + 1;
    stats.reasons.forced = (stats.reasons.forced ?? 0) + 1;
    stats.batchSizes[1]!++;
    return revoke;
  }

  /** Reads `size` entries back from the device's ring into lakeShm, runs them, releases their reads. */
  #closeBatch(device: number, size: number, nowUs: number, why: BatchClose): void {
    const ring = this.#rings[device]!;
    const runner = this.#runners[device]!;
    const input = runner.input;
    const tickets = this.#tickets;
    const arrivals = this.#arrivals;
    let n = 0;
    ring.ring.drain((entry) => {
      const at = entry.payload + ring.digits.offset;
      input.set(ring.bytes.subarray(at, at + LINNOS_FEATURES), n * LINNOS_FEATURES);
      tickets[n] = entry.get(ring.ticket);
      arrivals[n] = entry.get(ring.arrival);
      n++;
    }, size);
    if (n === 0) return;
    this.stats.closes[why]++;
    this.#run(device, n, nowUs, why);
  }

  /**
   * Counts a move off a backend by contention when this batch starts a run of them. Only batches that
   * reached a crossover say whether contention holds: one placed on its backend ('crossover') ends the run,
   * smaller batches and forced ones leave it as it is.
   */
  #countMove(reason: PlacementReason): void {
    if (reason === 'utilisation' || reason === 'slowdown') {
      if (!this.#offByContention) this.stats.contentionMoves[reason]++;
      this.#offByContention = true;
    } else if (reason === 'crossover') this.#offByContention = false;
  }

  /** A read whose vector could not go through the registry: decided alone, inline, from its own copy. */
  #decideAlone(device: number, ticket: number, nowUs: number): void {
    this.#runners[device]!.input.set(this.#digits);
    this.#tickets[0] = ticket;
    this.#arrivals[0] = nowUs;
    this.stats.closes.lone++;
    this.#run(device, 1, nowUs, 'lone', INLINE);
  }

  #run(device: number, n: number, nowUs: number, why: BatchClose, forced?: string): void {
    const stats = this.stats;
    const runner = this.#runners[device]!;
    const table = this.#contention.table(this.#model);
    let placement: string;
    let reason: PlacementReason;
    let costUs: number;
    const fixed = forced ?? (this.#placement === 'auto' ? undefined : this.#placement);
    if (fixed === undefined) {
      const choice = this.#contention.choose(this.#model, n, this.#batcher.interArrivalUs(device));
      placement = choice.placement;
      reason = choice.reason;
      costUs = choice.costUs;
    } else {
      placement = fixed === INLINE || runner.backends.some((b) => b.name === fixed) ? fixed : INLINE;
      reason = 'forced';
      costUs = this.#contention.costUs(this.#model, placement, n);
    }
    const usableBefore = placement !== INLINE && this.#contention.fault(placement) === undefined;
    const inlineBefore = runner.inlineCommandCount;
    const started = performance.now();
    let ran = true;
    try {
      runner.run(placement, n);
    } catch {
      // lakeLib finishes work inline itself when lakeD dies; this is a launch it refused outright.
      stats.faults++;
      ran = false;
      placement = INLINE;
      costUs = batchCostUs(table, INLINE, n);
      runner.runInline(n);
    }
    const endedMs = performance.now();
    const wallUs = (endedMs - started) * 1000;
    stats.wallUs += wallUs;
    // The batch's own synchronise tells lakeLib when its device faulted: charge what ran, note when.
    const fault = usableBefore ? this.#contention.fault(placement) : undefined;
    if (fault !== undefined) {
      let batch = 0;
      for (const count of Object.values(stats.batchesBy)) batch += count;
      stats.backendFaults[placement] = { batch, reason: fault };
      costUs = this.#contention.costUs(this.#model, placement, n);
    } else if (ran && placement !== INLINE) {
      // What the caller waited for against the calibration: the slowdown signal's input (no clock read).
      // A batch lakeLib finished itself (lakeD died or was restarting) says nothing about the GPU.
      if (runner.inlineCommandCount === inlineBefore)
        this.#contention.observeBatch(placement, costUs, wallUs, endedMs);
      // The device's own monitor subtracts lake's kernels from a whole-device NVML reading (device samples,
      // utilisation rates), as lakeD's does its batches: the batch's calibrated time there.
      this.#contention.deviceMonitors[placement]?.addOwnBusyUs(costUs);
    }
    this.#countMove(reason);
    if (placement !== INLINE) {
      const share = runner.backendShare(placement, n);
      this.#contention.monitor?.addOwnBusyUs(batchCostUs(table, INLINE, share));
    }
    stats.batchesBy[placement] = (stats.batchesBy[placement] ?? 0) + 1;
    stats.decisionsBy[placement] = (stats.decisionsBy[placement] ?? 0) + n;
    stats.reasons[reason] = (stats.reasons[reason] ?? 0) + 1;
    stats.batchSizes[n]!++;
    stats.chargedUs += costUs;
    const doneUs = nowUs + costUs;
    const decisions = runner.output;
    const context = this.#context!;
    for (let i = 0; i < n; i++) {
      const revoke = decisions[i] === 1;
      if (revoke) stats.revoked++;
      stats.decisions++;
      stats.waitedUs += doneUs - this.#arrivals[i]!;
      context.release(this.#tickets[i]!, revoke, doneUs);
    }
    this.#onBatch?.({
      device,
      nowUs,
      why,
      placement,
      reason,
      costUs,
      digits: runner.input.slice(0, n * LINNOS_FEATURES),
      decisions: decisions.slice(0, n),
    });
  }
}
