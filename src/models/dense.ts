/**
 * A float dense network as training produces it and every kernel, file format and converter consumes it.
 * Weights are row-major [outputs][inputs]; hidden layers use ReLU, the last layer is linear (logits).
 */
export interface DenseLayer {
  inputs: number;
  outputs: number;
  /** outputs x inputs, row-major: weights[o * inputs + i]. */
  weights: Float32Array;
  bias: Float32Array;
}

export interface DenseModel {
  /** Layers in order; ReLU after every layer but the last. */
  layers: DenseLayer[];
}

/** LinnOS shapes: NN = 31-256-2; NN+1 and NN+2 add one or two 256-wide hidden layers. */
export type LinnosShape = 'nn' | 'nn+1' | 'nn+2';

export function linnosLayerSizes(shape: LinnosShape): number[] {
  switch (shape) {
    case 'nn':
      return [31, 256, 2];
    case 'nn+1':
      return [31, 256, 256, 2];
    case 'nn+2':
      return [31, 256, 256, 256, 2];
  }
}
