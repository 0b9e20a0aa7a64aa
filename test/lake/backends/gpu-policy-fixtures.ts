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
