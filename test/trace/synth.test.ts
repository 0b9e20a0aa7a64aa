/**
 * Workload generators: the REFERENCE.md parameters (inter-arrival, read fraction, size mean and max),
 * the shape of every record, determinism, write bursts, mixes and option checks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordStats } from '../../src/trace/stats.js';
import {
  DEFAULT_SPAN_BYTES,
  MAX_SIZE_Z,
  normalCdf,
  PAGE_BYTES,
  type ProfileName,
  profileNames,
  profiles,
  realisedMean,
  type SynthOptions,
  sizeModel,
  synthesize,
  synthesizeMix,
} from '../../src/trace/synth.js';
import type { TraceRecord } from '../../src/trace/types.js';

function take(iterable: Iterable<TraceRecord>, n: number): TraceRecord[] {
  const out: TraceRecord[] = [];
  for (const r of iterable) {
    out.push(r);
    if (out.length === n) break;
  }
  return out;
}

function within(actual: number, expected: number, relative: number, what: string): void {
  assert.ok(
    Math.abs(actual / expected - 1) <= relative,
    `${what}: ${actual} vs ${expected} (±${relative * 100}%)`,
  );
}

describe('profiles', () => {
  test('carry the REFERENCE.md parameters', () => {
    assert.deepEqual(
      profileNames.map((n) => {
        const p = profiles[n];
        return [
          n,
          p.meanInterArrivalUs,
          p.readFraction,
          p.read.meanKiB,
          p.read.maxKiB,
          p.write.meanKiB,
          p.write.maxKiB,
        ];
      }),
      [
        ['azure', 77, 0.25, 25, 64, 17, 64],
        ['bing-i', 416, 0.23, 55, 512, 30, 1024],
        ['cosmos', 400, 0.23, 430, 7000, 107, 32000],
      ],
    );
  });

  for (const name of profileNames) {
    test(`${name}: size models put the max at p99.99 and match the mean after rounding and clamping`, () => {
      for (const spec of [profiles[name].read, profiles[name].write]) {
        const model = sizeModel(spec);
        const ratio = Math.log(model.maxBytes / model.meanBytes);
        // sigma solves ln(max/mean) = z sigma - sigma^2 / 2 (max = p99.99 of the lognormal with that mean).
        assert.ok(Math.abs(MAX_SIZE_Z * model.sigma - model.sigma ** 2 / 2 - ratio) < 1e-9);
        within(
          realisedMean(model.mu, model.sigma, model.maxBytes),
          spec.meanKiB * 1024,
          1e-9,
          'realised mean',
        );
        assert.equal(model.maxBytes % PAGE_BYTES, 0);
      }
    });
  }

  test('normalCdf is accurate to 1e-7', () => {
    // Reference values of the standard normal CDF.
    const known: [number, number][] = [
      [0, 0.5],
      [1, 0.8413447460685429],
      [-1.96, 0.024997895148220435],
      [3.719, 0.9999000208],
      [-5, 2.866515718791939e-7],
    ];
    for (const [z, p] of known) assert.ok(Math.abs(normalCdf(z) - p) < 1e-7, `Phi(${z})`);
  });
});

describe('synthesize', () => {
  const durations: Record<ProfileName, number> = { azure: 5000, 'bing-i': 20000, cosmos: 20000 };
  for (const name of profileNames) {
    test(`${name}: inter-arrival, read fraction and sizes match the profile`, () => {
      const p = profiles[name];
      const durationMs = durations[name];
      const records = [...synthesize(name, { durationMs, seed: 1, device: 2 })];
      const s = recordStats(records);
      within((durationMs * 1000) / s.records, p.meanInterArrivalUs, 0.02, 'mean inter-arrival us');
      assert.ok(Math.abs(s.readFraction - p.readFraction) < 0.01, `read fraction ${s.readFraction}`);
      within(s.reads.sizeBytes!.mean, p.read.meanKiB * 1024, 0.03, 'read mean size');
      within(
        s.writes.sizeBytes!.mean,
        p.write.meanKiB * 1024,
        name === 'cosmos' ? 0.06 : 0.03,
        'write mean size',
      );
      assert.ok(s.reads.sizeBytes!.max <= p.read.maxKiB * 1024);
      assert.ok(s.writes.sizeBytes!.max <= p.write.maxKiB * 1024);
      let previous = 0;
      for (const r of records) {
        assert.equal(r.device, 2);
        assert.ok(r.arrivalMs >= previous && r.arrivalMs < durationMs);
        previous = r.arrivalMs;
        assert.ok(r.size >= PAGE_BYTES && r.size % PAGE_BYTES === 0);
        assert.ok(r.offset % PAGE_BYTES === 0 && r.offset + r.size <= DEFAULT_SPAN_BYTES);
        assert.equal(r.latencyUs, undefined);
        // Whole nanoseconds: the ms value has at most 6 decimals in its shortest text.
        assert.ok(Number.isInteger(Math.round(r.arrivalMs * 1e6)) && !/\.\d{7}/.test(String(r.arrivalMs)));
      }
    });
  }

  test('the same seed gives the same records; another seed other records', () => {
    const options: SynthOptions = { durationMs: 500, seed: 99 };
    const a = [...synthesize('bing-i', options)];
    const b = [...synthesize('bing-i', options)];
    const c = [...synthesize('bing-i', { ...options, seed: 100 })];
    assert.ok(a.length > 100);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.slice(0, 10), c.slice(0, 10));
  });

  test('is lazy: taking a few records of a 10-hour workload is instant', () => {
    const first = take(synthesize('azure', { durationMs: 36e6, seed: 1 }), 5);
    assert.equal(first.length, 5);
  });

  test('rateScale multiplies the arrival rate; spanBytes bounds offsets', () => {
    const base = [...synthesize('azure', { durationMs: 1000, seed: 5 })].length;
    const span = 1 << 24;
    const scaled = [...synthesize('azure', { durationMs: 1000, seed: 5, rateScale: 3, spanBytes: span })];
    within(scaled.length / base, 3, 0.05, 'rate ratio');
    for (const r of scaled) assert.ok(r.offset + r.size <= span);
  });

  test('write bursts: faster arrivals and mostly writes inside the windows, the profile outside', () => {
    const bursts = { periodMs: 500, burstMs: 100, rateMultiplier: 5, readFraction: 0.02, phaseMs: 50 };
    const records = [...synthesize('azure', { durationMs: 20000, seed: 3, writeBursts: bursts })];
    const inBurst = (r: TraceRecord): boolean => (((r.arrivalMs - 50) % 500) + 500) % 500 < 100;
    const inside = records.filter(inBurst);
    const outside = records.filter((r) => !inBurst(r));
    const insideRate = inside.length / (20000 * (100 / 500));
    const outsideRate = outside.length / (20000 * (400 / 500));
    within(insideRate / outsideRate, 5, 0.05, 'burst rate ratio');
    const insideReads = inside.filter((r) => r.read).length / inside.length;
    const outsideReads = outside.filter((r) => r.read).length / outside.length;
    assert.ok(Math.abs(insideReads - 0.02) < 0.01, `burst read fraction ${insideReads}`);
    assert.ok(Math.abs(outsideReads - 0.25) < 0.015, `normal read fraction ${outsideReads}`);
    const plain = [...synthesize('azure', { durationMs: 20000, seed: 3, writeBursts: false })];
    assert.ok(records.length > plain.length * 1.5);
  });

  test('writeBursts: true uses the documented defaults', () => {
    const records = [...synthesize('bing-i', { durationMs: 4000, seed: 3, writeBursts: true })];
    // Defaults: every 1000 ms, 100 ms at 4x the rate with 5% reads.
    const inside = records.filter((r) => r.arrivalMs % 1000 < 100);
    within(inside.length / (records.length - inside.length), (4 * 100) / 900, 0.25, 'share in bursts');
  });

  test('bad options are LAKE_E_USAGE naming the option', () => {
    const bad: [SynthOptions, RegExp][] = [
      [{ durationMs: 0, seed: 1 }, /options.durationMs/],
      [{ durationMs: Number.NaN, seed: 1 }, /options.durationMs/],
      [{ durationMs: 10, seed: -1 }, /options.seed/],
      [{ durationMs: 10, seed: 1.5 }, /options.seed/],
      [{ durationMs: 10, seed: 1, device: -1 }, /options.device/],
      [{ durationMs: 10, seed: 1, rateScale: 0 }, /options.rateScale/],
      [{ durationMs: 10, seed: 1, spanBytes: 4096 }, /options.spanBytes/],
      [{ durationMs: 10, seed: 1, writeBursts: { burstMs: 2000 } }, /writeBursts.burstMs/],
      [{ durationMs: 10, seed: 1, writeBursts: { readFraction: 2 } }, /writeBursts.readFraction/],
    ];
    for (const [options, message] of bad) {
      assert.throws(() => [...synthesize('cosmos', options)], { code: 'LAKE_E_USAGE', message });
    }
    assert.throws(() => [...synthesize('nvme' as ProfileName, { durationMs: 10, seed: 1 })], {
      code: 'LAKE_E_USAGE',
      message: /unknown profile "nvme"/,
    });
    assert.throws(() => sizeModel({ meanKiB: 3, maxKiB: 64 }), { code: 'LAKE_E_USAGE' });
  });
});

describe('synthesizeMix', () => {
  test('one profile per device, merged in arrival order, each stream true to its profile', () => {
    const records = [
      ...synthesizeMix(['azure', 'bing-i', 'cosmos'], { durationMs: 5000, seed: 11, device: 4 }),
    ];
    for (let i = 1; i < records.length; i++) assert.ok(records[i]!.arrivalMs >= records[i - 1]!.arrivalMs);
    const byDevice = [4, 5, 6].map((d) => records.filter((r) => r.device === d));
    assert.equal(byDevice.flat().length, records.length);
    const expected: ProfileName[] = ['azure', 'bing-i', 'cosmos'];
    for (const [i, name] of expected.entries()) {
      const s = recordStats(byDevice[i]!);
      within((5000 * 1000) / s.records, profiles[name].meanInterArrivalUs, 0.05, `${name} inter-arrival`);
      assert.ok(s.reads.sizeBytes!.max <= profiles[name].read.maxKiB * 1024);
    }
    assert.deepEqual(records, [
      ...synthesizeMix(['azure', 'bing-i', 'cosmos'], { durationMs: 5000, seed: 11, device: 4 }),
    ]);
  });
});
