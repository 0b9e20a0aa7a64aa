import { createHash } from 'node:crypto';
import { escapeInput, LakeError } from '../../errors.js';
import type { DenseModel } from '../../models/dense.js';
import { decodeModelImage, encodeModelImage } from '../backends/model-image.js';
import { ShmArena } from '../shm/arena.js';
import { ShmLock } from '../shm/lock.js';

/**
 * The registry's model store, shared by every thread: create, load, update, delete models by name;
 * versioned (a version per name that only grows, kept across delete and re-create), checksummed (sha256
 * over the model image, model-image.ts) and swapped atomically.
 *
 * Each name has two image buffers in a lakeShm arena. Version v lives in buffer v & 1, so an update writes
 * the buffer readers of the current version are not using, then publishes with one Atomics.store of the
 * version word: every thread sees the old model or the new one, never a mix. Readers check the version
 * before and after copying the image and retry if it moved (a writer two versions ahead may be
 * overwriting their buffer). A load that fails (checksum mismatch, corrupt image) changes nothing: the old
 * version keeps serving. Writers serialise on a lock in the control buffer.
 *
 * Control buffer: [0] lock, [1] magic, [2] entries; entry e at ENTRY_BYTES * (e + 1):
 *   w0 version, w1 live, w2 name length, name bytes [16, 80), buffer b meta at 80 + 48 b:
 *   handle, bytes, version (i32 each), sha256 at +16 (32 bytes).
 */
const W_LOCK = 0;
const W_MAGIC = 1;
const W_ENTRIES = 2;
const STORE_MAGIC = 0x4c4b4d53;
const ENTRY_BYTES = 192;
const E_VERSION = 0;
const E_LIVE = 1;
const E_NAME_LENGTH = 2;
const NAME_OFFSET = 16;
const NAME_BYTES = 64;
const META_OFFSET = 80;
const META_BYTES = 48;
const M_HANDLE = 0;
const M_BYTES = 1;
const M_VERSION = 2;
const SHA_OFFSET = 16;
const READ_RETRIES = 1000;

export interface ModelStoreShared {
  readonly control: SharedArrayBuffer;
  readonly arena: SharedArrayBuffer;
}

export interface ModelVersion {
  readonly name: string;
  readonly version: number;
  /** sha256 of the model image, hex. */
  readonly sha256: string;
}

export interface StoredModel extends ModelVersion {
  readonly model: DenseModel;
}

