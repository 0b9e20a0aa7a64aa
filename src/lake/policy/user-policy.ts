import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LakeError } from '../../errors.js';
import type { GuardedPlacement, PlacementFunction } from './placement.js';

const SIGNATURE =
  'a function of { batchSize, model, interArrivalUs, utilisation, inlineUs, backends } returning a backend name or "inline"';

/**
 * Loads a user placement policy at run time (`--policy ./p.js`, LAKE's eBPF hook in user space): an ES
 * module whose default export, or named export `policy`, is a PlacementFunction. A missing file, a module
 * that does not load, or one without such a function is a LAKE_E_USAGE error naming the file; what the
 * function returns is checked on every call by PlacementGuard (a bad value falls back to the default).
 */
export async function loadUserPolicy(path: string): Promise<GuardedPlacement> {
  const file = resolve(path);
  const fail = (message: string, cause?: unknown): never => {
    throw new LakeError('LAKE_E_USAGE', `--policy ${path}: ${message}`, { cause });
  };
  if (!existsSync(file) || !statSync(file).isFile()) fail('no such file');
  let module: Record<string, unknown> = {};
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    fail(`the module does not load: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  const exported = typeof module['default'] === 'function' ? module['default'] : module['policy'];
  if (typeof exported !== 'function') {
    const names = Object.keys(module);
    fail(
      `must export ${SIGNATURE}, as its default export or as \`policy\` (it exports ${names.length === 0 ? 'nothing' : names.join(', ')})`,
    );
  }
  const choose = exported as PlacementFunction;
  return { name: basename(file), choose: (input) => choose(input) };
}
