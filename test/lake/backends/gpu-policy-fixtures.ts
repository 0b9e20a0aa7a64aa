import type { BackendReport } from '../../../src/lake/backends/types.js';
import { calibrationTable } from '../../../src/lake/policy/calibration.js';

/** cpu-wasm and cuda, both detected: what the GPU contention tests place between. */
export const CPU_AND_CUDA: readonly BackendReport[] = [
  { name: 'cpu-wasm', kind: 'cpu', available: true, capabilities: [], description: 'test' },
  { name: 'cuda', kind: 'gpu', available: true, capabilities: [], description: 'test' },
];

/** cuda wins from batch 8 (20 us for 64 reads); cpu-wasm never does. */
export const CUDA_WINS_FROM_8 = calibrationTable({
  model: 'nn',
  batchSizes: [1, 8, 64],
  inlineUs: [1, 8, 64],
  backends: [
    { backend: 'cpu-wasm', usPerBatch: [5, 40, 320] },
    { backend: 'cuda', mode: 'offload', usPerBatch: [30, 7, 20] },
  ],
});

/**
 * cuda wins from batch 2, cpu-wasm never, in milliseconds: far above what a batch on the fake GPU takes on
 * a busy test machine, so only deliberately slowed launches run over them (and these are the figures the
 * monitors charge as lake's own GPU time).
 */
export const CUDA_WINS_FROM_2_MS = calibrationTable({
  model: 'nn',
  batchSizes: [1, 2, 4, 8],
  inlineUs: [5000, 10_000, 20_000, 40_000],
  backends: [
    { backend: 'cpu-wasm', usPerBatch: [90_000, 90_000, 90_000, 90_000] },
    { backend: 'cuda', mode: 'offload', usPerBatch: [8000, 6000, 6500, 7000] },
  ],
});
