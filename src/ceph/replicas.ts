/**
 * Replicas on Ceph for a replay: a connection to the cluster, one device per replica pool (each pool
 * pinned to one OSD, so choosing a pool chooses the OSD that serves a read: a Ceph client cannot choose
 * which OSD of one pool serves it), and the preparation that makes every read of the workload find its
 * data on every replica.
 *
 * Preparation: the engine sends a read to its home pool or, revoked or hedged, to any other, and writes
 * only to their home pool; so before anything is measured, every 4 KiB block any I/O of the workload
 * touches (placed as the engine places it) is written to every pool, as runs of blocks within one object.
 * A block nobody touches is never written, so a pool holds the workload's footprint, not its capacity.
 */
import { LakeError, usageError } from '../errors.js';
import type { ArrivalColumns } from '../realdev/arrivals.js';
import type { BackendOptions, IoBackend } from '../realdev/backend.js';
import { fillPattern } from '../realdev/device.js';
import { CEPH_BLOCK_BYTES, CephBackend, CephDevice, DEFAULT_OBJECT_BYTES, objectName } from './backend.js';
import { RadosClient, type RadosConnectOptions, RadosOps } from './rados.js';

/** The device each pool holds, by default: small enough for a memstore OSD of 512 MiB with room to spare. */
export const DEFAULT_CEPH_CAPACITY_BYTES = 128 * 1024 * 1024;
/** Writes in flight at once while preparing. */
const PREPARE_QUEUE_DEPTH = 16;

export interface CephReplicaOptions extends RadosConnectOptions {
  pools: readonly string[];
  capacityBytes?: number;
  objectBytes?: number;
}

/** What preparing wrote: the same runs of blocks to every pool. */
export interface PreparedObjects {
  pools: string[];
  objects: number;
  /** Runs of blocks written per pool (one write each). */
  extents: number;
  /** Bytes written per pool. */
  bytesPerPool: number;
  wallMs: number;
}

export function describePrepared(p: PreparedObjects): string {
  const mib = (p.bytesPerPool / 1048576).toFixed(1);
  return `wrote ${mib} MiB (${p.extents} extents in ${p.objects} objects) to each of ${p.pools.join(', ')} in ${(p.wallMs / 1000).toFixed(1)} s`;
}

/** An extent to write: object index, offset in it, bytes. */
type Extent = [number, number, number];

/** The runs of blocks the workload touches, within objects, in device order. */
export function touchedExtents(arrivals: ArrivalColumns, device: CephDevice): Extent[] {
  const blocks = Math.ceil(device.capacityBytes / CEPH_BLOCK_BYTES);
  const touched = new Uint8Array(blocks);
  for (let i = 0; i < arrivals.count; i++) {
    const placed = device.place(arrivals.offset[i]!, arrivals.size[i]!);
    const first = Math.floor(placed.offset / CEPH_BLOCK_BYTES);
    const last = Math.ceil((placed.offset + placed.size) / CEPH_BLOCK_BYTES);
    touched.fill(1, first, last);
  }
  const blocksPerObject = device.objectBytes / CEPH_BLOCK_BYTES;
  const extents: Extent[] = [];
  let b = 0;
  while (b < blocks) {
    if (touched[b] === 0) {
      b++;
      continue;
    }
    const object = Math.floor(b / blocksPerObject);
    const objectEnd = Math.min(blocks, (object + 1) * blocksPerObject);
    let e = b;
    while (e < objectEnd && touched[e] === 1) e++;
    extents.push([object, (b - object * blocksPerObject) * CEPH_BLOCK_BYTES, (e - b) * CEPH_BLOCK_BYTES]);
    b = e;
  }
  return extents;
}

/** A cluster's replica pools, open for a replay; close() shuts the connection (after every op). */
export class CephReplicas {
  readonly client: RadosClient;
  readonly devices: CephDevice[];
  readonly confPath: string;

  private constructor(client: RadosClient, devices: CephDevice[]) {
    this.client = client;
    this.devices = devices;
    this.confPath = client.confPath;
  }

  static async open(options: CephReplicaOptions): Promise<CephReplicas> {
    const capacityBytes = options.capacityBytes ?? DEFAULT_CEPH_CAPACITY_BYTES;
    const objectBytes = options.objectBytes ?? DEFAULT_OBJECT_BYTES;
    if (options.pools.length === 0) throw usageError('--pools must name at least one pool');
    if (new Set(options.pools).size !== options.pools.length)
      throw usageError(
        `--pools names a pool twice (${options.pools.join(',')}): each replica is its own pool`,
      );
    if (
      !(
        Number.isInteger(objectBytes) &&
        objectBytes >= CEPH_BLOCK_BYTES &&
        objectBytes % CEPH_BLOCK_BYTES === 0
      )
    )
      throw usageError(`the object size must be a multiple of ${CEPH_BLOCK_BYTES} B, got ${objectBytes}`);
    if (
      !(
        Number.isInteger(capacityBytes) &&
        capacityBytes >= CEPH_BLOCK_BYTES &&
        capacityBytes % CEPH_BLOCK_BYTES === 0
      )
    )
      throw usageError(
        `the size each pool holds must be a multiple of ${CEPH_BLOCK_BYTES} B, got ${capacityBytes}`,
      );
    const client = await RadosClient.connect(options);
    try {
      const devices = options.pools.map(
        (name, i) => new CephDevice(i, client.openPool(name), capacityBytes, objectBytes),
      );
      return new CephReplicas(client, devices);
    } catch (error) {
      await client.shutdown();
      throw error;
    }
  }

  /** A backend for one policy run (the engine closes it; the connection stays). */
  makeBackend = (options: BackendOptions): IoBackend =>
    new CephBackend(this.client, this.devices, {
      maxInFlight: options.maxInFlight,
      maxIoBytes: options.maxIoBytes,
    });

  /** Writes every block the workload touches to every pool (see the file's comment). */
  async prepare(
    arrivals: ArrivalColumns,
    onProgress?: (done: number, total: number) => void,
  ): Promise<PreparedObjects> {
    const started = performance.now();
    const first = this.devices[0]!;
    const extents = touchedExtents(arrivals, first);
    const largest = extents.reduce((m, e) => Math.max(m, e[2]), CEPH_BLOCK_BYTES);
    const data = Buffer.alloc(largest);
    fillPattern(data, 7);
    const ops = new RadosOps(this.client);
    const total = extents.length * this.devices.length;
    let next = 0;
    let done = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (next < total && !failed) {
        const k = next++;
        const [object, offset, bytes] = extents[k % extents.length]!;
        const device = this.devices[Math.floor(k / extents.length)]!;
        try {
          await ops.write(
            device.pool,
            objectName(object, device.objectBytes),
            data.subarray(0, bytes),
            offset,
          );
        } catch (error) {
          failed = true;
          throw error;
        }
        onProgress?.(++done, total);
      }
    };
    try {
      await Promise.all(Array.from({ length: PREPARE_QUEUE_DEPTH }, worker));
    } catch (error) {
      await this.client.drain();
      throw new LakeError('LAKE_E_IO', `preparing the replica pools: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return {
      pools: this.devices.map((d) => d.pool.name),
      objects: new Set(extents.map((e) => e[0])).size,
      extents: extents.length,
      bytesPerPool: extents.reduce((s, e) => s + e[2], 0),
      wallMs: performance.now() - started,
    };
  }

  /** Waits for every op in flight, then shuts the connection; returns the op counts (equal: all seen). */
  async close(): Promise<{ submitted: number; completed: number }> {
    for (const d of this.devices) d.close();
    return this.client.shutdown();
  }
}
