import { LakeError } from '../../errors.js';
import { base64 } from './generated/dense-int16.js';

/**
 * The slice of the WebAssembly JS API this module uses. The project compiles against lib ES2022 and
 * @types/node, neither of which declares WebAssembly (lib.dom does), so it is typed here and reached
 * through globalThis rather than declared globally.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
}

/** The exports of dense-int16.wat. */
export interface DenseInt16Exports {
  memory: WasmMemory;
  /** Batch 1: the digits at the descriptor's inputPtr; 0/1, or -1 for a digit above 9. */
  predict(): number;
  predictAt(pointer: number): number;
  /** -1, or the index of the first vector holding a digit above 9. */
  predictBatch(pointer: number, n: number, out: number): number;
}

let compiled: object | undefined;

function webAssembly(): WebAssemblyApi {
  const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (api === undefined)
    throw new LakeError('LAKE_E_WASM_UNAVAILABLE', 'WebAssembly is not available in this runtime');
  return api;
}

/**
 * Compiles the kernel once per process, synchronously (it is ~1.5 KB, well under the size where V8 refuses
 * synchronous compilation on the main thread). Throws LAKE_E_WASM_UNAVAILABLE where WebAssembly or its SIMD
 * instructions are missing.
 */
export function denseInt16Module(): object {
  if (compiled !== undefined) return compiled;
  const api = webAssembly();
  try {
    compiled = new api.Module(Buffer.from(base64, 'base64'));
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

/** A new instance with its own memory. */
export function instantiateDenseInt16(): DenseInt16Exports {
  const instance = new (webAssembly().Instance)(denseInt16Module(), {});
  return instance.exports as DenseInt16Exports;
}
