import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { CaptureRing } from '../../src/lake/registry/capture-ring.js';
import { compileSchema, type FeatureSchema } from '../../src/lake/registry/schema.js';

const SCHEMA: FeatureSchema = {
  name: 'io',
  fields: [
    { name: 'size', type: 'i32' },
    { name: 'flag', type: 'u8' },
    { name: 'latency', type: 'f64' },
    { name: 'digits', type: 'u8', length: 31 },
    { name: 'weights', type: 'f32', length: 3 },
  ],
};

describe('feature schemas', () => {
  test('fields are laid out aligned to their element size', () => {
    const layout = compileSchema(SCHEMA);
    const offsets = Object.fromEntries(layout.fields.map((f) => [f.name, f.offset]));
    assert.deepEqual(offsets, { size: 0, flag: 4, latency: 8, digits: 16, weights: 48 });
    assert.equal(layout.payloadBytes, 64);
    assert.equal(layout.width, 1 + 1 + 1 + 31 + 3);
  });

  test('bad schemas are refused with the field named', () => {
    assert.throws(
      () => compileSchema({ name: '', fields: [{ name: 'a', type: 'f32' }] }),
      /name must be a non-empty string/,
    );
    assert.throws(() => compileSchema({ name: 's', fields: [] }), /non-empty array/);
    assert.throws(
      () => compileSchema({ name: 's', fields: [{ name: 'a', type: 'f16' as 'f32' }] }),
      /field a: type f16/,
    );
    assert.throws(
      () =>
        compileSchema({
          name: 's',
          fields: [
            { name: 'a', type: 'f32' },
            { name: 'a', type: 'i32' },
          ],
        }),
      /field a appears twice/,
    );
    assert.throws(
      () => compileSchema({ name: 's', fields: [{ name: 'a', type: 'u8', length: 0 }] }),
      /length 0/,
    );
  });
});

describe('capture rings', () => {
  test('begin/capture/commit then query after a timestamp returns whole entries in order', () => {
    const ring = CaptureRing.create(SCHEMA, { capacity: 16 });
    for (let i = 0; i < 5; i++) {
      const writer = ring.begin(100 + i)!;
      writer
        .capture('size', 4096 * i)
        .capture('latency', 80.5 + i)
        .capture('digits', [i, 9, 0]);
      writer.set('weights', 2, i / 4);
      writer.commit();
    }
    assert.ok(ring.capture({ size: 7, flag: 1 }, 200));
    const all = ring.query();
    assert.equal(all.length, 6);
    assert.deepEqual(
      all.map((e) => e.timestamp),
      [100, 101, 102, 103, 104, 200],
    );
    const third = all[2]!;
    assert.equal(third.fields['size']![0], 8192);
    assert.equal(third.fields['latency']![0], 82.5);
    assert.deepEqual([...third.fields['digits']!.subarray(0, 4)], [2, 9, 0, 0]);
    assert.deepEqual([...third.fields['weights']!], [0, 0, 0.5]);
    assert.equal(all[5]!.fields['flag']![0], 1);
    assert.equal(all[5]!.fields['latency']![0], 0, 'fields not captured read as zero');
    assert.deepEqual(
      ring.query(102).map((e) => e.timestamp),
      [103, 104, 200],
    );
  });

  test('an entry being written is invisible until committed', () => {
    const ring = CaptureRing.create(SCHEMA, { capacity: 8 });
    ring.capture({ size: 1 }, 1);
    const writer = ring.begin(2)!;
    writer.capture('size', 2);
    assert.deepEqual(
      ring.query().map((e) => e.timestamp),
      [1],
    );
    writer.commit();
    assert.deepEqual(
      ring.query().map((e) => e.timestamp),
      [1, 2],
    );
  });

  test('truncate drops the oldest entries before a timestamp, never an unfinished one, and frees room', () => {
    const ring = CaptureRing.create(SCHEMA, { capacity: 4 });
    for (let t = 1; t <= 3; t++) assert.ok(ring.capture({ size: t }, t * 10));
    const writer = CaptureRing.attach(ring.shared()).begin(40)!; // another thread's capture, unfinished
    assert.equal(ring.capture({ size: 5 }, 50), false, 'full: 4 live entries');
    assert.equal(ring.stats().dropped, 1);
    assert.equal(ring.truncate(25), 2, 'drops 10 and 20');
    assert.deepEqual(
      ring.query().map((e) => e.timestamp),
      [30],
    );
    assert.equal(ring.truncate(), 1, 'stops at the entry being written');
    assert.equal(ring.stats().live, 1);
    writer.commit();
    assert.equal(ring.truncate(40), 0, 'timestamps are strictly before');
    assert.equal(ring.truncate(), 1);
    for (let t = 6; t <= 9; t++) assert.ok(ring.capture({ size: t }, t * 10), 'room again, slots reused');
    assert.deepEqual(
      ring.query().map((e) => e.fields['size']![0]),
      [6, 7, 8, 9],
    );
  });

  test('misuse is a LakeError', () => {
    const ring = CaptureRing.create(SCHEMA, { capacity: 4 });
    assert.throws(() => CaptureRing.create(SCHEMA, { capacity: 6 }), /power of two/);
    assert.throws(() => ring.capture({ nope: 1 }), /has no field nope/);
    assert.throws(() => ring.capture({ weights: [1, 2, 3, 4] }), /holds 3 values, got 4/);
    const writer = ring.begin(1)!;
    assert.throws(() => ring.begin(2), /before the previous commit/);
    assert.throws(() => writer.set('weights', 3, 1), /no element 3/);
    writer.commit();
    assert.throws(
      () => writer.capture('size', 1),
      (error: unknown) => error instanceof LakeError && /outside begin/.test(error.message),
    );
    assert.throws(
      () => CaptureRing.attach({ schema: SCHEMA, buffer: new SharedArrayBuffer(512) }),
      /not a capture ring/,
    );
  });

  test('a second handle attached to the same buffer shares the entries', () => {
    const ring = CaptureRing.create(SCHEMA, { capacity: 8 });
    const other = CaptureRing.attach(ring.shared());
    other.capture({ size: 11 }, 5);
    ring.capture({ size: 12 }, 6);
    assert.deepEqual(
      other.query().map((e) => e.fields['size']![0]),
      [11, 12],
    );
    let seen = 0;
    assert.equal(
      other.drain((entry) => {
        seen += entry.get('size');
      }),
      2,
    );
    assert.equal(seen, 23);
    assert.equal(ring.query().length, 0);
  });
});
