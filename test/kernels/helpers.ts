import type { DenseModel } from '../../src/models/dense.js';
import { Random } from '../../src/random.js';
import { readFixtureText } from '../helpers/fixtures.js';

/**
 * A seeded random model with He-style initialisation for digit inputs; the last bias is set so that the
 * float model calls about half of `calibration` slow, which puts many vectors near the decision boundary
 * (the hard case for quantised kernels).
 */
export function randomModel(seed: number, sizes: number[], calibration?: Uint8Array): DenseModel {
  const random = new Random(seed);
  const layers = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inputs = sizes[l]!;
    const outputs = sizes[l + 1]!;
    // Digits are 0-9, not unit scale: shrink the first layer so activations stay moderate.
    const spread = Math.sqrt(2 / inputs) / (l === 0 ? 4.5 : 1);
    const weights = Float32Array.from({ length: inputs * outputs }, () => random.normal() * spread);
    const bias = Float32Array.from({ length: outputs }, () => random.normal() * 0.1);
    layers.push({ inputs, outputs, weights, bias });
  }
  const model: DenseModel = { layers };
  if (calibration !== undefined) centreDecision(model, calibration);
  return model;
}

/**
 * Shifts the last bias so that the decision boundary falls near the median logit difference over `xs`, in
 * the middle of the gap between two distinct differences (vector sets with repeated vectors, such as temp1,
 * would otherwise put a whole cluster exactly on the boundary).
 */
function centreDecision(model: DenseModel, xs: Uint8Array): void {
  const inputs = model.layers[0]!.inputs;
  const n = xs.length / inputs;
  const differences = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    const logits = floatForward(model, xs.subarray(v * inputs, (v + 1) * inputs));
    differences[v] = logits[1]! - logits[0]!;
  }
  differences.sort();
  const distinct = [...new Set(differences)];
  const middle = Math.max(1, Math.floor(distinct.length / 2));
  const threshold = distinct.length < 2 ? distinct[0]! : (distinct[middle - 1]! + distinct[middle]!) / 2;
  const last = model.layers[model.layers.length - 1]!;
  last.bias[1] = last.bias[1]! - threshold;
}

/** An independent float forward pass (float64 throughout) for checks. */
export function floatForward(model: DenseModel, x: ArrayLike<number>): Float64Array {
  let input = Float64Array.from(x);
  model.layers.forEach((layer, l) => {
    const output = new Float64Array(layer.outputs);
    for (let o = 0; o < layer.outputs; o++) {
      let sum = layer.bias[o]!;
      for (let i = 0; i < layer.inputs; i++) sum += layer.weights[o * layer.inputs + i]! * input[i]!;
      output[o] = l < model.layers.length - 1 ? Math.max(0, sum) : sum;
    }
    input = output;
  });
  return input;
}

/** Appends `value` capped at 10^width - 1 as `width` zero-padded digits. */
function pushDigits(out: number[], value: number, width: number): void {
  const capped = Math.min(Math.max(0, Math.floor(value)), 10 ** width - 1);
  const text = String(capped).padStart(width, '0');
  for (const ch of text) out.push(ch.charCodeAt(0) - 48);
}

/**
 * n LinnOS-like vectors: 4 history pendings and the current pending (3 digits, pages, lognormal) and 4
 * history latencies (4 digits, us, lognormal with a heavy tail), in the LinnOS layout.
 */
export function realisticDigits(seed: number, n: number): Uint8Array {
  const random = new Random(seed);
  const out: number[] = [];
  for (let v = 0; v < n; v++) {
    const busy = random.next() < 0.3;
    for (let k = 0; k < 5; k++) pushDigits(out, random.lognormal(busy ? 4.5 : 2.5, 1), 3);
    for (let k = 0; k < 4; k++) pushDigits(out, random.lognormal(busy ? 7 : 5, 0.9), 4);
  }
  return Uint8Array.from(out);
}

/** Uniformly random digits: n vectors of `inputs`. */
export function uniformDigits(seed: number, n: number, inputs = 31): Uint8Array {
  const random = new Random(seed);
  return Uint8Array.from({ length: n * inputs }, () => random.int(10));
}

/** The 7804 raw vectors of fixtures/linnos/temp1 as 31-digit LinnOS vectors (capped and zero-padded). */
export function temp1Digits(): Uint8Array {
  const text = readFixtureText('linnos/temp1');
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const fields = line
      .trim()
      .split(/[\s,]+/)
      .filter((field) => field !== '');
    if (fields.length < 9) continue;
    const values = fields.map(Number);
    for (let k = 0; k < 5; k++) pushDigits(out, values[k]!, 3);
    for (let k = 5; k < 9; k++) pushDigits(out, values[k]!, 4);
  }
  return Uint8Array.from(out);
}
