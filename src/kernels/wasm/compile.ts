import { LakeError } from '../../errors.js';

/**
 * The slice of the WebAssembly JS API lake uses. The project compiles against lib ES2022 and @types/node,
 * neither of which declares WebAssembly (lib.dom does), so it is typed here and reached through globalThis
 * rather than declared globally. Every WASM module of the package (inference and training kernels) is
 * compiled through this file.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

export interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
}

export function webAssembly(): WebAssemblyApi {
  const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (api === undefined)
    throw new LakeError('LAKE_E_WASM_UNAVAILABLE', 'WebAssembly is not available in this runtime');
  return api;
}

/**
 * A lazily compiled module from the base64 bytes the build generates: compiled once per process,
 * synchronously (the kernels are a few KB, well under the size where V8 refuses synchronous compilation on
 * the main thread). Throws LAKE_E_WASM_UNAVAILABLE where WebAssembly or its SIMD instructions are missing.
 */
export function lazyWasmModule(base64: string, what: string): () => object {
  let compiled: object | undefined;
  return () => {
    if (compiled !== undefined) return compiled;
    try {
      compiled = new (webAssembly().Module)(Buffer.from(base64, 'base64'));
    } catch (error) {
      if (error instanceof LakeError) throw error;
      throw new LakeError(
        'LAKE_E_WASM_UNAVAILABLE',
        `${what} does not compile here (WebAssembly SIMD missing?): ${(error as Error).message}`,
        { cause: error },
      );
    }
    return compiled;
  };
}

/** Whether a lazily compiled module compiles here. */
export function compiles(module: () => object): boolean {
  try {
    module();
    return true;
  } catch {
    return false;
  }
}
