/**
 * lake's RADOS client and replay on a real Ceph cluster (no mock of Ceph): one 3-OSD cluster for the file,
 * stopped after it. A write and read round trip (also across an object boundary through the engine's
 * backend), errors named by errno, pool and object, every completion accounted for at shutdown, and short
 * `lake replay --ceph` and `lake record --ceph` runs producing their reports. Skips with the reason where
 * the Ceph programs, koffi or librados are missing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CephBackend, CephDevice, objectName, objectOf } from '../../src/ceph/backend.js';
import {
  announcementObject,
  ModelSubscriber,
  measureRollout,
  modelObject,
  publishModel,
} from '../../src/ceph/model-rollout.js';
import {
  describeErrno,
  errnoName,
  RadosClient,
  RadosError,
  RadosOps,
  radosAvailability,
} from '../../src/ceph/rados.js';
import { CephReplicas, touchedExtents } from '../../src/ceph/replicas.js';
import { LakeError } from '../../src/errors.js';
import { ModelStore } from '../../src/lake/registry/model-store.js';
import type { DenseModel } from '../../src/models/dense.js';
import { cephAvailable, withCluster } from '../helpers/ceph.js';
import { runLake } from '../helpers/cli.js';

const MODEL = fileURLToPath(new URL('../fixtures/linnos/w_sde.h', import.meta.url));

function skipReason(): string | undefined {
  const ceph = cephAvailable();
  if (!ceph.available) return ceph.reason;
  const rados = radosAvailability();
  return rados.available ? undefined : rados.reason;
}
const skip = skipReason();
const options = skip === undefined ? {} : { skip };

/** The cluster for every test of the file, started in `before` and stopped when `after` resolves it. */
let conf = '';
let finish: (() => void) | undefined;
let clusterDone: Promise<void> | undefined;
const work = mkdtempSync(join(tmpdir(), 'lake-rados-test-'));

before(async () => {
  if (skip !== undefined) return;
  await new Promise<void>((ready, failed) => {
    clusterDone = withCluster(3, async (c) => {
      conf = c;
      ready();
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
    }).catch(failed);
  });
});

after(async () => {
  finish?.();
  await clusterDone;
  rmSync(work, { recursive: true, force: true });
});

/** Waits on a backend until `count` completions are in; returns [slot, result] pairs. */
async function completions(backend: CephBackend, count: number): Promise<[number, number][]> {
  const seen: [number, number][] = [];
  while (seen.length < count) {
    const r = backend.wait(backend.nowUs() + 1e6, 0);
    const k = typeof r === 'number' ? r : await r;
    for (let i = 0; i < k; i++) seen.push([backend.completions[i * 3]!, backend.completions[i * 3 + 1]!]);
  }
  return seen;
}

test(
  'a write and a read round trip, also through the backend across an object boundary',
  options,
  async () => {
    const client = await RadosClient.connect({ confPath: conf });
    try {
      const ops = new RadosOps(client);
      const r0 = client.openPool('r0');
      const data = Buffer.from('lake on rados: a round trip');
      assert.equal(await ops.write(r0, 'round-trip', data, 100), 0);
      const back = Buffer.alloc(data.length);
      assert.equal(await ops.read(r0, 'round-trip', back, data.length, 100), data.length);
      assert.equal(back.toString(), data.toString());

      // 8 KiB at 4 MiB - 4 KiB of a 64 KiB-object device: two objects, one I/O, one completion.
      const objectBytes = 65536;
      const devices = ['r0', 'r1'].map((p, i) => new CephDevice(i, client.openPool(p), 1 << 20, objectBytes));
      const backend = new CephBackend(client, devices, { maxInFlight: 8, maxIoBytes: 8192 });
      backend.queue(3, 1, true, objectBytes - 4096, 8192);
      assert.ok(Number.isFinite(backend.flush()));
      assert.deepEqual(await completions(backend, 1), [[3, 8192]]);
      backend.queue(4, 1, false, objectBytes - 4096, 8192);
      backend.queue(5, 0, false, objectBytes - 4096, 8192); // never written on r0: ENOENT
      backend.flush();
      const seen = new Map(await completions(backend, 2));
      assert.equal(seen.get(4), 8192);
      assert.equal(seen.get(5), -2);
      await backend.close();
      assert.equal(backend.inFlight, 0);
      // Each piece went to its own object of the pool.
      const piece = Buffer.alloc(4096);
      assert.equal(await ops.read(devices[1]!.pool, objectName(1, objectBytes), piece, 4096, 0), 4096);
    } finally {
      await client.shutdown();
    }
  },
);

