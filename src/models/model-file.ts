import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { escapeInput, LakeError } from '../errors.js';
import { writeFileAtomic } from '../report/write.js';
import type { DenseModel } from './dense.js';
import { checkDenseModel, shapeOf } from './dense-check.js';
import { bytesToFloat32, float32ToBytes } from './float32-bytes.js';

/**
 * lake's own model file: one JSON document.
 *
 *   { "format": "lake-model", "formatVersion": 1,
 *     "meta": { "kind": "linnos", "shape": "31-256-2", "featureSchema": "linnos-digits-31", ... },
 *     "layers": [ { "inputs": 31, "outputs": 256, "activation": "relu",
 *                   "weights": "<base64 of little-endian float32, row-major [outputs][inputs]>",
 *                   "bias": "<base64 ...>" }, ..., { ..., "activation": "linear" } ],
 *     "sha256": "<hex>" }
 *
 * `sha256` is taken over the canonical serialisation of the document without it: JSON with object keys
 * sorted at every level and no whitespace. Readers check the format, then the version, then the checksum,
 * then the shapes, so a file from a newer lake is refused as such rather than as corrupt.
 */
export const MODEL_FORMAT = 'lake-model';
export const MODEL_FORMAT_VERSION = 1;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface ModelMeta {
  /** What the model predicts, e.g. 'linnos'. */
  kind: string;
  /** The feature schema the inputs follow, e.g. 'linnos-digits-31'. */
  featureSchema: string;
  /** ISO 8601 time of creation, supplied by the caller so that files are reproducible. */
  createdAt: string;
  /** Layer widths, e.g. "31-256-2"; filled in from the model when left out, checked against it otherwise. */
  shape?: string;
  /** The device the model was trained for. */
  device?: string;
  /** The latency threshold (us) above which a read was labelled slow. */
  labelThresholdUs?: number;
  /** Training figures (epochs, loss, accuracy, seed, ...). */
  trainingStats?: { [key: string]: JsonValue };
  /** Anything else worth keeping with the model. */
  extra?: { [key: string]: JsonValue };
}

export interface LoadedModel {
  model: DenseModel;
  meta: ModelMeta & { shape: string };
  sha256: string;
  /** The file it came from. */
  path: string;
}

interface LayerDocument {
  inputs: number;
  outputs: number;
  activation: 'relu' | 'linear';
  weights: string;
  bias: string;
}

interface ModelDocument {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  meta: ModelMeta & { shape: string };
  layers: LayerDocument[];
  sha256?: string;
}

/**
 * Nesting a model document may have. lake writes 3 levels plus whatever meta.extra holds; the limit keeps
 * a hostile file from exhausting the stack of the (recursive) canonical serialisation.
 */
export const MAX_JSON_DEPTH = 256;

/** JSON with sorted keys and no whitespace: the bytes the checksum covers. */
export function canonicalJson(value: unknown): string {
  return canonicalAt(value, 0);
}

