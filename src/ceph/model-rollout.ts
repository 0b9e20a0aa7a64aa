/**
 * Models across the cluster: the model store's images kept as RADOS objects, and new versions rolled out to
 * every client through RADOS watch/notify.
 *
 * A model `name` lives in object `lake.model.<name>` of one pool, as the image the model store keeps
 * (src/lake/backends/model-image.ts), and its current version's announcement `{name, version, bytes,
 * sha256}` in `lake.model.<name>.version` (JSON, padded to ANNOUNCEMENT_BYTES). Publishing a version
 * writes the image, then the announcement, then notifies the watchers of the announcement object with it.
 * A client that subscribes creates the announcement object if it is missing (a watch needs an object),
 * watches it, and installs the version it holds, if any. Each subscribed client reads the image, installs it in
 * its own ModelStore with `load` (sha256 checked, then lake's atomic swap: readers see the old version or
 * the new one, never a mix; a bad image changes nothing) and only then acknowledges, so the publisher's
 * notify completes when every client serves the new version (or fails with ETIMEDOUT when one did not).
 */
import { LakeError } from '../errors.js';
import { encodeModelImage } from '../lake/backends/model-image.js';
import { type ModelStore, sha256Hex } from '../lake/registry/model-store.js';
import type { DenseModel } from '../models/dense.js';
import { RadosClient, RadosOps, type RadosPool, type RadosWatch, type WatchId } from './rados.js';

export const MODEL_OBJECT_PREFIX = 'lake.model.';

/** What a notify about a new model version carries. */
export interface ModelAnnouncement {
  name: string;
  version: number;
  bytes: number;
  sha256: string;
  /** The publisher's clock when it notified (ms, performance.now): for roll-out times in one process. */
  sentMs: number;
}

export function modelObject(name: string): string {
  return `${MODEL_OBJECT_PREFIX}${name}`;
}

export function announcementObject(name: string): string {
  return `${MODEL_OBJECT_PREFIX}${name}.version`;
}

/** The announcement object's size: JSON padded with spaces, so a shorter one leaves no stale tail. */
const ANNOUNCEMENT_BYTES = 1024;

/** Writes version `version` of `name` as its object, then notifies and waits for every subscriber's ack. */
export async function publishModel(
  client: RadosClient,
  pool: RadosPool,
  name: string,
  model: DenseModel,
  version: number,
  timeoutMs = 10_000,
): Promise<ModelAnnouncement> {
  const image = Buffer.from(encodeModelImage(model));
  const ops = new RadosOps(client);
  await ops.write(pool, modelObject(name), image, 0);
  const announcement: ModelAnnouncement = {
    name,
    version,
    bytes: image.length,
    sha256: sha256Hex(image),
    sentMs: 0,
  };
  const text = JSON.stringify(announcement);
  if (text.length > ANNOUNCEMENT_BYTES)
    throw new LakeError('LAKE_E_USAGE', `model name too long: ${name.slice(0, 80)}...`);
  await ops.write(pool, announcementObject(name), Buffer.from(text.padEnd(ANNOUNCEMENT_BYTES, ' ')), 0);
  announcement.sentMs = performance.now();
  await client.notify(pool, announcementObject(name), JSON.stringify(announcement), timeoutMs);
  return announcement;
}

/** One version as a subscriber installed it. */
export interface Installed {
  announcement: ModelAnnouncement;
  /** When the swap was done (performance.now, ms). */
  atMs: number;
  /** The local store's version after the swap. */
  storeVersion: number;
}

/**
 * A client following `name`: each announced version is read, checked and swapped into `store`, then
 * acknowledged. A version that fails (read error, checksum, bad image) is not acknowledged, so the
 * publisher's notify fails; the store keeps serving what it had. Failures are kept in `errors`.
 */
export class ModelSubscriber {
  readonly installed: Installed[] = [];
  readonly errors: Error[] = [];
  readonly #client: RadosClient;
  readonly #watch: RadosWatch;

  private constructor(client: RadosClient, watch: RadosWatch) {
    this.#client = client;
    this.#watch = watch;
  }

  static async start(
    client: RadosClient,
    pool: RadosPool,
    name: string,
    store: ModelStore,
  ): Promise<ModelSubscriber> {
    const ops = new RadosOps(client);
    const pending: [WatchId, string][] = [];
    let deliver = (notifyId: WatchId, payload: string): void => void pending.push([notifyId, payload]);
    // A write of no bytes creates the object if it is missing and changes nothing if it is there.
    await ops.write(pool, announcementObject(name), Buffer.alloc(0), 0);
    const watch = await client.watch(pool, announcementObject(name), (notifyId, payload) =>
      deliver(notifyId, payload),
    );
    const subscriber = new ModelSubscriber(client, watch);
    deliver = (notifyId, payload) => void subscriber.#install(ops, pool, store, notifyId, payload);
    // The version published before this client watched, if any, then the notifies that came meanwhile.
    const current = Buffer.alloc(ANNOUNCEMENT_BYTES);
    const got = await ops.read(pool, announcementObject(name), current, ANNOUNCEMENT_BYTES, 0);
    const text = current.subarray(0, got).toString().trim();
    if (text.length > 0) await subscriber.#install(ops, pool, store, undefined, text);
    for (const [notifyId, payload] of pending) deliver(notifyId, payload);
    return subscriber;
  }

