/** A set of LinnOS vectors with the latency each read then had: what labelling and training consume. */
import { LINNOS_FEATURES } from './features.js';

export interface LinnosDataset {
  /** Number of vectors. */
  readonly count: number;
  /** count x 31 digits, row-major. */
  readonly vectors: Uint8Array;
  /** Latency the read had on the device that served it, us (the label source). */
  readonly latencyUs: Float64Array;
  /** Where each vector came from: the record's position in the input (or the line's data-row number). */
  readonly index: Int32Array;
}

/** A dataset of one device (offline extraction yields one per serving device). */
export interface DeviceDataset extends LinnosDataset {
  readonly device: number;
}

/** Growable columns for building a dataset without knowing its size in advance. */
export class DatasetBuilder {
  #vectors = new Uint8Array(LINNOS_FEATURES * 1024);
  #latency = new Float64Array(1024);
  #index = new Int32Array(1024);
  #count = 0;

  get count(): number {
    return this.#count;
  }

  /** Append a row and return where its 31 digits go in `vectors`; write them before the next append. */
  append(latencyUs: number, index: number): number {
    if (this.#count === this.#latency.length) this.#grow();
    const row = this.#count++;
    this.#latency[row] = latencyUs;
    this.#index[row] = index;
    return row * LINNOS_FEATURES;
  }

  /** Digit storage; a new array after an append that grew it. */
  get vectors(): Uint8Array {
    return this.#vectors;
  }

  build(): LinnosDataset {
    const n = this.#count;
    return {
      count: n,
      vectors: this.#vectors.slice(0, n * LINNOS_FEATURES),
      latencyUs: this.#latency.slice(0, n),
      index: this.#index.slice(0, n),
    };
  }

  #grow(): void {
    const capacity = this.#latency.length * 2;
    const vectors = new Uint8Array(capacity * LINNOS_FEATURES);
    vectors.set(this.#vectors);
    this.#vectors = vectors;
    const latency = new Float64Array(capacity);
    latency.set(this.#latency);
    this.#latency = latency;
    const index = new Int32Array(capacity);
    index.set(this.#index);
    this.#index = index;
  }
}

/** Concatenate datasets (e.g. all devices into one training set), in the order given. */
export function concatDatasets(parts: readonly LinnosDataset[]): LinnosDataset {
  let count = 0;
  for (const p of parts) count += p.count;
  const vectors = new Uint8Array(count * LINNOS_FEATURES);
  const latencyUs = new Float64Array(count);
  const index = new Int32Array(count);
  let at = 0;
  for (const p of parts) {
    vectors.set(p.vectors.subarray(0, p.count * LINNOS_FEATURES), at * LINNOS_FEATURES);
    latencyUs.set(p.latencyUs.subarray(0, p.count), at);
    index.set(p.index.subarray(0, p.count), at);
    at += p.count;
  }
  return { count, vectors, latencyUs, index };
}

/** Split rows by their device number (devices ascending), keeping row order within each device. */
export function groupByDevice(dataset: LinnosDataset, device: Int32Array): DeviceDataset[] {
  const rowsOf = new Map<number, number[]>();
  for (let r = 0; r < dataset.count; r++) {
    const d = device[r]!;
    let rows = rowsOf.get(d);
    if (rows === undefined) {
      rows = [];
      rowsOf.set(d, rows);
    }
    rows.push(r);
  }
  return [...rowsOf.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([d, rows]) => ({ device: d, ...selectRows(dataset, Int32Array.from(rows)) }));
}

/** The rows of a dataset in the order given. */
export function selectRows(dataset: LinnosDataset, rows: Int32Array): LinnosDataset {
  const vectors = new Uint8Array(rows.length * LINNOS_FEATURES);
  const latencyUs = new Float64Array(rows.length);
  const index = new Int32Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    vectors.set(
      dataset.vectors.subarray(r * LINNOS_FEATURES, (r + 1) * LINNOS_FEATURES),
      k * LINNOS_FEATURES,
    );
    latencyUs[k] = dataset.latencyUs[r]!;
    index[k] = dataset.index[r]!;
  }
  return { count: rows.length, vectors, latencyUs, index };
}

/** The rows sorted by `index` (stable): several devices' datasets pooled back into record (time) order. */
export function orderByIndex(dataset: LinnosDataset): LinnosDataset {
  const rows = new Int32Array(dataset.count);
  for (let r = 0; r < rows.length; r++) rows[r] = r;
  rows.sort((a, b) => dataset.index[a]! - dataset.index[b]! || a - b);
  return selectRows(dataset, rows);
}
