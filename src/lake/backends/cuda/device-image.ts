import type { Int16Plan } from '../../../kernels/wasm/int16-plan.js';
import type { DenseModel } from '../../../models/dense.js';
import { DENSE_DESCRIPTOR, LINNOS_DESCRIPTOR } from './ptx.js';

/**
 * A model as the CUDA kernels read it: one contiguous image (descriptor, then every array on a 16-byte
 * boundary) copied to device memory once per module load. Weight matrices are stored transposed, input
 * row by input row ([in][out]), so that the threads of a block, one per output unit, read consecutive
 * addresses (coalesced) at each step of their input loop.
 */
export interface DeviceImage {
  readonly bytes: Uint8Array;
  /** The widest activation row (threads per block and shared memory follow it). */
  readonly widest: number;
  readonly inputs: number;
  readonly outputs: number;
}

class ImageWriter {
  readonly #chunks: { at: number; data: Uint8Array }[] = [];
  #next: number;

  constructor(headerBytes: number) {
    this.#next = align16(headerBytes);
  }

  /** Places `data` at the next 16-byte boundary; returns its offset. */
  place(data: ArrayBufferView): number {
    const at = this.#next;
    this.#chunks.push({ at, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    this.#next = align16(at + data.byteLength);
    return at;
  }

  finish(header: (view: DataView) => void): Uint8Array {
    const bytes = new Uint8Array(this.#next);
    for (const chunk of this.#chunks) bytes.set(chunk.data, chunk.at);
    header(new DataView(bytes.buffer));
    return bytes;
  }
}

function align16(value: number): number {
  return Math.ceil(value / 16) * 16;
}

/** [rows][columns] int16 row-major into [columns][rows]. */
function transposeInt16(matrix: Int16Array, rows: number, columns: number): Int16Array {
  const out = new Int16Array(matrix.length);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < columns; c++) out[c * rows + r] = matrix[r * columns + c]!;
  return out;
}

/** The image of an int16 plan (planInt16, the cpu-wasm backend's quantisation) for the linnos kernels. */
export function linnosDeviceImage(plan: Int16Plan): DeviceImage {
  const d = LINNOS_DESCRIPTOR;
  const writer = new ImageWriter(d.hidden + plan.hidden.length * d.hiddenBytes);
  const table = writer.place(plan.table);
  const bias0 = writer.place(plan.bias0);
  const hidden = plan.hidden.map((layer) => ({
    weights: writer.place(transposeInt16(layer.weights, layer.outputs, layer.inputs)),
    bias: writer.place(layer.bias),
  }));
  const outputWeights = writer.place(plan.outputWeights);
  const outputBias = writer.place(plan.outputBias);
  const widest = Math.max(plan.width0, ...plan.hidden.map((layer) => layer.outputs));
  const bytes = writer.finish((view) => {
    const u32 = (at: number, value: number): void => view.setUint32(at, value, true);
    u32(d.inputs, plan.inputs);
    u32(d.width0, plan.width0);
    u32(d.hiddenCount, plan.hidden.length);
    u32(d.outputInputs, plan.outputInputs);
    u32(d.widest, widest);
    u32(d.tableOffset, table);
    u32(d.bias0Offset, bias0);
    u32(d.outputWeightsOffset, outputWeights);
    u32(d.outputBiasOffset, outputBias);
    view.setFloat64(d.outputScale, plan.outputScale, true);
    plan.hidden.forEach((layer, l) => {
      const at = d.hidden + l * d.hiddenBytes;
      u32(at, layer.inputs);
      u32(at + 4, layer.outputs);
      u32(at + 8, layer.shift);
      u32(at + 12, hidden[l]!.weights);
      u32(at + 16, hidden[l]!.bias);
    });
  });
  return { bytes, widest, inputs: plan.inputs, outputs: 2 };
}

/** The image of a dense f32 model for the dense-f32 kernel. */
export function denseDeviceImage(model: DenseModel): DeviceImage {
  const d = DENSE_DESCRIPTOR;
  const writer = new ImageWriter(d.layers + model.layers.length * d.layerBytes);
  const placed = model.layers.map((layer) => {
    const transposed = new Float32Array(layer.weights.length);
    for (let o = 0; o < layer.outputs; o++)
      for (let i = 0; i < layer.inputs; i++)
        transposed[i * layer.outputs + o] = layer.weights[o * layer.inputs + i]!;
    return { weights: writer.place(transposed), bias: writer.place(Float32Array.from(layer.bias)) };
  });
  const inputs = model.layers[0]!.inputs;
  const outputs = model.layers[model.layers.length - 1]!.outputs;
  const widest = Math.max(inputs, ...model.layers.map((layer) => layer.outputs));
  const bytes = writer.finish((view) => {
    const u32 = (at: number, value: number): void => view.setUint32(at, value, true);
    u32(d.layerCount, model.layers.length);
    u32(d.inputs, inputs);
    u32(d.widest, widest);
    u32(d.outputs, outputs);
    model.layers.forEach((layer, l) => {
      const at = d.layers + l * d.layerBytes;
      u32(at, layer.inputs);
      u32(at + 4, layer.outputs);
      u32(at + 8, placed[l]!.weights);
      u32(at + 12, placed[l]!.bias);
    });
  });
  return { bytes, widest, inputs, outputs };
}
