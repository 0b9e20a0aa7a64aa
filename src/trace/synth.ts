/**
 * Workload generators with the parameters LAKE used to stand in for LinnOS's (non-public) Microsoft
 * traces: Poisson arrivals (exponential inter-arrival), a fixed read fraction, lognormal sizes clamped to
 * a maximum and rounded up to 4 KiB, uniform 4 KiB-aligned offsets. Seeded and lazy: the simulator pulls
 * records one at a time, so a generator never holds a trace in memory.
 *
 * Choices the paper leaves open (documented here, tested in test/trace/synth.test.ts):
 * - KB means KiB (LAKE's generators use KB = 1024).
 * - Sigma: the profile's maximum is the 99.99th percentile (z = 3.719) of the unclamped lognormal with
 *   the profile's mean: sigma = z - sqrt(z^2 - 2 ln(max/mean)). Azure reads get sigma 0.26, Cosmos writes
 *   (mean 107 KiB, max 32000 KiB) 2.16 - a heavy tail, as a max 300x the mean implies.
 * - Mu: chosen (bisection) so that the mean *after* rounding up to 4 KiB and clamping to the maximum
 *   equals the profile's mean; the generated sizes' mean is the paper's figure, not ~2 KiB above it.
 * - Times are kept in whole nanoseconds, so arrivals written as ms text read back exactly.
 * - Offsets: uniform over whole 4 KiB pages such that the I/O ends within `spanBytes` (default 64 GiB;
 *   simulated devices take offsets modulo their capacity).
 * - Write bursts (off by default): every `periodMs` a `burstMs` window in which arrivals come
 *   `rateMultiplier` times faster and only `readFraction` of them are reads - the write floods that make
 *   flash tails (buffer flushes, GC). The rate changes piecewise, memorylessly, at window edges.
 */
import { LakeError } from '../errors.js';
import { Random } from '../random.js';
import { mergeByArrival } from './merge.js';
import type { TraceRecord } from './types.js';

export const PAGE_BYTES = 4096;
const KIB = 1024;
const GIB = 1024 * 1024 * 1024;
export const DEFAULT_SPAN_BYTES = 64 * GIB;
/** The maximum size sits at this standard-normal quantile (p99.99) of the unclamped lognormal. */
export const MAX_SIZE_Z = 3.719;

export type ProfileName = 'azure' | 'bing-i' | 'cosmos';
export const profileNames: readonly ProfileName[] = ['azure', 'bing-i', 'cosmos'];

export interface SizeSpec {
  /** Mean size, KiB. */
  meanKiB: number;
  /** Maximum size, KiB. */
  maxKiB: number;
}

export interface WorkloadProfile {
  name: string;
  /** Mean of the exponential inter-arrival time, us. */
  meanInterArrivalUs: number;
  /** Fraction of I/Os that are reads. */
  readFraction: number;
  read: SizeSpec;
  write: SizeSpec;
}

/** REFERENCE.md: LAKE's parameters for the LinnOS workloads. */
export const profiles: Readonly<Record<ProfileName, WorkloadProfile>> = {
  azure: {
    name: 'azure',
    meanInterArrivalUs: 77,
    readFraction: 0.25,
    read: { meanKiB: 25, maxKiB: 64 },
    write: { meanKiB: 17, maxKiB: 64 },
  },
  'bing-i': {
    name: 'bing-i',
    meanInterArrivalUs: 416,
    readFraction: 0.23,
    read: { meanKiB: 55, maxKiB: 512 },
    write: { meanKiB: 30, maxKiB: 1024 },
  },
  cosmos: {
    name: 'cosmos',
    meanInterArrivalUs: 400,
    readFraction: 0.23,
    read: { meanKiB: 430, maxKiB: 7000 },
    write: { meanKiB: 107, maxKiB: 32000 },
  },
};

export interface WriteBurstOptions {
  /** A burst starts every periodMs. */
  periodMs: number;
  /** Each burst lasts burstMs (< periodMs). */
  burstMs: number;
  /** Arrival rate within a burst, as a multiple of the normal rate. */
  rateMultiplier: number;
  /** Read fraction within a burst. */
  readFraction: number;
  /** Start of the first burst, ms. */
  phaseMs: number;
}

/** Every second, 100 ms of 4x the arrival rate with 5% reads. */
export const defaultWriteBursts: Readonly<WriteBurstOptions> = {
  periodMs: 1000,
  burstMs: 100,
  rateMultiplier: 4,
  readFraction: 0.05,
  phaseMs: 0,
};

export interface SynthOptions {
  /** Arrivals are generated in [0, durationMs). */
  durationMs: number;
  /** Seed of the generator (a non-negative integer). */
  seed: number;
  /** Device number written on every record (synthesizeMix: of the first profile; the others follow). Default 0. */
  device?: number;
  /** Multiplies the arrival rate (3 = the "3x IOPS" runs). Default 1. */
  rateScale?: number;
  /** true for defaultWriteBursts, or the burst parameters to change. Default off. */
  writeBursts?: boolean | Partial<WriteBurstOptions>;
  /** Offsets fall in [0, spanBytes). Default 64 GiB. */
  spanBytes?: number;
}