  /** Installs an announced version; acknowledges it when it came by notify (`notifyId`). */
  async #install(
    ops: RadosOps,
    pool: RadosPool,
    store: ModelStore,
    notifyId: WatchId | undefined,
    payload: string,
  ): Promise<void> {
    try {
      const a = JSON.parse(payload) as ModelAnnouncement;
      if (
        typeof a.name !== 'string' ||
        !Number.isSafeInteger(a.bytes) ||
        a.bytes <= 0 ||
        typeof a.sha256 !== 'string'
      )
        throw new LakeError(
          'LAKE_E_MODEL_FORMAT',
          `${modelObject(String(a.name))}: a notify without a model's name, size and sha256`,
        );
      const image = Buffer.alloc(a.bytes);
      const got = await ops.read(pool, modelObject(a.name), image, a.bytes, 0);
      if (got !== a.bytes)
        throw new LakeError(
          'LAKE_E_MODEL_FORMAT',
          `${modelObject(a.name)}: read ${got} of the ${a.bytes} announced bytes`,
        );
      const version = store.load(a.name, image, a.sha256);
      this.installed.push({ announcement: a, atMs: performance.now(), storeVersion: version.version });
      if (notifyId !== undefined) this.#client.ack(this.#watch, notifyId);
    } catch (error) {
      this.errors.push(error as Error);
    }
  }

  async close(): Promise<void> {
    await this.#client.unwatch(this.#watch);
  }
}

/** Roll-out times of the versions published to N subscribers: from the notify to each client's swap. */
export interface RolloutTimes {
  clients: number;
  versions: number;
  /** Every (version, client) roll-out, ms. */
  samplesMs: number[];
  medianMs: number;
  maxMs: number;
  /** The publisher's wait per version (write not included): notify until every ack, ms. */
  notifyMedianMs: number;
}

export function rolloutTimes(
  announcements: readonly ModelAnnouncement[],
  subscribers: readonly ModelSubscriber[],
  notifyMs: readonly number[],
): RolloutTimes {
  const samplesMs: number[] = [];
  for (const s of subscribers)
    for (const i of s.installed) {
      if (
        announcements.some((a) => a.version === i.announcement.version && a.sentMs === i.announcement.sentMs)
      )
        samplesMs.push(i.atMs - i.announcement.sentMs);
    }
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const notifySorted = [...notifyMs].sort((a, b) => a - b);
  return {
    clients: subscribers.length,
    versions: announcements.length,
    samplesMs,
    medianMs: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    maxMs: sorted.at(-1) ?? Number.NaN,
    notifyMedianMs: notifySorted[Math.floor(notifySorted.length / 2)] ?? Number.NaN,
  };
}

export interface RolloutOptions {
  confPath: string;
  pool: string;
  name: string;
  /** Subscribed clients, each its own connection and ModelStore. */
  clients: number;
  /** The versions to publish, in order (each one rolled out before the next). */
  models: readonly DenseModel[];
  makeStore: () => ModelStore;
  timeoutMs?: number;
}

/**
 * Publishes `models` one after the other to `clients` subscribers (one connection each, as separate
 * clients would have) and returns the roll-out times; every connection is shut down before it returns.
 */
export async function measureRollout(
  options: RolloutOptions,
): Promise<RolloutTimes & { stores: ModelStore[] }> {
  if (!(Number.isInteger(options.clients) && options.clients >= 1))
    throw new LakeError('LAKE_E_USAGE', `clients must be a positive integer, got ${options.clients}`);
  const connections: RadosClient[] = [];
  const subscribers: ModelSubscriber[] = [];
  const stores: ModelStore[] = [];
  try {
    const publisher = await RadosClient.connect({ confPath: options.confPath });
    connections.push(publisher);
    const pool = publisher.openPool(options.pool);
    for (let c = 0; c < options.clients; c++) {
      const client = await RadosClient.connect({ confPath: options.confPath });
      connections.push(client);
      const store = options.makeStore();
      stores.push(store);
      subscribers.push(
        await ModelSubscriber.start(client, client.openPool(options.pool), options.name, store),
      );
    }
    const announcements: ModelAnnouncement[] = [];
    const notifyMs: number[] = [];
    for (const [v, model] of options.models.entries()) {
      const started = performance.now();
      const a = await publishModel(publisher, pool, options.name, model, v + 1, options.timeoutMs);
      notifyMs.push(performance.now() - a.sentMs);
      announcements.push(a);
      if (a.sentMs < started)
        throw new LakeError('LAKE_E_INTERNAL', 'the notify was stamped before the write');
    }
    return { ...rolloutTimes(announcements, subscribers, notifyMs), stores };
  } finally {
    for (const s of subscribers) await s.close();
    for (const c of connections) await c.shutdown();
  }
}
