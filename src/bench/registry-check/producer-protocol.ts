import type { CaptureRingShared } from '../../lake/registry/capture-ring.js';

/**
 * A capture producer thread for benchRegistry() and the concurrency tests: captures check entries
 * (capture-check.ts) into a shared ring, retrying when the ring is full, until it has captured `count` or
 * the stop word is set. Control words (Int32): [0] go (set by the main thread), [1] stop,
 * [2 + 3p] ready, [3 + 3p] captured, [4 + 3p] full retries of producer p; done = ready 2.
 */
export interface ProducerData {
  ring: CaptureRingShared;
  control: SharedArrayBuffer;
  producer: number;
  /** Entries to capture; 0 = until stopped. */
  count: number;
}

export const PRODUCER_GO = 0;
export const PRODUCER_STOP = 1;
export function producerWord(producer: number, word: 'ready' | 'captured' | 'retries'): number {
  return 2 + 3 * producer + (word === 'ready' ? 0 : word === 'captured' ? 1 : 2);
}