/** The lognormal behind one size class, in bytes. */
export interface SizeModel {
  mu: number;
  sigma: number;
  meanBytes: number;
  /** The maximum rounded down to whole 4 KiB pages. */
  maxBytes: number;
}

const sizeModels = new Map<string, SizeModel>();

/** Lognormal parameters for a size class (see the file comment for how sigma and mu are chosen). */
export function sizeModel(spec: SizeSpec): SizeModel {
  const key = `${spec.meanKiB}/${spec.maxKiB}`;
  const cached = sizeModels.get(key);
  if (cached !== undefined) return cached;
  const meanBytes = spec.meanKiB * KIB;
  const maxBytes = Math.floor((spec.maxKiB * KIB) / PAGE_BYTES) * PAGE_BYTES;
  if (!(Number.isFinite(meanBytes) && meanBytes > PAGE_BYTES && meanBytes < maxBytes)) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `size class mean ${spec.meanKiB} KiB / max ${spec.maxKiB} KiB: the mean must lie strictly between 4 KiB and the max`,
    );
  }
  const logRatio = Math.log(maxBytes / meanBytes);
  const discriminant = MAX_SIZE_Z * MAX_SIZE_Z - 2 * logRatio;
  const sigma = discriminant > 0 ? MAX_SIZE_Z - Math.sqrt(discriminant) : MAX_SIZE_Z;
  // The realised mean grows with mu; bisect until it matches.
  let lo = -40;
  let hi = Math.log(maxBytes) + 10 * sigma + 10;
  for (let i = 0; i < 64; i++) {
    const mid = (lo + hi) / 2;
    if (realisedMean(mid, sigma, maxBytes) < meanBytes) lo = mid;
    else hi = mid;
  }
  const model = { mu: (lo + hi) / 2, sigma, meanBytes, maxBytes };
  sizeModels.set(key, model);
  return model;
}

/**
 * Mean of min(max, 4 KiB * ceil(X / 4 KiB)) (at least one page) for X lognormal(mu, sigma): the sizes
 * take values 4096 j, j = 1..K, and E[J] = sum over j of P(J >= j) = sum over k < K of P(X > 4096 k).
 */
export function realisedMean(mu: number, sigma: number, maxBytes: number): number {
  const pages = maxBytes / PAGE_BYTES;
  let sum = 1; // P(X > 0) = 1
  for (let k = 1; k < pages; k++) sum += 1 - normalCdf((Math.log(k * PAGE_BYTES) - mu) / sigma);
  return sum * PAGE_BYTES;
}

/** Standard normal CDF via erfc (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7). */
export function normalCdf(z: number): number {
  const x = -z / Math.SQRT2;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.5 * a);
  const r =
    t *
    Math.exp(
      -a * a -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return 0.5 * (x >= 0 ? r : 2 - r);
}

interface ResolvedOptions {
  durationNs: number;
  device: number;
  rateScale: number;
  spanBytes: number;
  bursts: WriteBurstOptions | undefined;
}

function resolveOptions(options: SynthOptions, devicesNeeded: number): ResolvedOptions {
  const bad = (message: string): LakeError => new LakeError('LAKE_E_USAGE', `options.${message}`);
  const { durationMs, seed } = options;
  if (!(Number.isFinite(durationMs) && durationMs > 0))
    throw bad(`durationMs must be a positive number, got ${durationMs}`);
  if (!(Number.isSafeInteger(seed) && seed >= 0))
    throw bad(`seed must be a non-negative integer, got ${seed}`);
  const device = options.device ?? 0;
  if (
    !(Number.isSafeInteger(device) && device >= 0 && device + devicesNeeded - 1 <= Number.MAX_SAFE_INTEGER)
  ) {
    throw bad(`device must be a non-negative integer, got ${device}`);
  }
  const rateScale = options.rateScale ?? 1;
  if (!(Number.isFinite(rateScale) && rateScale > 0))
    throw bad(`rateScale must be a positive number, got ${rateScale}`);
  const spanBytes = options.spanBytes ?? DEFAULT_SPAN_BYTES;
  if (!(Number.isSafeInteger(spanBytes) && spanBytes >= PAGE_BYTES)) {
    throw bad(`spanBytes must be an integer >= 4096, got ${spanBytes}`);
  }
  let bursts: WriteBurstOptions | undefined;
  if (options.writeBursts !== undefined && options.writeBursts !== false) {
    bursts = { ...defaultWriteBursts, ...(options.writeBursts === true ? {} : options.writeBursts) };
    const { periodMs, burstMs, rateMultiplier, readFraction, phaseMs } = bursts;
    if (!(Number.isFinite(periodMs) && periodMs > 0))
      throw bad(`writeBursts.periodMs must be > 0, got ${periodMs}`);
    if (!(Number.isFinite(burstMs) && burstMs > 0 && burstMs < periodMs)) {
      throw bad(`writeBursts.burstMs must be > 0 and < periodMs, got ${burstMs}`);
    }
    if (!(Number.isFinite(rateMultiplier) && rateMultiplier > 0)) {
      throw bad(`writeBursts.rateMultiplier must be > 0, got ${rateMultiplier}`);
    }
    if (!(readFraction >= 0 && readFraction <= 1))
      throw bad(`writeBursts.readFraction must be in [0, 1], got ${readFraction}`);
    if (!Number.isFinite(phaseMs)) throw bad(`writeBursts.phaseMs must be finite, got ${phaseMs}`);
  }
  return { durationNs: Math.round(durationMs * 1e6), device, rateScale, spanBytes, bursts };
}

