import { spawnSync } from 'node:child_process';
import { loadKoffi } from '../../../src/lake/backends/cuda/koffi-driver.js';

/** koffi, as the binding under test loads it (a string says why it is missing). */
export const koffi = loadKoffi();

/**
 * Why a test of a real koffi binding against a stub C library (compiled with `cc`) cannot run here, or
 * false when it can.
 */
export function stubLibrarySkip(): string | false {
  if (typeof koffi === 'string') return koffi;
  const cc = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  return cc.error !== undefined || cc.status !== 0 ? 'no C compiler (cc)' : false;
}