function canonicalAt(value: unknown, depth: number): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new LakeError('LAKE_E_MODEL_FORMAT', `cannot serialise the number ${value}`);
    }
    return JSON.stringify(value) ?? 'null';
  }
  if (depth >= MAX_JSON_DEPTH)
    throw new LakeError('LAKE_E_MODEL_FORMAT', `nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalAt(v, depth + 1)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalAt(v, depth + 1)}`).join(',')}}`;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function decodeFloat32(
  text: string,
  count: number,
  fail: (message: string) => never,
  what: string,
): Float32Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) fail(`${what} is not base64`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== count * 4)
    fail(`${what} holds ${bytes.length} bytes, expected ${count * 4} (${count} float32)`);
  return bytesToFloat32(bytes);
}

/** The file's text for a model (pretty-printed JSON; the checksum covers the canonical form). */
export function serializeModel(model: DenseModel, meta: ModelMeta): string {
  checkDenseModel(model);
  const shape = shapeOf(model);
  if (meta.shape !== undefined && meta.shape !== shape) {
    throw new LakeError('LAKE_E_MODEL_FORMAT', `meta.shape is ${meta.shape} but the model is ${shape}`);
  }
  const document: ModelDocument = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    meta: { ...meta, shape },
    layers: model.layers.map((layer, l) => ({
      inputs: layer.inputs,
      outputs: layer.outputs,
      activation: l < model.layers.length - 1 ? 'relu' : 'linear',
      weights: Buffer.from(float32ToBytes(layer.weights)).toString('base64'),
      bias: Buffer.from(float32ToBytes(layer.bias)).toString('base64'),
    })),
  };
  document.sha256 = sha256Hex(canonicalJson(document));
  return `${JSON.stringify(document, null, 2)}\n`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses a model file's text; `file` names it in errors. */
export function parseModel(text: string, file: string): LoadedModel {
  const fail = (message: string): never => {
    throw new LakeError('LAKE_E_MODEL_FORMAT', `${file}: ${message}`);
  };
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    throw new LakeError(
      'LAKE_E_MODEL_FORMAT',
      // The parser's message quotes the text: escaped, as any echo of input.
      `${file}: not a complete JSON document (truncated?): ${escapeInput((cause as Error).message, 160)}`,
      {
        cause,
      },
    );
  }
  if (!isObject(document) || document['format'] !== MODEL_FORMAT)
    fail(`not a lake model file (format is not "${MODEL_FORMAT}")`);
  const doc = document as Record<string, unknown>;
  if (doc['formatVersion'] !== MODEL_FORMAT_VERSION) {
    fail(
      `formatVersion ${escapeInput(String(JSON.stringify(doc['formatVersion'])))} is not supported (this lake reads ${MODEL_FORMAT_VERSION})`,
    );
  }
  const stored = doc['sha256'];
  if (typeof stored !== 'string') fail('sha256 is missing');
  const { sha256: _ignored, ...rest } = doc;
  let actual: string;
  try {
    actual = sha256Hex(canonicalJson(rest));
  } catch (error) {
    if (error instanceof LakeError) fail(error.message);
    throw error;
  }
  if (actual !== stored) {
    throw new LakeError(
      'LAKE_E_MODEL_CHECKSUM',
      `${file}: checksum mismatch (stored ${escapeInput(stored as string)}, content ${actual}): the file is corrupt`,
    );
  }
  const meta = doc['meta'];
  if (!isObject(meta)) fail('meta is missing');
  const m = meta as Record<string, unknown>;
  for (const key of ['kind', 'featureSchema', 'createdAt', 'shape']) {
    if (typeof m[key] !== 'string') fail(`meta.${key} must be a string`);
  }
  const layers = doc['layers'];
  if (!Array.isArray(layers) || layers.length === 0) fail('layers must be a non-empty array');
  const model: DenseModel = {
    layers: (layers as unknown[]).map((layer, l) => {
      if (!isObject(layer)) fail(`layers[${l}] is not an object`);
      const { inputs, outputs, activation, weights, bias } = layer as Record<string, unknown>;
      if (!Number.isSafeInteger(inputs) || (inputs as number) < 1)
        fail(`layers[${l}].inputs must be a positive integer`);
      if (!Number.isSafeInteger(outputs) || (outputs as number) < 1)
        fail(`layers[${l}].outputs must be a positive integer`);
      const expected = l < (layers as unknown[]).length - 1 ? 'relu' : 'linear';
      if (activation !== expected)
        fail(
          `layers[${l}].activation is ${escapeInput(String(JSON.stringify(activation)))}, expected "${expected}"`,
        );
      const i = inputs as number;
      const o = outputs as number;
      return {
        inputs: i,
        outputs: o,
        weights: decodeFloat32(weights as string, i * o, fail, `layers[${l}].weights`),
        bias: decodeFloat32(bias as string, o, fail, `layers[${l}].bias`),
      };
    }),
  };
  checkDenseModel(model, file);
  if (m['shape'] !== shapeOf(model))
    fail(`meta.shape is ${escapeInput(String(m['shape']))} but the layers are ${shapeOf(model)}`);
  return {
    model,
    meta: meta as unknown as ModelMeta & { shape: string },
    sha256: stored as string,
    path: file,
  };
}

/** Writes the model file atomically (temporary file in the same folder, then rename). */
export async function saveModel(path: string, model: DenseModel, meta: ModelMeta): Promise<void> {
  await writeFileAtomic(path, serializeModel(model, meta));
}

/** Reads and checks a model file: LAKE_E_IO, LAKE_E_MODEL_FORMAT or LAKE_E_MODEL_CHECKSUM, naming the file. */
export async function loadModel(path: string): Promise<LoadedModel> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new LakeError('LAKE_E_IO', `${path}: cannot read: ${(cause as Error).message}`, { cause });
  }
  return parseModel(text, path);
}

export type SlotUpdate = { ok: true; model: LoadedModel; version: number } | { ok: false; error: LakeError };

/**
 * Holds the model in use. `tryUpdate` loads a file and swaps it in only when it loaded cleanly; on any
 * failure the previous model stays in use and the error comes back as data (tinybench's errors-as-results),
 * so a bad file pushed to a running system cannot take its predictor away.
 */
export class ModelSlot {
  #current: LoadedModel | undefined;
  #version = 0;
  #onSwap: ((model: LoadedModel, version: number) => void) | undefined;

  constructor(
    initial?: LoadedModel,
    options: { onSwap?: (model: LoadedModel, version: number) => void } = {},
  ) {
    this.#current = initial;
    if (initial !== undefined) this.#version = 1;
    this.#onSwap = options.onSwap;
  }

  /** The model in use, if any. */
  get current(): LoadedModel | undefined {
    return this.#current;
  }

  /** Counts successful loads: 0 while empty. */
  get version(): number {
    return this.#version;
  }

  async tryUpdate(path: string): Promise<SlotUpdate> {
    let loaded: LoadedModel;
    try {
      loaded = await loadModel(path);
    } catch (error) {
      if (error instanceof LakeError) return { ok: false, error };
      return {
        ok: false,
        error: new LakeError('LAKE_E_INTERNAL', `${path}: ${String(error)}`, { cause: error }),
      };
    }
    this.#current = loaded;
    this.#version++;
    this.#onSwap?.(loaded, this.#version);
    return { ok: true, model: loaded, version: this.#version };
  }
}