function resolveProfile(profile: ProfileName | WorkloadProfile): WorkloadProfile {
  if (typeof profile !== 'string') {
    const { meanInterArrivalUs, readFraction } = profile;
    if (!(Number.isFinite(meanInterArrivalUs) && meanInterArrivalUs > 0)) {
      throw new LakeError('LAKE_E_USAGE', `profile ${profile.name}: meanInterArrivalUs must be > 0`);
    }
    if (!(readFraction >= 0 && readFraction <= 1)) {
      throw new LakeError('LAKE_E_USAGE', `profile ${profile.name}: readFraction must be in [0, 1]`);
    }
    return profile;
  }
  if (!Object.hasOwn(profiles, profile)) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `unknown profile ${JSON.stringify(profile)}; expected one of ${profileNames.join(', ')}`,
    );
  }
  return profiles[profile];
}

/** One profile's I/O stream on one device, from its own random stream. */
function* stream(
  profile: WorkloadProfile,
  random: Random,
  o: ResolvedOptions,
  device: number,
): Generator<TraceRecord> {
  const read = sizeModel(profile.read);
  const write = sizeModel(profile.write);
  const largest = Math.max(read.maxBytes, write.maxBytes);
  if (o.spanBytes < largest) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `options.spanBytes (${o.spanBytes}) is below the profile's largest I/O (${largest})`,
    );
  }
  const meanGapNs = (profile.meanInterArrivalUs * 1000) / o.rateScale;
  const bursts = o.bursts;
  const periodNs = bursts === undefined ? 0 : Math.round(bursts.periodMs * 1e6);
  const burstNs = bursts === undefined ? 0 : Math.round(bursts.burstMs * 1e6);
  const phaseNs = bursts === undefined ? 0 : Math.round(bursts.phaseMs * 1e6);
  const burstGapNs = bursts === undefined ? meanGapNs : meanGapNs / bursts.rateMultiplier;
  let t = 0;
  for (;;) {
    // Next arrival of a Poisson process whose rate changes at burst edges: a draw that crosses an edge
    // restarts from the edge (the exponential is memoryless).
    let inBurst = false;
    for (;;) {
      if (bursts === undefined) {
        t += Math.round(random.exponential(meanGapNs));
        break;
      }
      const position = (((t - phaseNs) % periodNs) + periodNs) % periodNs;
      inBurst = position < burstNs;
      const edge = t - position + (inBurst ? burstNs : periodNs);
      const candidate = t + Math.round(random.exponential(inBurst ? burstGapNs : meanGapNs));
      if (candidate < edge) {
        t = candidate;
        break;
      }
      t = edge;
    }
    if (t >= o.durationNs) return;
    const isRead = random.next() < (inBurst ? bursts!.readFraction : profile.readFraction);
    const model = isRead ? read : write;
    const drawn = Math.ceil(random.lognormal(model.mu, model.sigma) / PAGE_BYTES) * PAGE_BYTES;
    const size = Math.min(model.maxBytes, Math.max(PAGE_BYTES, drawn));
    const pages = Math.floor((o.spanBytes - size) / PAGE_BYTES) + 1;
    const offset = random.int(pages) * PAGE_BYTES;
    yield { arrivalMs: t / 1e6, device, offset, size, read: isRead };
  }
}

/**
 * Lazily generate one profile's I/Os over [0, durationMs), in arrival order. The same profile, options
 * and seed give the same records on every platform.
 */
export function synthesize(
  profile: ProfileName | WorkloadProfile,
  options: SynthOptions,
): Generator<TraceRecord> {
  // The stream itself, not a generator delegating to it (yield* costs a resume per record); bad options
  // are reported here, at the call.
  const resolved = resolveOptions(options, 1);
  return stream(resolveProfile(profile), new Random(options.seed), resolved, resolved.device);
}

/**
 * Several profiles at once, one per device (device, device + 1, ...), merged in arrival order (ties go
 * to the earlier profile). Each stream draws from its own fork of the seed.
 */
export function* synthesizeMix(
  mix: readonly (ProfileName | WorkloadProfile)[],
  options: SynthOptions,
): Generator<TraceRecord> {
  if (mix.length === 0) throw new LakeError('LAKE_E_USAGE', 'synthesizeMix needs at least one profile');
  const resolved = resolveOptions(options, mix.length);
  const root = new Random(options.seed);
  const streams = mix.map((profile, i) =>
    stream(resolveProfile(profile), root.fork(), resolved, resolved.device + i),
  );
  yield* mergeByArrival(streams);
}