export interface ModelStoreOptions {
  /** Names the store can hold (default 32). */
  maxModels?: number;
  /** Bytes of the arena holding the images (default 16 MiB; each model needs twice its image). */
  arenaBytes?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class ModelStore {
  readonly #control: SharedArrayBuffer;
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #arena: ShmArena;
  readonly #lock: ShmLock;
  readonly #entries: number;
  /** This thread's decoded models by entry, valid while the version word is unchanged. */
  readonly #cache = new Map<number, StoredModel>();
  readonly #entryOf = new Map<string, number>();

  private constructor(control: SharedArrayBuffer, arena: ShmArena) {
    this.#control = control;
    this.#words = new Int32Array(control);
    this.#bytes = new Uint8Array(control);
    this.#arena = arena;
    this.#lock = new ShmLock(this.#words, W_LOCK);
    this.#entries = this.#words[W_ENTRIES]!;
  }

  static create(options: ModelStoreOptions = {}): ModelStore {
    const entries = options.maxModels ?? 32;
    if (!Number.isSafeInteger(entries) || entries < 1 || entries > 4096) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `options.maxModels must be an integer in [1, 4096], got ${entries}`,
      );
    }
    const control = new SharedArrayBuffer(ENTRY_BYTES * (entries + 1));
    const words = new Int32Array(control);
    words[W_MAGIC] = STORE_MAGIC;
    words[W_ENTRIES] = entries;
    return new ModelStore(control, ShmArena.create({ bytes: options.arenaBytes ?? 16 << 20 }));
  }

  static attach(shared: ModelStoreShared): ModelStore {
    if (
      !(shared.control instanceof SharedArrayBuffer) ||
      new Int32Array(shared.control)[W_MAGIC] !== STORE_MAGIC
    ) {
      throw new LakeError('LAKE_E_USAGE', 'ModelStore.attach: not a model store');
    }
    // The entry count sizes every walk over the control buffer: it must be the one the buffer was made for.
    const entries = new Int32Array(shared.control)[W_ENTRIES]!;
    if (entries !== shared.control.byteLength / ENTRY_BYTES - 1) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `ModelStore.attach: the store's entry count (${entries}) does not match its control buffer`,
      );
    }
    return new ModelStore(shared.control, ShmArena.attach(shared.arena));
  }

  shared(): ModelStoreShared {
    return { control: this.#control, arena: this.#arena.buffer };
  }

  /** A new model; throws if the name is live. Its version continues the name's history (1 if new). */
  // biome-ignore lint/suspicious/useAdjacentOverloadSignatures: not an overload: the static create() makes a store, this one a model
  create(name: string, model: DenseModel): ModelVersion {
    const image = encodeModelImage(model);
    return this.#install(name, image, sha256Hex(image), 'create');
  }

  /** A new version of a live model. */
  update(name: string, model: DenseModel): ModelVersion {
    const image = encodeModelImage(model);
    return this.#install(name, image, sha256Hex(image), 'update');
  }

  /**
   * Installs a model image received from elsewhere (a file, another process) as the next version of `name`
   * (creating it if needed), after checking it against its sha256 and decoding it. On any failure nothing
   * changes: LAKE_E_MODEL_CHECKSUM for a mismatch, LAKE_E_MODEL_FORMAT for an image that does not decode.
   */
  load(name: string, image: Uint8Array, sha256: string): ModelVersion {
    const actual = sha256Hex(image);
    if (actual !== sha256.toLowerCase()) {
      throw new LakeError(
        'LAKE_E_MODEL_CHECKSUM',
        `model ${name}: image sha256 ${actual} does not match the expected ${sha256}; keeping the current version`,
      );
    }
    decodeModelImage(image, `model ${name}`);
    return this.#install(name, image.slice(), actual, 'load');
  }

  /** Removes a live model (its version history stays, so a re-created name keeps counting up). */
  delete(name: string): void {
    this.#lock.with(() => {
      const entry = this.#find(name);
      if (entry < 0 || this.#word(entry, E_LIVE) !== 1)
        throw new LakeError('LAKE_E_USAGE', `model ${name} does not exist`);
      Atomics.store(this.#words, this.#index(entry, E_LIVE), 0);
      for (let b = 0; b < 2; b++) {
        const meta = this.#meta(entry, b);
        if (this.#words[meta + M_HANDLE] !== 0) this.#arena.free(this.#words[meta + M_HANDLE]!);
        this.#words[meta + M_HANDLE] = 0;
      }
    });
    this.#cache.clear();
  }

  /** The current version number of `name`, 0 when it is not live: one atomic load. */
  version(name: string): number {
    const entry = this.#find(name);
    if (entry < 0 || Atomics.load(this.#words, this.#index(entry, E_LIVE)) !== 1) return 0;
    return Atomics.load(this.#words, this.#index(entry, E_VERSION));
  }

  /** The current model of `name` (decoded once per version per thread), or undefined. */
  get(name: string): StoredModel | undefined {
    const entry = this.#find(name);
    if (entry < 0) return undefined;
    // Names come from callers and, through list(), from shared memory: messages echo them escaped.
    const shown = escapeInput(name);
    const words = this.#words;
    for (let attempt = 0; attempt < READ_RETRIES; attempt++) {
      if (Atomics.load(words, this.#index(entry, E_LIVE)) !== 1) return undefined;
      const version = Atomics.load(words, this.#index(entry, E_VERSION));
      const cached = this.#cache.get(entry);
      if (cached !== undefined && cached.version === version) return cached;
      const meta = this.#meta(entry, version & 1);
      const handle = words[meta + M_HANDLE]!;
      const bytes = words[meta + M_BYTES]!;
      if (words[meta + M_VERSION] !== version) continue;
      let image: Uint8Array;
      try {
        image = this.#arena.bytes(handle, bytes).slice();
      } catch {
        continue; // a writer moved the buffer under us
      }
      const sha = this.#bytes.slice((meta << 2) + SHA_OFFSET, (meta << 2) + SHA_OFFSET + 32);
      if (
        Atomics.load(words, this.#index(entry, E_VERSION)) !== version ||
        words[meta + M_VERSION] !== version
      )
        continue;
      const sha256 = Buffer.from(sha).toString('hex');
      if (sha256Hex(image) !== sha256) {
        throw new LakeError(
          'LAKE_E_MODEL_CHECKSUM',
          `model ${shown} version ${version}: stored image fails its checksum`,
        );
      }
      const stored = {
        name,
        version,
        sha256,
        model: decodeModelImage(image, `model ${shown} version ${version}`),
      };
      this.#cache.set(entry, stored);
      return stored;
    }
    throw new LakeError('LAKE_E_INTERNAL', `model ${shown}: no stable version after ${READ_RETRIES} reads`);
  }

  list(): ModelVersion[] {
    const out: ModelVersion[] = [];
    for (let entry = 0; entry < this.#entries; entry++) {
      if (Atomics.load(this.#words, this.#index(entry, E_LIVE)) !== 1) continue;
      const stored = this.get(this.#name(entry));
      if (stored !== undefined)
        out.push({ name: stored.name, version: stored.version, sha256: stored.sha256 });
    }
    return out;
  }

  #install(name: string, image: Uint8Array, sha256: string, how: 'create' | 'update' | 'load'): ModelVersion {
    const nameBytes = encoder.encode(name);
    if (nameBytes.length === 0 || nameBytes.length > NAME_BYTES) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `a model name must have 1 to ${NAME_BYTES} bytes, got ${JSON.stringify(name)}`,
      );
    }
    return this.#lock.with(() => {
      let entry = this.#find(name);
      const live = entry >= 0 && this.#word(entry, E_LIVE) === 1;
      if (how === 'create' && live)
        throw new LakeError('LAKE_E_USAGE', `model ${name} exists (update it instead)`);
      if (how === 'update' && !live)
        throw new LakeError('LAKE_E_USAGE', `model ${name} does not exist (create it first)`);
      if (entry < 0) entry = this.#claim(name, nameBytes);
      const words = this.#words;
      const version = this.#word(entry, E_VERSION) + 1;
      const meta = this.#meta(entry, version & 1);
      // Allocate before freeing the old image of this buffer: an exhausted arena changes nothing.
      const handle = this.#arena.alloc(image.length);
      this.#arena.bytes(handle, image.length).set(image);
      const old = words[meta + M_HANDLE]!;
      words[meta + M_VERSION] = 0;
      words[meta + M_HANDLE] = handle;
      words[meta + M_BYTES] = image.length;
      this.#bytes.set(Buffer.from(sha256, 'hex'), (meta << 2) + SHA_OFFSET);
      words[meta + M_VERSION] = version;
      if (old !== 0) this.#arena.free(old);
      Atomics.store(words, this.#index(entry, E_LIVE), 1);
      Atomics.store(words, this.#index(entry, E_VERSION), version);
      return { name, version, sha256 };
    });
  }

  #claim(name: string, nameBytes: Uint8Array): number {
    for (let entry = 0; entry < this.#entries; entry++) {
      if (this.#word(entry, E_NAME_LENGTH) !== 0) continue;
      this.#bytes.set(nameBytes, ENTRY_BYTES * (entry + 1) + NAME_OFFSET);
      Atomics.store(this.#words, this.#index(entry, E_NAME_LENGTH), nameBytes.length);
      return entry;
    }
    throw new LakeError('LAKE_E_USAGE', `the model store holds ${this.#entries} names; no room for ${name}`);
  }

  /** The entry holding `name`, or -1. Names never move once claimed: this needs no lock, and caches. */
  #find(name: string): number {
    const known = this.#entryOf.get(name);
    if (known !== undefined) return known;
    for (let entry = 0; entry < this.#entries; entry++) {
      const length = Atomics.load(this.#words, this.#index(entry, E_NAME_LENGTH));
      if (length === 0) return -1;
      if (this.#name(entry) === name) {
        this.#entryOf.set(name, entry);
        return entry;
      }
    }
    return -1;
  }

  #name(entry: number): string {
    const start = ENTRY_BYTES * (entry + 1) + NAME_OFFSET;
    // Clamped to the name's field: a length word written over never reads into the next entry.
    const length = Math.min(Math.max(this.#word(entry, E_NAME_LENGTH), 0), NAME_BYTES);
    return decoder.decode(this.#bytes.slice(start, start + length));
  }

  #index(entry: number, word: number): number {
    return ((ENTRY_BYTES * (entry + 1)) >> 2) + word;
  }

  #word(entry: number, word: number): number {
    return this.#words[this.#index(entry, word)]!;
  }

  /** Word index of buffer b's meta of an entry. */
  #meta(entry: number, buffer: number): number {
    return (ENTRY_BYTES * (entry + 1) + META_OFFSET + META_BYTES * buffer) >> 2;
  }
}
