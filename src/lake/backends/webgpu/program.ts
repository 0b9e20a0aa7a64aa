import { planInt16 } from '../../../kernels/wasm/int16-plan.js';
import type { DenseModel } from '../../../models/dense.js';
import type { DenseProgram, LinnosProgram } from './protocol.js';

/**
 * A LinnOS model as the GPU runs it: the very int16 plan the cpu-wasm kernel runs (same quantisation, same
 * default calibration vectors), so that the WGSL kernels compute the same integers bit for bit. WGSL has no
 * int16, so values are widened to i32; sums that wrap in int16 lanes in WASM cannot differ, because the
 * plan proves every final layer-0 sum fits int16 and every later sum fits int32.
 */
export function linnosProgram(model: DenseModel): LinnosProgram {
  const plan = planInt16(model);
  return {
    kind: 'linnos',
    inputs: plan.inputs,
    width0: plan.width0,
    table: Int32Array.from(plan.table),
    bias0: Int32Array.from(plan.bias0),
    hidden: plan.hidden.map((layer) => ({
      inputs: layer.inputs,
      outputs: layer.outputs,
      shift: layer.shift,
      weights: Int32Array.from(layer.weights),
      bias: Int32Array.from(layer.bias),
    })),
    outputInputs: plan.outputInputs,
    outputWeights: Int32Array.from(plan.outputWeights),
    outputBias: Int32Array.from(plan.outputBias),
    outputScale: plan.outputScale,
  };
}

export function denseProgram(model: DenseModel): DenseProgram {
  return {
    kind: 'dense-f32',
    layers: model.layers.map((layer) => ({
      inputs: layer.inputs,
      outputs: layer.outputs,
      weights: Float32Array.from(layer.weights),
      bias: Float32Array.from(layer.bias),
    })),
  };
}
