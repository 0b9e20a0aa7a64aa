import { compiles, lazyWasmModule, type WasmMemory, webAssembly } from './compile.js';
import { base64 } from './generated/dense-int16.js';

export type { WasmMemory } from './compile.js';

/** The exports of dense-int16.wat. */
export interface DenseInt16Exports {
  memory: WasmMemory;
  /** Batch 1: the digits at the descriptor's inputPtr; 0/1, or -1 for a digit above 9. */
  predict(): number;
  predictAt(pointer: number): number;
  /** -1, or the index of the first vector holding a digit above 9. */
  predictBatch(pointer: number, n: number, out: number): number;
}

/** The int16 kernel, compiled once per process. */
export const denseInt16Module: () => object = lazyWasmModule(base64, 'the int16 SIMD kernel');

/** Whether the WASM backend can run here; 'auto' falls back to js when it cannot. */
export function wasmAvailable(): boolean {
  return compiles(denseInt16Module);
}

/** A new instance with its own memory. */
export function instantiateDenseInt16(): DenseInt16Exports {
  const instance = new (webAssembly().Instance)(denseInt16Module(), {});
  return instance.exports as DenseInt16Exports;
}
