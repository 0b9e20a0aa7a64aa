/**
 * Fuzzing what LAKE decodes from shared memory: commands on lakeLib's ring as lakeD's executor reads them
 * (API ids, argument words, slot text), replies as lakeLib reads them (status words, text, device
 * descriptions), model images, the feature registry's capture ring and the model store with corrupted
 * words. Every message gives a result or a coded error, in bounded time: a corrupt word is never a hang.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  CHECK_SCHEMA,
  captureCheckEntry,
  verifyCheckEntry,
} from '../../src/bench/registry-check/capture-check.js';
import { LakeError, type LakeErrorCode } from '../../src/errors.js';
import { openDevices } from '../../src/lake/backends/catalog.js';
import { KERNEL_SETS } from '../../src/lake/backends/kernel-sets.js';
import { decodeModelImage, encodeModelImage } from '../../src/lake/backends/model-image.js';
import { Channel, LocalCommand } from '../../src/lake/daemon/channel.js';
import { CommandExecutor, type ExecutorHost } from '../../src/lake/daemon/executor.js';
import {
  Api,
  ARG_COUNT,
  CHANNEL_BYTES,
  codeOf,
  ERROR_CODES,
  RING_SLOTS,
  S_TEXT_LENGTH,
  statusOf,
  TEXT_BYTES,
  TEXT_OFFSET,
} from '../../src/lake/daemon/protocol.js';
import { parseDeviceInfo } from '../../src/lake/lib/replies.js';
import { CaptureRing } from '../../src/lake/registry/capture-ring.js';
import { ModelStore } from '../../src/lake/registry/model-store.js';
import { ShmArena } from '../../src/lake/shm/arena.js';
import type { DenseModel } from '../../src/models/dense.js';
import { randomDenseModel } from '../lake/helpers.js';
import { FUZZ_SEED, mutatedFrom, outcomeOf, randomBytes } from './fuzz.js';

const ALL_CODES = [...ERROR_CODES] as LakeErrorCode[];
/** Int32 values a corrupt word may hold. */
const nastyWord = fc.oneof(
  fc.constantFrom(0, 1, -1, 2, 3, 7, 8, 255, 256, 1 << 24, 2 ** 31 - 1, -(2 ** 31), 0x4c4b5247),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
);

describe('the command channel', () => {
  test('slot text with any length word and any bytes decodes to a string within the slot', () => {
    const channel = new Channel();
    const bytes = new Uint8Array(channel.buffer);
    fc.assert(
      fc.property(
        fc.nat(RING_SLOTS - 1),
        nastyWord,
        fc.uint8Array({ maxLength: TEXT_BYTES }),
        (slot, length, text) => {
          bytes.set(text, TEXT_OFFSET + slot * TEXT_BYTES);
          channel.words[channel.slotWord(slot) + S_TEXT_LENGTH] = length;
          const result = outcomeOf([], () => channel.readText(slot));
          assert.ok(result.ok);
          assert.ok(result.value.length <= TEXT_BYTES);
          if (length <= 0) assert.equal(result.value, '');
        },
      ),
      { seed: FUZZ_SEED, numRuns: 1000 },
    );
    assert.equal(channel.buffer.byteLength, CHANNEL_BYTES);
  });

  test('any status word names an error code, and codes travel by number and back', () => {
    fc.assert(
      fc.property(nastyWord, (status) => {
        const code = codeOf(status);
        assert.ok(ALL_CODES.includes(code), code);
        if (status >= 1 && status <= ERROR_CODES.length) assert.equal(statusOf(code), status);
      }),
      { seed: FUZZ_SEED, numRuns: 1000 },
    );
    for (const code of ERROR_CODES) assert.equal(codeOf(statusOf(code)), code);
    assert.equal(codeOf(statusOf('LAKE_E_NOT_A_CODE')), 'LAKE_E_INTERNAL');
  });

  test('a device description reply: parsed and checked, or LAKE_E_INTERNAL', () => {
    const valid = fc
      .record({
        index: fc.nat(4),
        name: fc.string(),
        backend: fc.constantFrom('cpu-wasm', 'webgpu'),
        kind: fc.constantFrom('cpu', 'gpu'),
        capabilities: fc.array(fc.string(), { maxLength: 4 }),
      })
      .map((info) => new TextEncoder().encode(JSON.stringify(info)));
    let parsed = 0;
    fc.assert(
      fc.property(fc.oneof(valid, mutatedFrom(valid), randomBytes), (bytes) => {
        const text = Buffer.from(bytes).toString('utf8');
        const result = outcomeOf(['LAKE_E_INTERNAL'], () => parseDeviceInfo(text, 0));
        if (!result.ok) return;
        parsed++;
        const info = result.value;
        assert.ok(Number.isSafeInteger(info.index) && info.index >= 0);
        assert.equal(typeof info.name, 'string');
        assert.ok(Array.isArray(info.capabilities) && info.capabilities.every((c) => typeof c === 'string'));
      }),
      { seed: FUZZ_SEED, numRuns: 1000 },
    );
    assert.ok(parsed > 50, `${parsed} parsed`);
  });
});