test('errors name the errno, the pool and the object', options, async () => {
  const client = await RadosClient.connect({ confPath: conf });
  try {
    assert.throws(
      () => client.openPool('no-such-pool'),
      (e: unknown) =>
        e instanceof RadosError &&
        e.code === 'LAKE_E_IO' &&
        e.errnoName === 'ENOENT' &&
        e.pool === 'no-such-pool' &&
        e.message.includes('pool no-such-pool') &&
        e.message.includes('ENOENT'),
    );
    const ops = new RadosOps(client);
    await assert.rejects(
      ops.read(client.openPool('r1'), 'no-such-object', Buffer.alloc(16)),
      (e: unknown) =>
        e instanceof RadosError &&
        e.errno === -2 &&
        e.object === 'no-such-object' &&
        /pool r1, object no-such-object\): ENOENT/.test(e.message),
    );
  } finally {
    await client.shutdown();
  }
  await assert.rejects(
    RadosClient.connect({ confPath: join(work, 'missing.conf') }),
    (e: unknown) => e instanceof LakeError && e.code === 'LAKE_E_IO' && e.message.includes('missing.conf'),
  );
});

test(
  'every completion is accounted for at shutdown, and a shut client refuses ops without throwing',
  options,
  async () => {
    const client = await RadosClient.connect({ confPath: conf });
    const pool = client.openPool('r2');
    const results: number[] = [];
    const completed = (_tag: number, result: number): void => void results.push(result);
    const data = Buffer.alloc(4096, 1);
    for (let i = 0; i < 200; i++)
      client.submit(i, pool, `burst.${i % 7}`, true, data, 4096, (i % 16) * 4096, completed, i % 2 === 0);
    assert.ok(client.inFlight > 0, 'ops are in flight when shutdown starts');
    const counts = await client.shutdown();
    assert.deepEqual(counts, { submitted: 200, completed: 200 });
    assert.equal(results.length, 200);
    assert.ok(results.every((r) => r === 0));
    assert.equal(client.inFlight, 0);
    client.submit(999, pool, 'after', false, data, 4096, 0, completed);
    assert.equal(results.at(-1), -108); // ESHUTDOWN, as a completion
    assert.deepEqual(await client.shutdown(), { submitted: 201, completed: 201 });
  },
);

/** A LinnOS-shaped model whose weights depend on `seed` (different versions differ). */
function seededModel(seed: number): DenseModel {
  const layer = (inputs: number, outputs: number) => ({
    inputs,
    outputs,
    weights: Float32Array.from({ length: inputs * outputs }, (_, k) => Math.sin(k * 0.37 + seed)),
    bias: Float32Array.from({ length: outputs }, (_, k) => k + seed),
  });
  return { layers: [layer(31, 256), layer(256, 2)] };
}

