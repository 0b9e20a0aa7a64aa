import { LakeError } from '../../errors.js';
import type { BackendName, ComputeBackend } from '../backends/types.js';

const BACKEND_NAMES: readonly BackendName[] = ['cpu-wasm', 'webgpu', 'cuda'];

/**
 * Loads a backend catalog from a module (LakeLibOptions.backendCatalog): its `backends` export, the
 * ComputeBackends lakeD opens in order, in place of lake's own. lakeLib and lakeD each load it (lakeD
 * on its own thread), so that both number devices alike. A module that is not such a catalog is refused
 * naming what is wrong.
 */
export async function loadBackendCatalog(specifier: string): Promise<readonly ComputeBackend[]> {
  const fail = (why: string): never => {
    throw new LakeError('LAKE_E_USAGE', `backend catalog ${specifier}: ${why}`);
  };
  let module: Record<string, unknown>;
  try {
    module = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    return fail(`cannot be imported: ${error instanceof Error ? error.message : String(error)}`);
  }
  const backends = module['backends'];
  if (!Array.isArray(backends) || backends.length === 0)
    return fail('has no `backends` export (a non-empty array of compute backends)');
  backends.forEach((backend: unknown, i) => {
    const b = backend as Partial<Record<keyof ComputeBackend, unknown>> | null;
    if (typeof b !== 'object' || b === null) fail(`backends[${i}] is not an object`);
    if (!BACKEND_NAMES.includes(b!.name as BackendName))
      fail(`backends[${i}] names no known backend (${BACKEND_NAMES.join(', ')})`);
    if (typeof b!.probe !== 'function' || typeof b!.open !== 'function')
      fail(`backends[${i}] (${String(b!.name)}) has no probe() and open()`);
  });
  return backends as readonly ComputeBackend[];
}
