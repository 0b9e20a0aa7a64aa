import { LakeError } from '../../errors.js';
import { base64 } from './generated/dense-int16.js';

/** The exports of dense-int16.wat. */
export interface DenseInt16Exports {
  memory: WebAssembly.Memory;
  /** Batch 1: the digits at the descriptor's inputPtr; 0/1, or -1 for a digit above 9. */
  predict(): number;
  predictAt(pointer: number): number;
  /** -1, or the index of the first vector holding a digit above 9. */
  predictBatch(pointer: number, n: number, out: number): number;
}

let compiled: WebAssembly.Module | undefined;

/**
 * Compiles the kernel once per process, synchronously (it is ~1.5 KB, well under the size where V8 refuses
 * synchronous compilation on the main thread). Throws LAKE_E_WASM_UNAVAILABLE where WebAssembly or its SIMD
 * instructions are missing.
 */
export function denseInt16Module(): WebAssembly.Module {
  if (compiled !== undefined) return compiled;
  if (typeof WebAssembly !== 'object') {
    throw new LakeError('LAKE_E_WASM_UNAVAILABLE', 'WebAssembly is not available in this runtime');
  }
  try {
    compiled = new WebAssembly.Module(Buffer.from(base64, 'base64'));
  } catch (error) {
    throw new LakeError(
      'LAKE_E_WASM_UNAVAILABLE',
      `the int16 SIMD kernel does not compile here (WebAssembly SIMD missing?): ${(error as Error).message}`,
      { cause: error },
    );
  }
  return compiled;
}

/** Whether the WASM backend can run here; 'auto' falls back to js when it cannot. */
export function wasmAvailable(): boolean {
  try {
    denseInt16Module();
    return true;
  } catch {
    return false;
  }
}

export function instantiateDenseInt16(): DenseInt16Exports {
  const instance = new WebAssembly.Instance(denseInt16Module(), {});
  return instance.exports as unknown as DenseInt16Exports;
}
