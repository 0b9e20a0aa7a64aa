import type { Int16Plan } from './int16-plan.js';
import type { WasmMemory } from './module.js';

/**
 * Where each part of a planned model lies in the kernel's memory, and the descriptor that tells the kernel
 * (field offsets as listed at the top of dense-int16.wat). Every region starts on a 16-byte boundary.
 */
export interface Int16Layout {
  bytes: number;
  inputPtr: number;
  scoresPtr: number;
  batchInputPtr: number;
  batchOutputPtr: number;
  batchCapacity: number;
}

const DESCRIPTOR_BYTES = 64;
const HIDDEN_DESCRIPTOR_BYTES = 20;
const PAGE_BYTES = 65536;

const align16 = (value: number): number => Math.ceil(value / 16) * 16;

/** Grows `memory` as needed and writes the plan and its descriptor; returns where the I/O areas are. */
export function writeInt16Model(memory: WasmMemory, plan: Int16Plan, batchCapacity: number): Int16Layout {
  let next = DESCRIPTOR_BYTES;
  const take = (bytes: number): number => {
    const at = next;
    next = align16(next + bytes);
    return at;
  };
  const widest = Math.max(plan.width0, ...plan.hidden.map((layer) => layer.outputs));
  const rowBytes = plan.width0 * 2;
  const inputPtr = take(plan.inputs);
  const scoresPtr = take(8);
  const offsetsPtr = take(plan.inputPositions * 4);
  const hA = take(widest * 2);
  const hB = take(widest * 2);
  const hiddenDescPtr = take(plan.hidden.length * HIDDEN_DESCRIPTOR_BYTES);
  const tablePtr = take(plan.table.byteLength);
  const zeroRowPtr = take(rowBytes);
  const bias0Ptr = take(plan.bias0.byteLength);
  const hiddenPtrs = plan.hidden.map((layer) => ({
    weights: take(layer.weights.byteLength),
    bias: take(layer.bias.byteLength),
  }));
  const outWPtr = take(plan.outputWeights.byteLength);
  const outBiasPtr = take(plan.outputBias.byteLength);
  const batchInputPtr = take(batchCapacity * plan.inputs);
  const batchOutputPtr = take(batchCapacity);
  const bytes = next;

  const pages = Math.ceil(bytes / PAGE_BYTES);
  const have = memory.buffer.byteLength / PAGE_BYTES;
  if (pages > have) memory.grow(pages - have);
  const buffer = memory.buffer;
  new Uint8Array(buffer, 0, bytes).fill(0);

  const descriptor = new Int32Array(buffer, 0, DESCRIPTOR_BYTES / 4);
  descriptor.set([
    plan.inputs,
    plan.inputPositions,
    rowBytes,
    tablePtr,
    bias0Ptr,
    offsetsPtr,
    hA,
    hB,
    plan.hidden.length,
    hiddenDescPtr,
    outWPtr,
    outBiasPtr,
    plan.outputInputs * 2,
    scoresPtr,
    inputPtr,
  ]);
  // Padding positions (an odd input count) always add the zero row.
  const offsets = new Int32Array(buffer, offsetsPtr, plan.inputPositions);
  for (let i = plan.inputs; i < plan.inputPositions; i++) offsets[i] = zeroRowPtr;

  new Int16Array(buffer, tablePtr, plan.table.length).set(plan.table);
  new Int16Array(buffer, bias0Ptr, plan.bias0.length).set(plan.bias0);
  const hiddenDesc = new Int32Array(
    buffer,
    hiddenDescPtr,
    (plan.hidden.length * HIDDEN_DESCRIPTOR_BYTES) / 4,
  );
  plan.hidden.forEach((layer, l) => {
    const at = hiddenPtrs[l]!;
    new Int16Array(buffer, at.weights, layer.weights.length).set(layer.weights);
    new Int32Array(buffer, at.bias, layer.bias.length).set(layer.bias);
    hiddenDesc.set([at.weights, at.bias, layer.inputs * 2, layer.outputs, layer.shift], l * 5);
  });
  new Int16Array(buffer, outWPtr, plan.outputWeights.length).set(plan.outputWeights);
  new Int32Array(buffer, outBiasPtr, plan.outputBias.length).set(plan.outputBias);
  return { bytes, inputPtr, scoresPtr, batchInputPtr, batchOutputPtr, batchCapacity };
}