/** A host that turns lakeD's injected faults into errors instead of hanging or killing the test. */
const host: ExecutorHost = {
  beat() {},
  hang() {
    throw new LakeError('LAKE_E_WORKER_CRASH', 'hang requested');
  },
  crash() {
    throw new LakeError('LAKE_E_WORKER_CRASH', 'crash requested');
  },
};

describe("lakeD's executor", () => {
  const arena = ShmArena.create({ bytes: 1 << 20 });
  const model: DenseModel = randomDenseModel(3, [31, 8, 2]);
  const image = encodeModelImage(model);
  const imagePtr = arena.alloc(image.length);
  arena.bytes(imagePtr, image.length).set(image);
  const inPtr = arena.alloc(31 * 64);
  const outPtr = arena.alloc(8 * 64);
  /** Values an argument word may hold: the ids and pointers a valid session uses, limits, garbage. */
  const word = fc.oneof(
    fc.constantFrom(
      0,
      1,
      2,
      3,
      5,
      16,
      31,
      64,
      65_535,
      65_536,
      imagePtr,
      inPtr,
      outPtr,
      image.length,
      31 * 64,
    ),
    fc.constantFrom(
      inPtr + 1,
      inPtr + 0.5,
      -1,
      -0,
      2 ** 53,
      2 ** 53 + 2,
      1e300,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ),
    fc.integer(),
    fc.double(),
  );
  const apis = Object.values(Api).filter(
    (api) => api !== Api.debugSleep && api !== Api.debugHang && api !== Api.debugCrash,
  );
  const command = fc.record({
    api: fc.oneof(fc.constantFrom(...apis), fc.constantFrom(...apis), fc.integer()),
    stream: fc.oneof(fc.constantFrom(0, 1, 2), fc.integer()),
    args: fc.array(word, { minLength: ARG_COUNT, maxLength: ARG_COUNT }),
    text: fc.oneof(fc.constantFrom('predict', 'scores', 'forward', ''), fc.string({ maxLength: 40 })),
  });
  /** A valid session's opening, so that random commands reach launches and copies. */
  const setup = [
    { api: Api.contextCreate, args: [1, 0] },
    { api: Api.memAlloc, args: [1, inPtr, 31 * 64] },
    { api: Api.memAlloc, args: [1, outPtr, 8 * 64] },
    { api: Api.moduleLoad, args: [1, 1, KERNEL_SETS[0]!.id, imagePtr, image.length] },
    { api: Api.moduleGetFunction, args: [1, 1], text: 'predict' },
    { api: Api.streamCreate, args: [1, 1] },
  ];

  test('any sequence of commands: each runs or fails with a coded error, in bounded time', () => {
    let ran = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.boolean(), fc.array(command, { minLength: 1, maxLength: 12 }), (prefixed, commands) => {
        const executor = new CommandExecutor(arena, openDevices(arena), host);
        try {
          const all = prefixed
            ? [...setup.map((c) => ({ stream: 0, text: '', ...c })), ...commands]
            : commands;
          for (const c of all) {
            const io = new LocalCommand(c.api, c.stream, c.text);
            io.args.set(c.args.slice(0, ARG_COUNT));
            const result = outcomeOf(ALL_CODES, () => executor.execute(io) ?? 'done', `api ${c.api}`);
            if (result.ok) ran++;
            else refused++;
          }
        } finally {
          executor.close();
        }
      }),
      { seed: FUZZ_SEED, numRuns: 600 },
    );
    assert.ok(ran > 200 && refused > 200, `${ran} ran, ${refused} refused`);
  });

  test('regression: a launch over 65,535 x 65,535 x 65,535 blocks is refused, not run for ever', () => {
    const executor = new CommandExecutor(arena, openDevices(arena), host);
    try {
      for (const c of setup) {
        const io = new LocalCommand(c.api, 0, c.text ?? '');
        io.args.set(c.args);
        executor.execute(io);
      }
      const launch = new LocalCommand(Api.launch, 1);
      launch.args.set([1, 65_535, 65_535, 65_535, 3, inPtr, outPtr, 0]);
      const result = outcomeOf(['LAKE_E_USAGE'], () => executor.execute(launch) ?? 'ran');
      assert.ok(!result.ok, 'the launch ran');
      assert.match(result.error.message, /blocks/);
    } finally {
      executor.close();
    }
  });

  test('regression: a debug sleep of Infinity or NaN ms is refused (lakeD would sleep, beating, for ever)', () => {
    const executor = new CommandExecutor(arena, openDevices(arena), host);
    try {
      for (const ms of [Number.POSITIVE_INFINITY, Number.NaN, -5, 1e12]) {
        const sleep = new LocalCommand(Api.debugSleep, 0);
        sleep.args[0] = ms;
        const result = outcomeOf(['LAKE_E_USAGE'], () => executor.execute(sleep) ?? 'slept');
        assert.ok(!result.ok, `slept ${ms} ms`);
      }
    } finally {
      executor.close();
    }
  });
});

