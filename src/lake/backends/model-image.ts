import { LakeError } from '../../errors.js';
import type { DenseModel } from '../../models/dense.js';
import { checkDenseModel } from '../../models/dense-check.js';

/**
 * A DenseModel as bytes: what module load reads from lakeShm (LAKE's cuModuleLoadData takes an image the
 * same way) and what the model store checksums. Little-endian:
 *   u32 magic 'LKMI', u32 layer count L, u32 widths[L + 1] (inputs first),
 *   then per layer f32 weights[outputs * inputs] (row-major), f32 bias[outputs].
 */
export const MODEL_IMAGE_MAGIC = 0x4c4b4d49;

export function modelImageBytes(model: DenseModel): number {
  let floats = 0;
  for (const layer of model.layers) floats += layer.weights.length + layer.bias.length;
  return 4 * (2 + model.layers.length + 1) + 4 * floats;
}

/** Writes the image of a checked model into `out` (at least modelImageBytes long); returns bytes written. */
export function writeModelImage(model: DenseModel, out: Uint8Array): number {
  checkDenseModel(model);
  const bytes = modelImageBytes(model);
  if (out.length < bytes)
    throw new LakeError('LAKE_E_USAGE', `a model image needs ${bytes} bytes, got ${out.length}`);
  const view = new DataView(out.buffer, out.byteOffset, bytes);
  let at = 0;
  const u32 = (value: number): void => {
    view.setUint32(at, value, true);
    at += 4;
  };
  u32(MODEL_IMAGE_MAGIC);
  u32(model.layers.length);
  u32(model.layers[0]!.inputs);
  for (const layer of model.layers) u32(layer.outputs);
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      view.setFloat32(at, w, true);
      at += 4;
    }
    for (const b of layer.bias) {
      view.setFloat32(at, b, true);
      at += 4;
    }
  }
  return at;
}

export function encodeModelImage(model: DenseModel): Uint8Array {
  const out = new Uint8Array(modelImageBytes(model));
  writeModelImage(model, out);
  return out;
}

/** The model an image holds, copied out (the image may live in shared memory that changes later). */
export function decodeModelImage(image: Uint8Array, source = 'model image'): DenseModel {
  const fail = (message: string): never => {
    throw new LakeError('LAKE_E_MODEL_FORMAT', `${source}: ${message}`);
  };
  if (image.length < 12) fail(`${image.length} bytes is too short`);
  const view = new DataView(image.buffer, image.byteOffset, image.length);
  if (view.getUint32(0, true) !== MODEL_IMAGE_MAGIC) fail('bad magic (not a lake model image)');
  const count = view.getUint32(4, true);
  if (count < 1 || count > 64) fail(`layer count ${count}`);
  let at = 8;
  if (image.length < at + 4 * (count + 1)) fail('truncated in the layer widths');
  const widths: number[] = [];
  for (let i = 0; i <= count; i++, at += 4) widths.push(view.getUint32(at, true));
  const layers = [];
  for (let l = 0; l < count; l++) {
    const inputs = widths[l]!;
    const outputs = widths[l + 1]!;
    if (inputs < 1 || outputs < 1 || inputs * outputs > 1 << 26) fail(`layer ${l}: ${outputs}x${inputs}`);
    const need = 4 * (inputs * outputs + outputs);
    if (image.length < at + need) fail(`truncated in layer ${l}`);
    const weights = new Float32Array(inputs * outputs);
    for (let i = 0; i < weights.length; i++, at += 4) weights[i] = view.getFloat32(at, true);
    const bias = new Float32Array(outputs);
    for (let i = 0; i < bias.length; i++, at += 4) bias[i] = view.getFloat32(at, true);
    layers.push({ inputs, outputs, weights, bias });
  }
  if (at !== image.length) fail(`${image.length - at} bytes after the last layer`);
  const model: DenseModel = { layers };
  checkDenseModel(model, source);
  return model;
}
