import { LakeError } from '../../errors.js';
import { type CompiledField, compileSchema, type FeatureSchema, type SchemaLayout } from './schema.js';

/**
 * A lock-free multi-producer capture ring in a SharedArrayBuffer: the registry's store of feature vectors.
 *
 * Producers reserve a ticket with compareExchange on RESERVE (refused, and counted as dropped, when the
 * ring holds `capacity` live entries), write the entry into slot ticket % capacity, and publish it by
 * storing ticket + 1 in the slot's commit word (before writing they store ~ticket, "being written").
 * Entries live from TAIL to RESERVE; truncation moves TAIL forward over committed entries. A reader
 * copies an entry only if its commit word says ticket + 1 before and after the copy (a seqlock), so it
 * never sees a torn entry: one being written is skipped, one overwritten under it is dropped.
 * Tickets are Int32 and wrap; every comparison is on (a - b) | 0.
 *
 * Slot layout (bytes, slots 64-byte aligned): [0] commit (i32), [8] timestamp (f64), [16..) payload.
 */
const C_MAGIC = 0;
const C_CAPACITY = 1;
/** Counters on their own cache lines: producers contend on RESERVE, truncation on TAIL. */
const C_RESERVE = 16;
const C_TAIL = 32;
const C_DROPPED = 48;
const CONTROL_BYTES = 256;
const RING_MAGIC = 0x4c4b5247;
const SLOT_HEADER = 16;
const MAX_CAPACITY = 1 << 24;

/** What another thread needs to attach the same ring (structured-clone safe). */
export interface CaptureRingShared {
  readonly schema: FeatureSchema;
  readonly buffer: SharedArrayBuffer;
}

export type FieldValues = Float32Array | Float64Array | Int32Array | Uint8Array;

/** An entry copied out of the ring. */
export interface FeatureEntry {
  readonly ticket: number;
  readonly timestamp: number;
  readonly fields: Readonly<Record<string, FieldValues>>;
}

export interface CaptureRingStats {
  capacity: number;
  /** Entries between the tail and the reservation counter (committed or being written). */
  live: number;
  /** Captures refused because the ring was full. */
  dropped: number;
  /** Tickets handed out since creation (wraps at 2^32). */
  reserved: number;
  tail: number;
}

/** The wall clock in ms, the same in every thread (performance.now() has a per-thread origin). */
export function sharedClock(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The writer of one entry between begin() and commit(); one per ring per thread, reused. Fields are
 * written in place in shared memory.
 */
export class CaptureWriter {
  readonly #ring: CaptureRing;
  /** Ticket being written, or undefined when idle. */
  ticket: number | undefined;
  /** Byte offset of the payload in the ring's buffer. */
  payload = 0;

  constructor(ring: CaptureRing) {
    this.#ring = ring;
  }

  /** Writes a field: a number for a scalar (or the first element), an array for all its elements. */
  capture(field: CompiledField | string, value: number | ArrayLike<number>): this {
    if (this.ticket === undefined) throw new LakeError('LAKE_E_USAGE', 'capture() outside begin()/commit()');
    this.#ring.writeField(this.payload, typeof field === 'string' ? this.#ring.field(field) : field, value);
    return this;
  }

  /** Writes element i of a field (pass the CompiledField from ring.field() on hot paths). */
  set(field: CompiledField | string, i: number, value: number): this {
    if (this.ticket === undefined) throw new LakeError('LAKE_E_USAGE', 'set() outside begin()/commit()');
    this.#ring.writeElement(
      this.payload,
      typeof field === 'string' ? this.#ring.field(field) : field,
      i,
      value,
    );
    return this;
  }

  commit(): void {
    this.#ring.commit(this);
  }
}

/** An entry read in place by drain(); valid only during the visit. */
export class EntryReader {
  readonly #ring: CaptureRing;
  ticket = 0;
  timestamp = 0;
  payload = 0;

  constructor(ring: CaptureRing) {
    this.#ring = ring;
  }

  /** Element i (default 0) of a field. */
  get(field: CompiledField | string, i = 0): number {
    const compiled = typeof field === 'string' ? this.#ring.field(field) : field;
    if (!(i >= 0 && i < compiled.length))
      throw new LakeError('LAKE_E_USAGE', `field ${compiled.name} has no element ${i}`);
    return this.#ring.readField(this.payload, compiled, i);
  }
}

