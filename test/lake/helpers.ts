import type { DenseModel } from '../../src/models/dense.js';
import { Random } from '../../src/random.js';

/** A seeded random dense model (He-style spread, digit-scaled first layer). */
export function randomDenseModel(seed: number, sizes: readonly number[]): DenseModel {
  const random = new Random(seed);
  const layers = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inputs = sizes[l]!;
    const outputs = sizes[l + 1]!;
    const spread = Math.sqrt(2 / inputs) / (l === 0 ? 4.5 : 1);
    const weights = Float32Array.from({ length: inputs * outputs }, () => random.normal() * spread);
    const bias = Float32Array.from({ length: outputs }, () => random.normal() * 0.1);
    layers.push({ inputs, outputs, weights, bias });
  }
  return { layers };
}

/** n LinnOS-style vectors of `inputs` random digits. */
export function randomDigits(seed: number, n: number, inputs = 31): Uint8Array {
  const random = new Random(seed);
  return Uint8Array.from({ length: n * inputs }, () => random.int(10));
}

/** Plain-loop f32 forward of one model over n rows: the reference for the dense-f32 kernel. */
export function referenceForward(model: DenseModel, xs: Float32Array, n: number): Float32Array {
  const inputs = model.layers[0]!.inputs;
  const outputs = model.layers[model.layers.length - 1]!.outputs;
  const out = new Float32Array(n * outputs);
  for (let v = 0; v < n; v++) {
    let a = Array.from(xs.subarray(v * inputs, (v + 1) * inputs));
    model.layers.forEach((layer, l) => {
      const next: number[] = [];
      for (let o = 0; o < layer.outputs; o++) {
        let sum = layer.bias[o]!;
        for (let i = 0; i < layer.inputs; i++) sum += layer.weights[o * layer.inputs + i]! * a[i]!;
        next.push(l < model.layers.length - 1 ? Math.max(0, sum) : sum);
      }
      a = next;
    });
    out.set(a, v * outputs);
  }
  return out;
}

/** Polls `condition` on the event loop (so worker events are delivered) until true or the timeout. */
export async function eventually(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
