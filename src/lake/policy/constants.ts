import type { LinnosShape } from '../../models/dense.js';

/** LAKE's batching constants for LinnOS (REFERENCE.md, "Contention policy"). */
export interface LakeBatchingDefaults {
  /** A batch closes this long after its first read arrived... */
  readonly windowUs: number;
  /** ...or when it holds this many reads. */
  readonly maxBatch: number;
  /** LAKE's hard-coded CPU/GPU threshold: a batch below it ran on the CPU. lake calibrates its own. */
  readonly paperThreshold: number;
}

export const LAKE_BATCHING: Readonly<Record<LinnosShape, LakeBatchingDefaults>> = {
  nn: { windowUs: 5, maxBatch: 10, paperThreshold: 8 },
  'nn+1': { windowUs: 40, maxBatch: 8, paperThreshold: 4 },
  'nn+2': { windowUs: 40, maxBatch: 6, paperThreshold: 4 },
};

/** LAKE samples the accelerator's utilisation this often... */
export const UTILISATION_PERIOD_MS = 20;
/** ...and runs on the CPU while others keep it busier than this. */
export const UTILISATION_THRESHOLD = 0.7;

/** The placement that runs a batch on the calling thread, in the I/O path itself. */
export const INLINE = 'inline';

/** The shapes in the order tables list them. */
export const LINNOS_SHAPES: readonly LinnosShape[] = ['nn', 'nn+1', 'nn+2'];