describe('model images', () => {
  test('valid, mutated and random images: a checked model or LAKE_E_MODEL_FORMAT', () => {
    const valid = fc
      .array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 4 })
      .chain((sizes) => fc.nat(1000).map((seed) => encodeModelImage(randomDenseModel(seed, sizes))));
    let decoded = 0;
    fc.assert(
      fc.property(fc.oneof(valid, mutatedFrom(valid), randomBytes), (bytes) => {
        const result = outcomeOf(['LAKE_E_MODEL_FORMAT'], () => decodeModelImage(bytes, 'image'));
        if (!result.ok) return;
        decoded++;
        assert.deepEqual(encodeModelImage(result.value), bytes);
      }),
      { seed: FUZZ_SEED, numRuns: 1500 },
    );
    assert.ok(decoded > 100, `${decoded} decoded`);
  });
});

/** A corruption of one Int32 word of a shared buffer: one of the first `hot` (control) words, or any. */
const corruption = (hot: number) =>
  fc.record({ word: fc.oneof(fc.nat(hot - 1), fc.nat()), value: nastyWord });

describe('the capture ring', () => {
  test('corrupted control and slot words: reads, drains and captures stay bounded and coded', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(2, 4, 8, 16),
        fc.nat(20),
        fc.nat(20),
        fc.array(corruption(64), { minLength: 1, maxLength: 6 }),
        (capacity, captures, truncations, corruptions) => {
          const ring = CaptureRing.create(CHECK_SCHEMA, { capacity, clock: () => 1 });
          for (let i = 0; i < captures; i++) captureCheckEntry(ring, 1, i);
          ring.truncate(truncations % 3 === 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY);
          const words = new Int32Array(ring.buffer);
          for (const { word, value } of corruptions) words[word % words.length] = value;
          const codes: LakeErrorCode[] = ['LAKE_E_USAGE', 'LAKE_E_INTERNAL'];
          const attached = outcomeOf(codes, () => CaptureRing.attach(ring.shared(), () => 2), 'attach');
          for (const r of attached.ok ? [ring, attached.value] : [ring]) {
            const query = outcomeOf(codes, () => r.query(), 'query');
            if (query.ok) {
              assert.ok(query.value.length <= r.capacity, `${query.value.length} entries`);
              for (const entry of query.value) {
                assert.equal(entry.fields['pattern']?.length, 4);
                verifyCheckEntry(entry);
              }
            }
            let visited = 0;
            const drained = outcomeOf(codes, () => r.drain(() => visited++), 'drain');
            if (drained.ok) assert.ok(drained.value === visited && visited <= r.capacity);
            outcomeOf(codes, () => r.truncate(), 'truncate');
            outcomeOf(codes, () => r.stats(), 'stats');
            outcomeOf(codes, () => r.capture({ producer: 1, seq: 2 }), 'capture');
          }
        },
      ),
      { seed: FUZZ_SEED, numRuns: 1000 },
    );
  });

  test('regression: a ring whose counters say 2^31 entries are live reads no more than its capacity', () => {
    const ring = CaptureRing.create(CHECK_SCHEMA, { capacity: 4 });
    captureCheckEntry(ring, 1, 1);
    const words = new Int32Array(ring.buffer);
    words[16] = 2 ** 31 - 1; // the reservation counter, far past the tail
    const result = outcomeOf(['LAKE_E_USAGE', 'LAKE_E_INTERNAL'], () => ring.query(), 'query');
    assert.ok(!result.ok, 'a corrupt ring was read');
    assert.match(result.error.message, /corrupt/);
  });

  test('attaching a buffer whose capacity word was overwritten is refused', () => {
    const ring = CaptureRing.create(CHECK_SCHEMA, { capacity: 4 });
    new Int32Array(ring.buffer)[1] = 0;
    const result = outcomeOf(['LAKE_E_USAGE'], () => CaptureRing.attach(ring.shared()), 'attach');
    assert.ok(!result.ok, 'attached');
  });
});