test('a model version reaches every client through watch/notify, swapped atomically', options, async () => {
  const models = [1, 2, 3].map(seededModel);
  const rollout = await measureRollout({
    confPath: conf,
    pool: 'r1',
    name: 'linnos-r1',
    clients: 4,
    models,
    makeStore: () => ModelStore.create({ maxModels: 2, arenaBytes: 1 << 20 }),
  });
  assert.equal(rollout.samplesMs.length, 4 * 3, 'every version reached every client');
  assert.ok(rollout.samplesMs.every((ms) => ms >= 0 && ms < 10_000));
  assert.ok(rollout.medianMs <= rollout.maxMs);
  for (const store of rollout.stores) {
    assert.equal(store.version('linnos-r1'), 3);
    assert.deepEqual(store.get('linnos-r1')!.model.layers[1]!.bias, models[2]!.layers[1]!.bias);
  }

  // A client that subscribes later installs the current version at once; a corrupt image is refused
  // (not acknowledged: the notify times out) and the client keeps serving the version it had.
  const publisher = await RadosClient.connect({ confPath: conf });
  const late = await RadosClient.connect({ confPath: conf });
  try {
    const pool = publisher.openPool('r1');
    const store = ModelStore.create({ maxModels: 2, arenaBytes: 1 << 20 });
    const subscriber = await ModelSubscriber.start(late, late.openPool('r1'), 'linnos-r1', store);
    assert.equal(store.version('linnos-r1'), 1);
    assert.equal(subscriber.installed[0]!.announcement.version, 3);
    const good = await publishModel(publisher, pool, 'linnos-r1', seededModel(4), 4);
    assert.equal(store.version('linnos-r1'), 2);
    await new RadosOps(publisher).write(pool, modelObject('linnos-r1'), Buffer.alloc(good.bytes, 7), 0);
    const forged = JSON.stringify({ ...good, version: 5, sentMs: performance.now() });
    await assert.rejects(
      publisher.notify(pool, announcementObject('linnos-r1'), forged, 1500),
      (e: unknown) => e instanceof RadosError && e.errnoName === 'ETIMEDOUT',
    );
    assert.equal(store.version('linnos-r1'), 2);
    assert.match(subscriber.errors[0]?.message ?? '', /sha256/);
    await subscriber.close();
  } finally {
    await late.shutdown();
    await publisher.shutdown();
  }
});

