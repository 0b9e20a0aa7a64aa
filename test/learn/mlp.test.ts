import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type LossKind, lossGradient, Mlp, type TrainableNetwork } from '../../src/learn/mlp.js';
import { WasmDigitMlp, wasmTrainingSupports } from '../../src/learn/wasm-mlp.js';
import type { DenseModel } from '../../src/models/dense.js';
import { Random } from '../../src/random.js';

function digits(n: number, inputs: number, seed: number): Uint8Array {
  const random = new Random(seed);
  // about a quarter zeros, as in LinnOS vectors
  return Uint8Array.from({ length: n * inputs }, () => (random.int(4) === 0 ? 0 : random.int(10)));
}

/** DenseModel evaluated the plain way: row-major [outputs][inputs], ReLU between layers. */
function denseForward(model: DenseModel, x: ArrayLike<number>): number[] {
  let a = Array.from(x);
  model.layers.forEach((layer, l) => {
    const out: number[] = [];
    for (let o = 0; o < layer.outputs; o++) {
      let s = layer.bias[o]!;
      for (let i = 0; i < layer.inputs; i++) s += layer.weights[o * layer.inputs + i]! * a[i]!;
      out.push(l < model.layers.length - 1 ? Math.max(0, s) : s);
    }
    a = out;
  });
  return a;
}

function lossOf(net: Mlp, x: Uint8Array, label: number, loss: LossKind): number {
  return lossGradient(net.forward(x, 0), label, 0, loss, new Float64Array(2));
}

describe('lossGradient', () => {
  test('categorical hinge as Keras: neg = max((1 - y) * o) includes the true class as 0', () => {
    const g = new Float64Array(2);
    // o = [-3, 0.5], label 1: neg = max(0, -3) = 0, loss = max(0, 0 - 0.5 + 1) = 0.5; only pos has gradient
    assert.equal(lossGradient([-3, 0.5], 1, 1, 'hinge', g), 0.5);
    assert.deepEqual([...g], [0, -1]);
    // o = [2, 1.5], label 1: neg = 2, loss = 1.5, gradient (+s, -s)
    assert.equal(lossGradient([2, 1.5], 1, 0.25, 'hinge', g), 1.5);
    assert.deepEqual([...g], [0.25, -0.25]);
    // margin met: zero loss, g untouched
    g.fill(7);
    assert.equal(lossGradient([-1, 3], 1, 1, 'hinge', g), 0);
    assert.deepEqual([...g], [7, 7]);
  });

  test('softmax cross-entropy', () => {
    const g = new Float64Array(2);
    const value = lossGradient([1, 3], 0, 2, 'xent', g);
    const p0 = Math.exp(1) / (Math.exp(1) + Math.exp(3));
    assert.ok(Math.abs(value + Math.log(p0)) < 1e-12);
    assert.ok(Math.abs(g[0]! - 2 * (p0 - 1)) < 1e-12);
    assert.ok(Math.abs(g[1]! - 2 * (1 - p0)) < 1e-12);
  });
});

describe('Mlp gradients match finite differences', () => {
  for (const sizes of [
    [7, 12, 2],
    [7, 12, 10, 2],
    [7, 8, 8, 8, 2],
  ]) {
    for (const loss of ['hinge', 'xent'] as const) {
      test(`[${sizes.join(', ')}] ${loss}`, () => {
        const net = new Mlp(sizes, new Random(3), 0.5);
        const x = digits(4, sizes[0]!, 8);
        let checked = 0;
        for (let s = 0; s < 4; s++) {
          const sample = x.slice(s * sizes[0]!, (s + 1) * sizes[0]!);
          const label = s % 2;
          net.zeroGradients();
          const value = net.accumulate(sample, 0, label, 1, loss);
          if (value === 0) continue; // hinge margin met: no gradient to check
          for (let l = 0; l < net.weights.length; l++) {
            for (const [params, grads] of [
              [net.weights[l]!, net.gradWeights[l]!],
              [net.biases[l]!, net.gradBiases[l]!],
            ] as const) {
              for (let k = 0; k < params.length; k += 3) {
                const saved = params[k]!;
                const h = 1e-6;
                params[k] = saved + h;
                const up = lossOf(net, sample, label, loss);
                params[k] = saved - h;
                const down = lossOf(net, sample, label, loss);
                params[k] = saved;
                const numeric = (up - down) / (2 * h);
                assert.ok(
                  Math.abs(numeric - grads[k]!) <= 1e-5 * Math.max(1, Math.abs(numeric)),
                  `layer ${l} param ${k}: numeric ${numeric} vs analytic ${grads[k]}`,
                );
                checked++;
              }
            }
          }
        }
        assert.ok(checked > 0);
      });
    }
  }
});

