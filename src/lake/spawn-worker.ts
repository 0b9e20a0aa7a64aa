import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { LakeError } from '../errors.js';

/**
 * Starts the worker module `<name>.js` next to `base` (a module's import.meta.url), so that the same call
 * works from dist/ (compiled JS) and under tsx (tests and benchmarks run the TypeScript directly), where
 * only `<name>.ts` exists. Node 20 does not apply `--import tsx` from a worker's execArgv to the worker's
 * entry module, so the .ts case boots through a one-line script that registers tsx's loader first.
 * The worker is unref'd: it never keeps the process alive; its owner terminates it.
 */
export function spawnWorker(base: string | URL, name: string, options: WorkerOptions = {}): Worker {
  const js = new URL(`./${name}.js`, base);
  const ts = new URL(`./${name}.ts`, base);
  let worker: Worker;
  if (existsSync(fileURLToPath(js))) {
    worker = new Worker(js, options);
  } else if (existsSync(fileURLToPath(ts))) {
    const loader = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(loader)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(ts.href)}); })`;
    worker = new Worker(boot, { ...options, eval: true });
  } else {
    throw new LakeError(
      'LAKE_E_INTERNAL',
      `worker module ${name}.js (or .ts) not found next to ${String(base)}`,
    );
  }
  worker.unref();
  return worker;
}
