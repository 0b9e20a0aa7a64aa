import { LakeError } from '../errors.js';
import type { DenseModel } from './dense.js';

/** "31-256-2": the widths of a model, inputs first. */
export function shapeOf(model: DenseModel): string {
  const first = model.layers[0];
  if (first === undefined) return '';
  return [first.inputs, ...model.layers.map((layer) => layer.outputs)].join('-');
}

/** Throws LAKE_E_MODEL_FORMAT naming `source` unless the layers chain, match their arrays and are finite. */
export function checkDenseModel(model: DenseModel, source = 'model'): void {
  const fail = (message: string): never => {
    throw new LakeError('LAKE_E_MODEL_FORMAT', `${source}: ${message}`);
  };
  if (model.layers.length === 0) fail('has no layers');
  model.layers.forEach((layer, l) => {
    if (!Number.isSafeInteger(layer.inputs) || layer.inputs < 1) fail(`layer ${l}: inputs ${layer.inputs}`);
    if (!Number.isSafeInteger(layer.outputs) || layer.outputs < 1)
      fail(`layer ${l}: outputs ${layer.outputs}`);
    if (layer.weights.length !== layer.inputs * layer.outputs) {
      fail(`layer ${l}: ${layer.weights.length} weights for ${layer.outputs}x${layer.inputs}`);
    }
    if (layer.bias.length !== layer.outputs)
      fail(`layer ${l}: ${layer.bias.length} biases for ${layer.outputs}`);
    const previous = model.layers[l - 1];
    if (previous !== undefined && previous.outputs !== layer.inputs) {
      fail(`layer ${l} takes ${layer.inputs} inputs but layer ${l - 1} gives ${previous.outputs}`);
    }
    for (const value of layer.weights) if (!Number.isFinite(value)) fail(`layer ${l}: weight ${value}`);
    for (const value of layer.bias) if (!Number.isFinite(value)) fail(`layer ${l}: bias ${value}`);
  });
}
