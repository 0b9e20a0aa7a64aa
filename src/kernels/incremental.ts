/**
 * Inference split around the submit path. A LinnOS first layer is linear in its 31 digits, and 28 of them
 * describe the last four completed reads, known before the next read arrives. An incremental predictor
 * keeps, per context (one per device a model serves), the first layer's bias plus the weight rows of every
 * input except the `submitPositions`, recomputed when the context changes (a read completes: off the submit
 * path). A decision then adds only the submit positions' rows (LinnOS: the 3 pend_now digits), applies the
 * ReLU and runs the layers after the first as the full forward does.
 *
 * Why recompute the context and not keep a ring of per-completion partial sums: a completion's digits move
 * to another position (another weight column) at every later completion, so a ring would need each
 * completion's contribution at all four positions (28 rows per completion, plus adding four vectors), which
 * costs more than summing the 28 history rows of the new context once.
 *
 * Bit-exact by construction, not by tolerance: the exact backend sums integers below 2^53 (validateIntegerModel
 * bounds every partial sum by the sum of magnitudes, whatever the order), so any order gives the full
 * forward's value; the int16 backends add int16 rows with wrap-around, which is modular, and the plan keeps
 * every unit's final sum in int16, so the order does not matter either. Digit 0 has an all-zero row in both,
 * which is why a context may be computed from a vector whose submit positions are zero.
 *
 * The same split fits wherever a first layer sees inputs that change at different times. NN+1/NN+2 share
 * LinnOS's first layer and are served here as they are (layer 0 is split; their later layers run in full at
 * submit, so the gain is smaller). The lake pipeline's features (src/realtrace/lake-features.ts) mix per-read
 * values with per-device history the same way; its linear model would split into a history dot product
 * kept on completion plus the per-read terms, but it already serves a prediction in ~25 ns (docs/
 * lake-pipeline.md), and its GBDT has no first layer to split (a tree's path depends on every feature), so
 * it is not applied there.
 */
import { LakeError } from '../errors.js';
import type { DenseModel } from '../models/dense.js';
import type { LinnosIntegerModel } from '../models/linnos-integer.js';
import type { IncrementalBackend, IncrementalOptions, IncrementalPredictor } from './incremental-types.js';
import { IncrementalExact } from './js/incremental-exact.js';
import { IncrementalInt16Js } from './js/incremental-int16.js';
import { exactIntegerModel, floatModelOf } from './model-checks.js';
import { IncrementalWasm, WASM_SUBMIT_POSITIONS } from './wasm/incremental-predictor.js';
import { wasmAvailable } from './wasm/module.js';

export type { IncrementalBackend, IncrementalOptions, IncrementalPredictor } from './incremental-types.js';

const CHOICES: readonly string[] = ['wasm', 'int16-js', 'exact', 'auto'];

/**
 * The one way to get an incremental predictor; models are taken as createPredictor takes them (an integer
 * model serves exact as it is; a float model is quantised the LinnOS way for exact and planned in int16 for
 * wasm and int16-js).
 */
export function createIncrementalPredictor(
  model: DenseModel | LinnosIntegerModel,
  options: IncrementalOptions,
): IncrementalPredictor {
  const choice = options.backend ?? 'auto';
  if (!CHOICES.includes(choice)) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `options.backend must be one of ${CHOICES.join(', ')}, got ${String(choice)}`,
    );
  }
  const backend: IncrementalBackend = choice === 'auto' ? (wasmAvailable() ? 'wasm' : 'int16-js') : choice;
  const contexts = options.contexts ?? 1;
  if (!Number.isSafeInteger(contexts) || contexts < 1 || contexts > MAX_CONTEXTS) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `options.contexts must be an integer in 1..${MAX_CONTEXTS}, got ${contexts}`,
    );
  }
  const inputs = model.layers[0]?.inputs ?? 0;
  const submit = checkSubmitPositions(options.submitPositions, inputs, backend);
  if (backend === 'exact') {
    return new IncrementalExact(exactIntegerModel(model), submit, contexts);
  }
  const float = floatModelOf(model);
  return backend === 'wasm'
    ? new IncrementalWasm(float, submit, contexts, options.calibration)
    : new IncrementalInt16Js(float, submit, contexts, options.calibration);
}

/**
 * More contexts than devices any array holds is a mistake, not a configuration (a wasm context takes 10 rows,
 * 5 KiB for LinnOS: 4096 of them are 20 MiB of WASM memory).
 */
const MAX_CONTEXTS = 4096;

function checkSubmitPositions(
  positions: readonly number[],
  inputs: number,
  backend: IncrementalBackend,
): number[] {
  const list = [...positions];
  const limit = backend === 'wasm' ? WASM_SUBMIT_POSITIONS : inputs;
  if (list.length < 1 || list.length > limit) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `options.submitPositions must hold 1 to ${limit} positions for ${backend}, got ${list.length}`,
    );
  }
  for (const position of list) {
    if (!Number.isSafeInteger(position) || position < 0 || position >= inputs) {
      throw new LakeError('LAKE_E_USAGE', `submit position ${position} is not an input of 0..${inputs - 1}`);
    }
  }
  if (new Set(list).size !== list.length)
    throw new LakeError('LAKE_E_USAGE', `submit positions repeat: ${list.join(', ')}`);
  return list;
}