/** A seeded read-mostly 4 KiB trace (LinnOS input format) over three devices, ~400 I/Os per second. */
function smallTrace(path: string, count: number): void {
  let x = 12345;
  const next = (): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
  const lines: string[] = [];
  let t = 0;
  for (let i = 0; i < count; i++) {
    t += -Math.log(1 - next()) * 2.5;
    const block = Math.floor(next() * 4096);
    lines.push(`${t.toFixed(3)} ${i % 3} ${block * 4096} 4096 ${next() < 0.85 ? 1 : 0}`);
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** Two I/Os on a 1 MiB device of 64 KiB objects: one crosses objects 0 and 1, one wraps to 8 KiB. */
const twoIos = {
  count: 2,
  arrivalUs: Float64Array.of(0, 1),
  device: Int32Array.of(0, 0),
  offset: Float64Array.of(65536 - 4096, (1 << 20) + 8192),
  size: Float64Array.of(8192, 4096),
  read: Uint8Array.of(1, 1),
  reordered: 0,
  maxSize: 8192,
  writes: 0,
};

test('preparation covers every block the engine places, as runs within objects (no cluster)', () => {
  const device = new CephDevice(0, { name: 'r0', index: 0 }, 1 << 20, 65536);
  assert.deepEqual(touchedExtents(twoIos, device), [
    [0, 8192, 4096],
    [0, 61440, 4096],
    [1, 0, 4096],
  ]);
  assert.deepEqual(objectOf(65536 * 3 + 5, 65536), { index: 3, offsetInObject: 5 });
  assert.equal(objectName(3, 65536), 'lake.65536.3');
  assert.deepEqual(device.place((1 << 20) + 8192, 100), { offset: 8192, size: 4096 });
});

test('errno values are named, with what they mean (no cluster)', () => {
  assert.equal(errnoName(-2), 'ENOENT');
  assert.equal(errnoName(108), 'ESHUTDOWN');
  assert.equal(errnoName(-11), 'EAGAIN');
  assert.equal(errnoName(-9999), 'errno 9999');
  assert.equal(describeErrno(-110), 'ETIMEDOUT (timed out)');
  const e = new RadosError('read of 4096 B at 0', -5, { pool: 'r2', object: 'lake.4194304.0' });
  assert.equal(e.code, 'LAKE_E_IO');
  assert.equal(e.message, 'rados: read of 4096 B at 0 (pool r2, object lake.4194304.0): EIO (I/O error)');
});

test(
  'the replica pools are prepared on the cluster: every extent written to every pool',
  options,
  async () => {
    const replicas = await CephReplicas.open({
      confPath: conf,
      pools: ['r0', 'r2'],
      capacityBytes: 1 << 20,
      objectBytes: 65536,
    });
    try {
      const prepared = await replicas.prepare(twoIos);
      assert.deepEqual(prepared.pools, ['r0', 'r2']);
      assert.equal(prepared.extents, 3);
      assert.equal(prepared.objects, 2);
      assert.equal(prepared.bytesPerPool, 3 * 4096);
      const ops = new RadosOps(replicas.client);
      for (const d of replicas.devices) {
        const block = Buffer.alloc(4096);
        assert.equal(await ops.read(d.pool, objectName(1, 65536), block, 4096, 0), 4096);
      }
    } finally {
      await replicas.close();
    }
  },
);

test('lake replay --ceph (baseline, linnos) and lake record --ceph report on the cluster', options, () => {
  const trace = join(work, 'small.trace');
  smallTrace(trace, 1200);
  const out = join(work, 'replay');
  // Both commands on the same pools, trace and device size.
  const onCluster = ['--ceph', conf, '--pools', 'r0,r1,r2', '--trace', trace, '--size', '16M'];
  const replay = runLake([
    'replay',
    ...onCluster,
    '--policies',
    'baseline,linnos',
    '--model',
    MODEL,
    '--warm-up',
    '0.5',
    '--out',
    out,
  ]);
  assert.equal(replay.status, 0, replay.stderr);
  assert.match(
    replay.stderr,
    /prepared the replica pools: wrote [\d.]+ MiB \(\d+ extents in \d+ objects\) to each of r0, r1, r2/,
  );
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
    params: { io: string; prepared: string };
    devices: { path: string; kind: string }[];
    policies: Record<string, { replay: { backend: string; ioErrors: number; ios: number } }>;
  };
  assert.match(results.params.io, /^librados aio/);
  assert.deepEqual(
    results.devices.map((d) => [d.path, d.kind]),
    [
      ['rados:r0', 'rados-pool'],
      ['rados:r1', 'rados-pool'],
      ['rados:r2', 'rados-pool'],
    ],
  );
  for (const name of ['baseline', 'linnos']) {
    const run = results.policies[name]!.replay;
    assert.equal(run.backend, 'rados');
    assert.equal(run.ios, 1200);
    assert.equal(run.ioErrors, 0);
  }
  const recorded = join(work, 'recorded.csv');
  const record = runLake(['record', ...onCluster, '--out', recorded]);
  assert.equal(record.status, 0, record.stderr);
  const rows = readFileSync(recorded, 'utf8').trim().split('\n');
  assert.equal(rows.length, 1200);
  assert.ok(rows.every((r) => r.split(',').length === 9));
});

test('--ceph refuses what cannot run: no pools, both --devices and --ceph, a missing pool', options, () => {
  const trace = join(work, 'refuse.trace');
  smallTrace(trace, 10);
  const noPools = runLake(['replay', '--ceph', conf, '--trace', trace]);
  assert.equal(noPools.status, 64);
  assert.match(noPools.stderr, /--ceph needs --pools/);
  const both = runLake(['replay', '--ceph', conf, '--pools', 'r0', '--devices', 'a.img', '--trace', trace]);
  assert.equal(both.status, 64);
  assert.match(both.stderr, /exclude each other/);
  const fileBackend = runLake([
    'replay',
    '--ceph',
    conf,
    '--pools',
    'r0',
    '--backend',
    'uring',
    '--trace',
    trace,
  ]);
  assert.equal(fileBackend.status, 64);
  assert.match(fileBackend.stderr, /--backend applies to files and block devices, not to --ceph/);
  const missing = runLake(['replay', '--ceph', conf, '--pools', 'r0,nope', '--trace', trace]);
  assert.equal(missing.status, 74);
  assert.match(missing.stderr, /pool nope.*ENOENT/);
});