export class CaptureRing {
  readonly layout: SchemaLayout;
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  readonly #slotBytes: number;
  readonly #i32: Int32Array;
  readonly #f32: Float32Array;
  readonly #f64: Float64Array;
  readonly #u8: Uint8Array;
  readonly #fields: Map<string, CompiledField>;
  readonly #writer: CaptureWriter;
  readonly #reader: EntryReader;
  readonly #clock: () => number;

  private constructor(layout: SchemaLayout, buffer: SharedArrayBuffer, clock: () => number) {
    this.layout = layout;
    this.buffer = buffer;
    this.#i32 = new Int32Array(buffer);
    this.#f32 = new Float32Array(buffer);
    this.#f64 = new Float64Array(buffer);
    this.#u8 = new Uint8Array(buffer);
    this.capacity = this.#i32[C_CAPACITY]!;
    this.#slotBytes = slotBytes(layout);
    this.#fields = new Map(layout.fields.map((f) => [f.name, f]));
    this.#writer = new CaptureWriter(this);
    this.#reader = new EntryReader(this);
    this.#clock = clock;
  }

  /** A ring of `capacity` entries (a power of two) for the schema. */
  static create(schema: FeatureSchema, options: { capacity: number; clock?: () => number }): CaptureRing {
    const layout = compileSchema(schema);
    const { capacity } = options;
    if (
      !Number.isSafeInteger(capacity) ||
      capacity < 2 ||
      capacity > MAX_CAPACITY ||
      (capacity & (capacity - 1)) !== 0
    ) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `options.capacity must be a power of two in [2, ${MAX_CAPACITY}], got ${capacity}`,
      );
    }
    const buffer = new SharedArrayBuffer(CONTROL_BYTES + capacity * slotBytes(layout));
    const words = new Int32Array(buffer);
    words[C_MAGIC] = RING_MAGIC;
    words[C_CAPACITY] = capacity;
    return new CaptureRing(layout, buffer, options.clock ?? sharedClock);
  }

  static attach(shared: CaptureRingShared, clock: () => number = sharedClock): CaptureRing {
    const layout = compileSchema(shared.schema);
    if (
      !(shared.buffer instanceof SharedArrayBuffer) ||
      new Int32Array(shared.buffer)[C_MAGIC] !== RING_MAGIC
    ) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `CaptureRing.attach: not a capture ring for schema ${shared.schema.name}`,
      );
    }
    const ring = new CaptureRing(layout, shared.buffer, clock);
    if (shared.buffer.byteLength !== CONTROL_BYTES + ring.capacity * slotBytes(layout)) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `CaptureRing.attach: the buffer does not fit schema ${shared.schema.name}`,
      );
    }
    return ring;
  }

  get name(): string {
    return this.layout.schema.name;
  }

  shared(): CaptureRingShared {
    return { schema: this.layout.schema, buffer: this.buffer };
  }

  field(name: string): CompiledField {
    const field = this.#fields.get(name);
    if (field === undefined) throw new LakeError('LAKE_E_USAGE', `schema ${this.name} has no field ${name}`);
    return field;
  }

  /**
   * Reserves the next entry; undefined when the ring is full (counted as dropped). The returned writer is
   * this thread's only one for the ring: commit it before the next begin.
   */
  begin(timestamp: number = this.#clock()): CaptureWriter | undefined {
    const writer = this.#writer;
    if (writer.ticket !== undefined)
      throw new LakeError('LAKE_E_USAGE', `begin() on ${this.name} before the previous commit()`);
    const words = this.#i32;
    let ticket: number;
    for (;;) {
      ticket = Atomics.load(words, C_RESERVE);
      if (((ticket - Atomics.load(words, C_TAIL)) | 0) >= this.capacity) {
        Atomics.add(words, C_DROPPED, 1);
        return undefined;
      }
      if (Atomics.compareExchange(words, C_RESERVE, ticket, (ticket + 1) | 0) === ticket) break;
    }
    const slot = CONTROL_BYTES + (ticket & (this.capacity - 1)) * this.#slotBytes;
    Atomics.store(words, slot >> 2, ~ticket);
    this.#f64[(slot + 8) >> 3] = timestamp;
    this.#u8.fill(0, slot + SLOT_HEADER, slot + SLOT_HEADER + this.layout.payloadBytes);
    writer.ticket = ticket;
    writer.payload = slot + SLOT_HEADER;
    return writer;
  }

  /** Publishes the entry: readers see all of it from now on, or none of it before. */
  commit(writer: CaptureWriter): void {
    const ticket = writer.ticket;
    if (writer !== this.#writer || ticket === undefined)
      throw new LakeError('LAKE_E_USAGE', `commit() on ${this.name} without begin()`);
    Atomics.store(this.#i32, (writer.payload - SLOT_HEADER) >> 2, (ticket + 1) | 0);
    writer.ticket = undefined;
  }

  /** begin + capture of every given field + commit; false when the ring is full. */
  capture(values: Readonly<Record<string, number | ArrayLike<number>>>, timestamp?: number): boolean {
    for (const name in values) this.#checkValue(this.field(name), values[name]!);
    const writer = this.begin(timestamp);
    if (writer === undefined) return false;
    for (const name in values) this.writeField(writer.payload, this.field(name), values[name]!);
    writer.commit();
    return true;
  }

  #checkValue(field: CompiledField, value: number | ArrayLike<number>): void {
    const length = typeof value === 'number' ? 1 : value.length;
    if (length > field.length) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `field ${field.name} of ${this.name} holds ${field.length} values, got ${length}`,
      );
    }
  }

  /** @internal Writes one field at a payload offset. */
  writeField(payload: number, field: CompiledField, value: number | ArrayLike<number>): void {
    this.#checkValue(field, value);
    const at = payload + field.offset;
    if (typeof value === 'number') {
      this.#put(field, at, 0, value);
      return;
    }
    for (let i = 0; i < value.length; i++) this.#put(field, at, i, value[i]!);
  }

  /** @internal Writes element i of one field at a payload offset. */
  writeElement(payload: number, field: CompiledField, i: number, value: number): void {
    if (!(i >= 0 && i < field.length) || i % 1 !== 0) {
      throw new LakeError('LAKE_E_USAGE', `field ${field.name} of ${this.name} has no element ${i}`);
    }
    this.#put(field, payload + field.offset, i, value);
  }

  #put(field: CompiledField, at: number, i: number, value: number): void {
    switch (field.type) {
      case 'f32':
        this.#f32[(at >> 2) + i] = value;
        return;
      case 'f64':
        this.#f64[(at >> 3) + i] = value;
        return;
      case 'i32':
        this.#i32[(at >> 2) + i] = value;
        return;
      case 'u8':
        this.#u8[at + i] = value;
        return;
    }
  }

  /** Committed entries with timestamp > after, oldest first (entries being written are skipped). */
  query(after = Number.NEGATIVE_INFINITY): FeatureEntry[] {
    const entries: FeatureEntry[] = [];
    const words = this.#i32;
    const end = Atomics.load(words, C_RESERVE);
    const tail = Atomics.load(words, C_TAIL);
    this.#checkLive(tail, end);
    for (let ticket = tail; ((end - ticket) | 0) > 0; ticket = (ticket + 1) | 0) {
      const entry = this.#read(ticket, after);
      if (entry !== undefined) entries.push(entry);
    }
    return entries;
  }

  /**
   * Drops the oldest entries with timestamp < before (all committed ones with no argument), stopping at the
   * first newer or unfinished entry so that nothing being written is lost. Returns how many it dropped.
   * Safe against concurrent producers, readers and other truncations.
   */
  truncate(before = Number.POSITIVE_INFINITY): number {
    const words = this.#i32;
    for (;;) {
      const tail = Atomics.load(words, C_TAIL);
      const end = Atomics.load(words, C_RESERVE);
      let ticket = tail;
      while (((end - ticket) | 0) > 0) {
        const slot = CONTROL_BYTES + (ticket & (this.capacity - 1)) * this.#slotBytes;
        if (Atomics.load(words, slot >> 2) !== ((ticket + 1) | 0)) break;
        if (!(this.#f64[(slot + 8) >> 3]! < before)) break;
        ticket = (ticket + 1) | 0;
      }
      if (ticket === tail) return 0;
      if (Atomics.compareExchange(words, C_TAIL, tail, ticket) === tail) return (ticket - tail) | 0;
    }
  }

  /**
   * For a single consumer: visits the committed entries oldest first, up to the first unfinished one (at
   * most `max`), then truncates them. Visited entries cannot be overwritten during the visit (producers
   * never pass the tail), so the reader reads them in place, without copies.
   */
  drain(visit: (entry: EntryReader) => void, max = Number.POSITIVE_INFINITY): number {
    const words = this.#i32;
    const tail = Atomics.load(words, C_TAIL);
    const end = Atomics.load(words, C_RESERVE);
    const reader = this.#reader;
    let ticket = tail;
    let count = 0;
    while (((end - ticket) | 0) > 0 && count < max) {
      const slot = CONTROL_BYTES + (ticket & (this.capacity - 1)) * this.#slotBytes;
      if (Atomics.load(words, slot >> 2) !== ((ticket + 1) | 0)) break;
      reader.ticket = ticket;
      reader.timestamp = this.#f64[(slot + 8) >> 3]!;
      reader.payload = slot + SLOT_HEADER;
      visit(reader);
      ticket = (ticket + 1) | 0;
      count++;
    }
    if (count > 0 && Atomics.compareExchange(words, C_TAIL, tail, ticket) !== tail) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `drain() on ${this.name} raced another truncation: drain needs a single consumer`,
      );
    }
    return count;
  }

  /** @internal Element i of a field of the entry whose payload starts at `payload`. */
  readField(payload: number, field: CompiledField, i: number): number {
    const at = payload + field.offset;
    switch (field.type) {
      case 'f32':
        return this.#f32[(at >> 2) + i]!;
      case 'f64':
        return this.#f64[(at >> 3) + i]!;
      case 'i32':
        return this.#i32[(at >> 2) + i]!;
      case 'u8':
        return this.#u8[at + i]!;
    }
  }

  /**
   * Producers never reserve past the tail plus the capacity, and truncation never passes the reservation
   * counter: counters saying otherwise were overwritten (shared memory anyone in the process can write), and
   * walking them could take 2^31 steps.
   */
  #checkLive(tail: number, end: number): void {
    const live = (end - tail) | 0;
    if (live < 0 || live > this.capacity) {
      throw new LakeError(
        'LAKE_E_INTERNAL',
        `capture ring ${this.name} is corrupt: its counters say ${live} entries are live in a ring of ${this.capacity}`,
      );
    }
  }

  stats(): CaptureRingStats {
    const words = this.#i32;
    const reserved = Atomics.load(words, C_RESERVE);
    const tail = Atomics.load(words, C_TAIL);
    return {
      capacity: this.capacity,
      live: (reserved - tail) | 0,
      dropped: Atomics.load(words, C_DROPPED) >>> 0,
      reserved: reserved >>> 0,
      tail: tail >>> 0,
    };
  }

  #read(ticket: number, after: number): FeatureEntry | undefined {
    const words = this.#i32;
    const slot = CONTROL_BYTES + (ticket & (this.capacity - 1)) * this.#slotBytes;
    const committed = (ticket + 1) | 0;
    if (Atomics.load(words, slot >> 2) !== committed) return undefined;
    const timestamp = this.#f64[(slot + 8) >> 3]!;
    const payload = this.#u8.slice(slot + SLOT_HEADER, slot + SLOT_HEADER + this.layout.payloadBytes);
    if (Atomics.load(words, slot >> 2) !== committed || !(timestamp > after)) return undefined;
    const fields: Record<string, FieldValues> = {};
    for (const field of this.layout.fields) fields[field.name] = viewOf(payload.buffer, field);
    return { ticket, timestamp, fields };
  }
}

function viewOf(buffer: ArrayBuffer, field: CompiledField): FieldValues {
  switch (field.type) {
    case 'f32':
      return new Float32Array(buffer, field.offset, field.length);
    case 'f64':
      return new Float64Array(buffer, field.offset, field.length);
    case 'i32':
      return new Int32Array(buffer, field.offset, field.length);
    case 'u8':
      return new Uint8Array(buffer, field.offset, field.length);
  }
}

function slotBytes(layout: SchemaLayout): number {
  return Math.ceil((SLOT_HEADER + layout.payloadBytes) / 64) * 64;
}