describe('the model store', () => {
  test('corrupted control words (the lock word apart): gets, versions and lists stay bounded and coded', () => {
    const models = [randomDenseModel(1, [4, 3, 2]), randomDenseModel(2, [3, 2])];
    fc.assert(
      fc.property(fc.array(corruption(2 + 48 * 3), { minLength: 1, maxLength: 6 }), (corruptions) => {
        const store = ModelStore.create({ maxModels: 2, arenaBytes: 1 << 16 });
        store.create('a', models[0]!);
        store.create('b', models[1]!);
        store.update('a', models[1]!);
        const shared = store.shared();
        const words = new Int32Array(shared.control);
        for (const { word, value } of corruptions) {
          const at = word % words.length;
          if (at !== 0) words[at] = value; // the lock word: a corrupt lock waits out its timeout, by design
        }
        const codes: LakeErrorCode[] = [
          'LAKE_E_USAGE',
          'LAKE_E_INTERNAL',
          'LAKE_E_MODEL_FORMAT',
          'LAKE_E_MODEL_CHECKSUM',
        ];
        const attached = outcomeOf(codes, () => ModelStore.attach(shared), 'attach');
        if (!attached.ok) return;
        const reader = attached.value;
        for (const name of ['a', 'b', 'c']) {
          outcomeOf(codes, () => reader.version(name), 'version');
          const got = outcomeOf(codes, () => reader.get(name) ?? 'none', 'get');
          if (got.ok && got.value !== 'none') assert.equal(got.value.name, name);
        }
        const listed = outcomeOf(codes, () => reader.list(), 'list');
        if (listed.ok) assert.ok(listed.value.length <= 2);
      }),
      { seed: FUZZ_SEED, numRuns: 400 },
    );
  });

  test('regression: a store whose entry count word is corrupt is refused at attach', () => {
    const store = ModelStore.create({ maxModels: 2, arenaBytes: 1 << 16 });
    new Int32Array(store.shared().control)[2] = 1 << 20;
    const result = outcomeOf(['LAKE_E_USAGE'], () => ModelStore.attach(store.shared()), 'attach');
    assert.ok(!result.ok, 'attached');
  });
});
