import type { CaptureRing, EntryReader, FeatureEntry } from '../../lake/registry/capture-ring.js';
import type { CompiledField, FeatureSchema } from '../../lake/registry/schema.js';

/**
 * Recognisable entries for checking concurrent capture: each producer writes its id, a sequence number,
 * values derived from both in every field type, and a checksum over them, so that a reader can tell a lost,
 * duplicated or torn entry. Used by benchRegistry() and the tests.
 */
export const CHECK_SCHEMA: FeatureSchema = {
  name: 'capture-check',
  fields: [
    { name: 'producer', type: 'i32' },
    { name: 'seq', type: 'i32' },
    { name: 'pattern', type: 'f64', length: 4 },
    { name: 'small', type: 'f32', length: 3 },
    { name: 'bytes', type: 'u8', length: 12 },
    { name: 'check', type: 'i32' },
  ],
};

function patternValue(producer: number, seq: number, k: number): number {
  return producer * 1e7 + seq + k / 8;
}

function smallValue(producer: number, seq: number, k: number): number {
  return ((seq * 3 + k + producer) % 1000) / 4;
}

function byteValue(producer: number, seq: number, k: number): number {
  return (seq * 7 + k * 31 + producer * 101) & 255;
}

/** FNV-1a style mix of everything the entry holds. */
export function checkValue(producer: number, seq: number): number {
  let h = 0x811c9dc5 ^ producer;
  h = Math.imul(h ^ seq, 0x01000193);
  for (let k = 0; k < 12; k++) h = Math.imul(h ^ byteValue(producer, seq, k), 0x01000193);
  for (let k = 0; k < 3; k++) h = Math.imul(h ^ Math.round(smallValue(producer, seq, k) * 4), 0x01000193);
  return h | 0;
}

interface CheckFields {
  producer: CompiledField;
  seq: CompiledField;
  pattern: CompiledField;
  small: CompiledField;
  bytes: CompiledField;
  check: CompiledField;
}

const fieldsByRing = new WeakMap<CaptureRing, CheckFields>();

function checkFields(ring: CaptureRing): CheckFields {
  let fields = fieldsByRing.get(ring);
  if (fields === undefined) {
    fields = {
      producer: ring.field('producer'),
      seq: ring.field('seq'),
      pattern: ring.field('pattern'),
      small: ring.field('small'),
      bytes: ring.field('bytes'),
      check: ring.field('check'),
    };
    fieldsByRing.set(ring, fields);
  }
  return fields;
}

/** Captures entry `seq` of `producer`; false when the ring is full. */
export function captureCheckEntry(ring: CaptureRing, producer: number, seq: number): boolean {
  const f = checkFields(ring);
  const writer = ring.begin();
  if (writer === undefined) return false;
  writer.capture(f.producer, producer).capture(f.seq, seq);
  for (let k = 0; k < 4; k++) writer.set(f.pattern, k, patternValue(producer, seq, k));
  for (let k = 0; k < 3; k++) writer.set(f.small, k, smallValue(producer, seq, k));
  for (let k = 0; k < 12; k++) writer.set(f.bytes, k, byteValue(producer, seq, k));
  writer.capture(f.check, checkValue(producer, seq));
  writer.commit();
  return true;
}

/** The (producer, seq) of an entry read in place, or undefined when any value disagrees (torn). */
export function verifyCheckReader(entry: EntryReader): { producer: number; seq: number } | undefined {
  const producer = entry.get('producer');
  const seq = entry.get('seq');
  for (let k = 0; k < 4; k++)
    if (entry.get('pattern', k) !== patternValue(producer, seq, k)) return undefined;
  for (let k = 0; k < 3; k++)
    if (entry.get('small', k) !== Math.fround(smallValue(producer, seq, k))) return undefined;
  for (let k = 0; k < 12; k++) if (entry.get('bytes', k) !== byteValue(producer, seq, k)) return undefined;
  return entry.get('check') === checkValue(producer, seq) ? { producer, seq } : undefined;
}

/** As verifyCheckReader, for an entry copied out by query(). */
export function verifyCheckEntry(entry: FeatureEntry): { producer: number; seq: number } | undefined {
  const f = entry.fields;
  const producer = f['producer']![0]!;
  const seq = f['seq']![0]!;
  for (let k = 0; k < 4; k++) if (f['pattern']![k] !== patternValue(producer, seq, k)) return undefined;
  for (let k = 0; k < 3; k++)
    if (f['small']![k] !== Math.fround(smallValue(producer, seq, k))) return undefined;
  for (let k = 0; k < 12; k++) if (f['bytes']![k] !== byteValue(producer, seq, k)) return undefined;
  return f['check']![0] === checkValue(producer, seq) ? { producer, seq } : undefined;
}

/** A drain visitor checking that each producer's entries arrive whole and in sequence. */
export function verifyingVisitor(
  next: number[],
  onTorn: () => void,
  onGap: () => void,
): Parameters<CaptureRing['drain']>[0] {
  return (entry) => {
    const id = verifyCheckReader(entry);
    if (id === undefined) {
      onTorn();
      return;
    }
    if (next[id.producer] !== id.seq) onGap();
    next[id.producer] = id.seq + 1;
  };
}