describe('exported DenseModel computes what the network computes, on raw digits', () => {
  for (const inputScale of [1, 1 / 9]) {
    test(`inputScale ${inputScale.toFixed(3)}`, () => {
      const net = new Mlp([31, 20, 12, 2], new Random(4), inputScale);
      const model = net.toDenseModel();
      assert.deepEqual(
        model.layers.map((l) => [l.inputs, l.outputs]),
        [
          [31, 20],
          [20, 12],
          [12, 2],
        ],
      );
      const x = digits(20, 31, 5);
      for (let s = 0; s < 20; s++) {
        const want = [...net.forward(x, s * 31)];
        const got = denseForward(model, x.subarray(s * 31, (s + 1) * 31));
        for (let c = 0; c < 2; c++)
          assert.ok(Math.abs(got[c]! - want[c]!) < 1e-4 * Math.max(1, Math.abs(want[c]!)));
      }
    });
  }
});

describe('js and wasm backends agree', () => {
  for (const sizes of [
    [31, 32, 2],
    [31, 32, 16, 2],
    [31, 16, 16, 16, 2],
  ]) {
    for (const loss of ['hinge', 'xent'] as const) {
      test(`[${sizes.join(', ')}] ${loss}`, () => {
        assert.ok(wasmTrainingSupports(sizes));
        const js: TrainableNetwork = new Mlp(sizes, new Random(21));
        const wasm: TrainableNetwork = new WasmDigitMlp(sizes, new Random(21));
        assert.equal(wasm.parameterCount, js.parameterCount);
        const x = digits(64, 31, 22);
        const labels = Uint8Array.from({ length: 64 }, (_, s) => (x[s * 31 + 12]! > 4 ? 1 : 0));
        // same initial weights (to float32 rounding) and logits
        closeModels(wasm.toDenseModel(), js.toDenseModel(), 1e-6);
        for (let s = 0; s < 8; s++) {
          const a = Array.from(js.forward(x, s * 31));
          const b = Array.from(wasm.forward(x, s * 31));
          for (let c = 0; c < 2; c++)
            assert.ok(Math.abs(a[c]! - b[c]!) <= 1e-4 * Math.max(1, Math.abs(a[c]!)));
        }
        // same gradients over a batch
        js.zeroGradients();
        wasm.zeroGradients();
        let lossJs = 0;
        let lossWasm = 0;
        for (let s = 0; s < 64; s++) {
          lossJs += js.accumulate(x, s * 31, labels[s]!, (labels[s] ? 5 : 1) / 64, loss);
          lossWasm += wasm.accumulate(x, s * 31, labels[s]!, (labels[s] ? 5 : 1) / 64, loss);
        }
        assert.ok(Math.abs(lossJs - lossWasm) <= 1e-4 * Math.abs(lossJs), `${lossJs} vs ${lossWasm}`);
        // float32 sums of 64 samples: compare relative to the layer's largest gradient
        closeModels(wasm.gradientModel(), js.gradientModel(), 1e-3);
        // Adam's first step, from each backend's own gradients, as Keras computes it
        for (const net of [js, wasm]) {
          const before = net.toDenseModel();
          const g = net.gradientModel();
          net.adamStep(1e-3, 0.9, 0.999, 1e-7);
          const after = net.toDenseModel();
          const lrT = (1e-3 * Math.sqrt(1 - 0.999)) / (1 - 0.9);
          const step = (w: number, gk: number): number =>
            w - (lrT * 0.1 * gk) / (Math.sqrt(0.001 * gk * gk) + 1e-7);
          after.layers.forEach((layer, l) => {
            for (let k = 0; k < layer.weights.length; k++) {
              const want = step(before.layers[l]!.weights[k]!, g.layers[l]!.weights[k]!);
              assert.ok(Math.abs(layer.weights[k]! - want) < 1e-6, `layer ${l}[${k}]`);
            }
            for (let k = 0; k < layer.bias.length; k++) {
              const want = step(before.layers[l]!.bias[k]!, g.layers[l]!.bias[k]!);
              assert.ok(Math.abs(layer.bias[k]! - want) < 1e-6, `layer ${l} bias[${k}]`);
            }
          });
        }
        // snapshots restore
        const before = wasm.snapshot();
        const model = wasm.toDenseModel();
        wasm.zeroGradients();
        wasm.accumulate(x, 0, 1, 1, 'xent');
        wasm.adamStep(1e-1, 0.9, 0.999, 1e-7);
        wasm.restore(before);
        closeModels(wasm.toDenseModel(), model, 0);
      });
    }
  }
});

/** Every weight and bias within tol of the reference, relative to the reference's largest magnitude. */
function closeModels(got: DenseModel, want: DenseModel, tol: number): void {
  assert.equal(got.layers.length, want.layers.length);
  got.layers.forEach((layer, l) => {
    const ref = want.layers[l]!;
    for (const [a, b] of [
      [layer.weights, ref.weights],
      [layer.bias, ref.bias],
    ] as const) {
      assert.equal(a.length, b.length);
      let scale = 0;
      for (const v of b) scale = Math.max(scale, Math.abs(v));
      for (let k = 0; k < a.length; k++) {
        assert.ok(
          Math.abs(a[k]! - b[k]!) <= tol * Math.max(scale, 1e-3),
          `layer ${l}[${k}]: ${a[k]} vs ${b[k]}`,
        );
      }
    }
  });
}
