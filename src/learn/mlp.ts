/**
 * lake's one MLP stack: a dense ReLU network with a choice of head, trained with Adam, that LinnOS's model
 * (31 digits in, two logits, categorical hinge or softmax cross-entropy, He-normal weights) and Heimdall's
 * (scaled float features in, one sigmoid logit, binary cross-entropy, Glorot-uniform weights) are both
 * configurations of (src/linnos/train.ts, src/learn/sigmoid-mlp.ts). The options:
 * - input: digit vectors (Uint8Array, each digit d fed as d x inputScale) or float rows (Float64Array, fed as
 *   they are), chosen by the array passed;
 * - head and loss: `HeadLoss` (lossGradient);
 * - initialisation: `WeightInit`;
 * - export: DenseModel (float32, taking raw digits) or RowMajorMlp (float64, as trained).
 * The loops are written for speed in plain JavaScript:
 * - weights are kept input-major ([inputs][outputs]) while training, so every inner loop runs over a
 *   contiguous row of outputs; the model is transposed to DenseModel's row-major [outputs][inputs] on export;
 * - the first layer skips zero inputs (LinnOS's pending counts are mostly leading zeros) and later layers
 *   skip inputs a ReLU zeroed, in the forward pass and in the weight gradient; the sums still add the
 *   products in input order, so a float row gives the same bits as the dense row-major dot product
 *   Heimdall's trainer computed (a skipped product is +-0 added to a sum that is never -0);
 * - a sample whose hinge loss is 0 has a zero gradient and skips the backward pass entirely.
 * Parameters are float64 while training (V8 computes in float64; no conversions in the hot loops) and become
 * float32 in the exported DenseModel.
 *
 * Digit inputs are the raw digits 0-9 times `inputScale` (default 1: raw digits). With a scale s != 1 the exported
 * first-layer weights are multiplied by s, so every exported model takes raw digits, as the LinnOS integer
 * path does (it quantises weights x1000 and feeds digits 0-9). Training on raw digits (s = 1) means the
 * trained weights are the ones quantised, with nothing folded in; folding 1/9 makes first-layer weights 9x
 * smaller before rounding x1000. On temp1 both kinds of model decide as their x1000 integer form does on all
 * but 0-0.2% of vectors (test/linnos/quantised.test.ts).
 */
import type { DenseModel } from '../models/dense.js';
import type { Random } from '../random.js';

/** The heads of a two-logit (fast, slow) network: LinnOS's categorical hinge, or softmax cross-entropy. */
export type LossKind = 'hinge' | 'xent';
/** Every head the stack trains: the two-logit ones, and one sigmoid logit on binary cross-entropy. */
export type HeadLoss = LossKind | 'sigmoid-xent';

/**
 * How weights start (biases start at 0):
 * - 'he-normal': normal with std sqrt(2 / fan_in), drawn in the stack's input-major order (LinnOS);
 * - 'glorot-uniform': uniform in +-sqrt(6 / (fan_in + fan_out)), drawn in [outputs][inputs] order, the
 *   order Heimdall's trainer has always drawn them in (its stored layout was row-major): the same seed gives
 *   the same model as before.
 */
export type WeightInit = 'he-normal' | 'glorot-uniform';

/** An input batch: digit vectors (0-9 each) or float rows, count x inputs, row-major. */
export type MlpInputs = Uint8Array | Float64Array;

/** A float64 network as trained, row-major per layer ([outputs][inputs]); what Heimdall's models are. */
export interface RowMajorMlp {
  /** Layer widths, inputs first. */
  readonly sizes: readonly number[];
  /** Per layer, row-major [outputs][inputs]. */
  readonly weights: readonly Float64Array[];
  readonly biases: readonly Float64Array[];
}

/** Opaque copy of a network's parameters (to keep the best epoch). */
export interface NetworkSnapshot {
  readonly parts: readonly (Float64Array | Float32Array)[];
}

/**
 * What the LinnOS trainer needs of a network on digit vectors: Mlp (plain JS, float64) and WasmDigitMlp
 * (WASM SIMD, float32: its own kernels, Adam included, because it computes in another precision) implement it.
 */
export interface TrainableNetwork {
  readonly sizes: readonly number[];
  readonly inputScale: number;
  readonly parameterCount: number;
  /** Forward pass for the digits at x[offset..]; returns the logits (a view reused by the next call). */
  forward(x: Uint8Array, offset: number): ArrayLike<number>;
  /** Forward, loss and backward for one sample, adding scale x its gradient; returns the unscaled loss. */
  accumulate(x: Uint8Array, offset: number, label: number, scale: number, loss: LossKind): number;
  zeroGradients(): void;
  /** One Adam step on the accumulated gradients (Keras's form; see Mlp.adamStep). */
  adamStep(learningRate: number, beta1: number, beta2: number, epsilon: number): void;
  snapshot(): NetworkSnapshot;
  restore(snapshot: NetworkSnapshot): void;
  /** The float model, row-major [outputs][inputs], taking raw digits. */
  toDenseModel(): DenseModel;
  /** The accumulated gradients in DenseModel's layout (with respect to the training parameters). */
  gradientModel(): DenseModel;
}

/**
 * The loss of one sample with logits `o` and true class `label`, and scale x its gradient with respect to
 * the logits written into g[0..classes):
 * - hinge: Keras categorical_hinge: pos = o[label], neg = max over c of (1 - y_c) o_c (so the true class
 *   takes part as 0: neg >= 0), loss = max(0, neg - pos + 1). A loss of 0 has a zero gradient (g is not
 *   written; callers skip the backward pass).
 * - xent: softmax cross-entropy, gradient softmax(o) - onehot(label).
 * - sigmoid-xent (one logit z = o[0], label 0/1): binary cross-entropy of sigmoid(z) computed stably from
 *   the logit, as Keras does; gradient sigmoid(z) - label.
 */
export function lossGradient(
  o: ArrayLike<number>,
  label: number,
  scale: number,
  loss: HeadLoss,
  g: Float64Array | Float32Array,
): number {
  if (loss === 'sigmoid-xent') {
    const z = o[0]!;
    g[0] = scale * (sigmoid(z) - label);
    return binaryCrossEntropy(z, label);
  }
  const classes = o.length;
  if (loss === 'hinge') {
    let neg = 0;
    let negClass = -1;
    for (let c = 0; c < classes; c++) {
      if (c !== label && o[c]! > neg) {
        neg = o[c]!;
        negClass = c;
      }
    }
    const value = neg - o[label]! + 1;
    if (value <= 0) return 0;
    g.fill(0);
    g[label] = -scale;
    if (negClass >= 0) g[negClass] = scale;
    return value;
  }
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < classes; c++) if (o[c]! > max) max = o[c]!;
  let sum = 0;
  for (let c = 0; c < classes; c++) sum += Math.exp(o[c]! - max);
  for (let c = 0; c < classes; c++) g[c] = (scale * Math.exp(o[c]! - max)) / sum - (c === label ? scale : 0);
  return Math.log(sum) - (o[label]! - max);
}

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** Binary cross-entropy of a logit z for label y, computed stably. */
export function binaryCrossEntropy(z: number, y: number): number {
  // -[y log s(z) + (1-y) log(1-s(z))] = max(z,0) - z y + log(1 + e^-|z|)
  return Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
}

export class Mlp implements TrainableNetwork {
  /** Layer widths, inputs first: e.g. [31, 256, 2]. */
  readonly sizes: readonly number[];
  /** Per layer, [inputs][outputs] (input-major). */
  readonly weights: Float64Array[];
  readonly biases: Float64Array[];
  readonly gradWeights: Float64Array[];
  readonly gradBiases: Float64Array[];
  /** Inputs are digit * inputScale. */
  readonly inputScale: number;
  /** The last forward pass's outputs (logits). */
  readonly output: Float64Array;

  readonly #layers: number;
  /** Per hidden layer: activations after ReLU. */
  readonly #act: Float64Array[];
  /** Per hidden layer: indices of nonzero activations, and how many. */
  readonly #active: Int32Array[];
  readonly #activeCount: Int32Array;
  /** Per layer: the loss gradient with respect to its pre-activation outputs. */
  readonly #delta: Float64Array[];
  readonly #digitValue = new Float64Array(10);
  /**
   * The last forward pass's nonzero inputs: their first-layer weight row starts (input index x sizes[1]) and
   * values; layer 0's forward sum and weight gradient both read them.
   */
  readonly #inputRow: Int32Array;
  readonly #inputValue: Float64Array;
  #inputCount = 0;
  /** Scratch for sumRows: row starts and input values of the nonzero inputs of one layer. */
  readonly #rows: Int32Array;
  readonly #values: Float64Array;
  #adamSteps = 0;
  readonly #m: Float64Array[];
  readonly #v: Float64Array[];

  /**
   * `inputScale` multiplies digit inputs (float rows are fed as they are); `init` says how weights start
   * (LinnOS's He-normal by default).
   */
  constructor(sizes: readonly number[], random: Random, inputScale = 1, init: WeightInit = 'he-normal') {
    if (sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
      throw new RangeError(`layer sizes must be >= 2 positive integers, got [${sizes.join(', ')}]`);
    }
    this.sizes = [...sizes];
    this.#layers = sizes.length - 1;
    this.inputScale = inputScale;
    for (let d = 0; d < 10; d++) this.#digitValue[d] = d * inputScale;
    this.weights = [];
    this.biases = [];
    this.gradWeights = [];
    this.gradBiases = [];
    this.#m = [];
    this.#v = [];
    for (let l = 0; l < this.#layers; l++) {
      const fanIn = sizes[l]!;
      const fanOut = sizes[l + 1]!;
      this.weights.push(initialWeights(fanIn, fanOut, random, init));
      this.biases.push(new Float64Array(fanOut));
      this.gradWeights.push(new Float64Array(fanIn * fanOut));
      this.gradBiases.push(new Float64Array(fanOut));
      this.#m.push(new Float64Array(fanIn * fanOut + fanOut));
      this.#v.push(new Float64Array(fanIn * fanOut + fanOut));
    }
    const widest = Math.max(...sizes);
    this.#rows = new Int32Array(widest);
    this.#values = new Float64Array(widest);
    this.#inputRow = new Int32Array(sizes[0]!);
    this.#inputValue = new Float64Array(sizes[0]!);
    this.#act = [];
    this.#active = [];
    for (let l = 1; l < this.#layers; l++) {
      this.#act.push(new Float64Array(sizes[l]!));
      this.#active.push(new Int32Array(sizes[l]!));
    }
    this.#activeCount = new Int32Array(this.#layers);
    this.#delta = sizes.slice(1).map((s) => new Float64Array(s));
    this.output = new Float64Array(sizes[this.#layers]!);
  }

  /** Number of trainable parameters. */
  get parameterCount(): number {
    let n = 0;
    for (let l = 0; l < this.#layers; l++) n += this.weights[l]!.length + this.biases[l]!.length;
    return n;
  }

  /**
   * Forward pass for the input row at x[offset..] (digits or floats, see MlpInputs); the logits land in
   * `output`.
   */
  forward(x: MlpInputs, offset: number): Float64Array {
    const layers = this.#layers;
    const rows = this.#rows;
    const values = this.#values;
    // Layer 0: the weight rows of the nonzero inputs, summed (in input order, as a dot product would).
    const count = x instanceof Uint8Array ? this.#gatherDigits(x, offset) : this.#gatherValues(x, offset);
    sumRows(
      layers === 1 ? this.output : this.#act[0]!,
      this.biases[0]!,
      this.weights[0]!,
      this.#inputRow,
      this.#inputValue,
      count,
    );
    if (layers > 1) this.#relu(0);
    for (let l = 1; l < layers; l++) {
      const nOut = this.sizes[l + 1]!;
      const input = this.#act[l - 1]!;
      const active = this.#active[l - 1]!;
      const n = this.#activeCount[l - 1]!;
      for (let t = 0; t < n; t++) {
        const k = active[t]!;
        rows[t] = k * nOut;
        values[t] = input[k]!;
      }
      sumRows(
        l === layers - 1 ? this.output : this.#act[l]!,
        this.biases[l]!,
        this.weights[l]!,
        rows,
        values,
        n,
      );
      if (l < layers - 1) this.#relu(l);
    }
    return this.output;
  }

  /** List the nonzero digits of the vector at x[offset..] and their values (digit x inputScale). */
  #gatherDigits(x: Uint8Array, offset: number): number {
    const digitValue = this.#digitValue;
    const inputRow = this.#inputRow;
    const inputValue = this.#inputValue;
    const nIn = this.sizes[0]!;
    const width0 = this.sizes[1]!;
    let count = 0;
    for (let i = 0; i < nIn; i++) {
      const d = x[offset + i]!;
      if (d === 0) continue;
      inputRow[count] = i * width0;
      inputValue[count++] = digitValue[d]!;
    }
    this.#inputCount = count;
    return count;
  }

  /**
   * List the nonzero values of the float row at x[offset..]. A zero input adds nothing to a sum (the sums
   * it would join start at a bias, never -0), so skipping it leaves every float as the dense product gives.
   */
  #gatherValues(x: Float64Array, offset: number): number {
    const inputRow = this.#inputRow;
    const inputValue = this.#inputValue;
    const nIn = this.sizes[0]!;
    const width0 = this.sizes[1]!;
    let count = 0;
    for (let i = 0; i < nIn; i++) {
      const v = x[offset + i]!;
      if (v === 0) continue;
      inputRow[count] = i * width0;
      inputValue[count++] = v;
    }
    this.#inputCount = count;
    return count;
  }

  /** ReLU on hidden layer `h`'s activations in place, listing the nonzero ones. */
  #relu(h: number): void {
    const a = this.#act[h]!;
    const active = this.#active[h]!;
    let count = 0;
    for (let j = 0; j < a.length; j++) {
      if (a[j]! > 0) active[count++] = j;
      else a[j] = 0;
    }
    this.#activeCount[h] = count;
  }

  /**
   * Forward, loss and (when the loss has a gradient) backward for one sample, adding `scale` times the
   * gradient to the gradient buffers. Returns the sample's unscaled loss (see lossGradient).
   */
  accumulate(x: MlpInputs, offset: number, label: number, scale: number, loss: HeadLoss): number {
    const value = lossGradient(this.forward(x, offset), label, scale, loss, this.#delta[this.#layers - 1]!);
    if (loss === 'hinge' && value === 0) return 0; // zero gradient: nothing to propagate
    this.#backward();
    return value;
  }

  /**
   * Backpropagate #delta[last] (set by accumulate) through every layer into the gradient buffers; layer 0's
   * inputs are the nonzero ones the forward pass listed.
   */
  #backward(): void {
    const layers = this.#layers;
    for (let l = layers - 1; l >= 1; l--) {
      const nOut = this.sizes[l + 1]!;
      const w = this.weights[l]!;
      const gw = this.gradWeights[l]!;
      const gb = this.gradBiases[l]!;
      const delta = this.#delta[l]!;
      for (let j = 0; j < nOut; j++) gb[j] = gb[j]! + delta[j]!;
      const input = this.#act[l - 1]!;
      const active = this.#active[l - 1]!;
      const count = this.#activeCount[l - 1]!;
      const below = this.#delta[l - 1]!;
      below.fill(0);
      for (let t = 0; t < count; t++) {
        const k = active[t]!;
        const a = input[k]!;
        const row = k * nOut;
        let back = 0;
        for (let j = 0; j < nOut; j++) {
          const dj = delta[j]!;
          gw[row + j] = gw[row + j]! + a * dj;
          back += w[row + j]! * dj;
        }
        below[k] = back; // ReLU passes the gradient only where it was active
      }
    }
    const nOut = this.sizes[1]!;
    const gw = this.gradWeights[0]!;
    const gb = this.gradBiases[0]!;
    const delta = this.#delta[0]!;
    const inputRow = this.#inputRow;
    const inputValue = this.#inputValue;
    const inputCount = this.#inputCount;
    if (layers > 1) {
      // Only active units carry gradient; walk them by index.
      const active = this.#active[0]!;
      const count = this.#activeCount[0]!;
      for (let t = 0; t < count; t++) {
        const j = active[t]!;
        gb[j] = gb[j]! + delta[j]!;
      }
      for (let s = 0; s < inputCount; s++) {
        const value = inputValue[s]!;
        const row = inputRow[s]!; // a row start of width nOut (sizes[1])
        for (let t = 0; t < count; t++) {
          const j = active[t]!;
          gw[row + j] = gw[row + j]! + value * delta[j]!;
        }
      }
    } else {
      for (let j = 0; j < nOut; j++) gb[j] = gb[j]! + delta[j]!;
      for (let s = 0; s < inputCount; s++) {
        const value = inputValue[s]!;
        const row = inputRow[s]!; // a row start of width nOut (sizes[1])
        for (let j = 0; j < nOut; j++) gw[row + j] = gw[row + j]! + value * delta[j]!;
      }
    }
  }

  zeroGradients(): void {
    for (let l = 0; l < this.#layers; l++) {
      this.gradWeights[l]!.fill(0);
      this.gradBiases[l]!.fill(0);
    }
  }

  /**
   * One Adam step on the accumulated gradients, in Keras's form: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t),
   * p -= lr_t m / (sqrt(v) + eps).
   */
  adamStep(learningRate: number, beta1: number, beta2: number, epsilon: number): void {
    this.#adamSteps++;
    const t = this.#adamSteps;
    const lrT = (learningRate * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
    const b1c = 1 - beta1;
    const b2c = 1 - beta2;
    for (let l = 0; l < this.#layers; l++) {
      const m = this.#m[l]!;
      const v = this.#v[l]!;
      const w = this.weights[l]!;
      const gw = this.gradWeights[l]!;
      const nw = w.length;
      for (let k = 0; k < nw; k++) {
        const g = gw[k]!;
        const mk = beta1 * m[k]! + b1c * g;
        const vk = beta2 * v[k]! + b2c * g * g;
        m[k] = mk;
        v[k] = vk;
        w[k] = w[k]! - (lrT * mk) / (Math.sqrt(vk) + epsilon);
      }
      const b = this.biases[l]!;
      const gb = this.gradBiases[l]!;
      for (let k = 0; k < b.length; k++) {
        const g = gb[k]!;
        const mk = beta1 * m[nw + k]! + b1c * g;
        const vk = beta2 * v[nw + k]! + b2c * g * g;
        m[nw + k] = mk;
        v[nw + k] = vk;
        b[k] = b[k]! - (lrT * mk) / (Math.sqrt(vk) + epsilon);
      }
    }
  }

  snapshot(): NetworkSnapshot {
    return { parts: [...this.weights.map((w) => w.slice()), ...this.biases.map((b) => b.slice())] };
  }

  restore(snapshot: NetworkSnapshot): void {
    for (let l = 0; l < this.#layers; l++) {
      this.weights[l]!.set(snapshot.parts[l]!);
      this.biases[l]!.set(snapshot.parts[this.#layers + l]!);
    }
  }

  /** The float model, row-major [outputs][inputs], taking raw digits (inputScale folded into layer 0). */
  toDenseModel(): DenseModel {
    return this.#export(this.weights, this.biases, this.inputScale);
  }

  /** The network as trained: float64, row-major per layer, inputs as fed (no inputScale folded in). */
  toRowMajor(): RowMajorMlp {
    const weights: Float64Array[] = [];
    for (let l = 0; l < this.#layers; l++) {
      const inputs = this.sizes[l]!;
      const outputs = this.sizes[l + 1]!;
      const w = this.weights[l]!;
      const rowMajor = new Float64Array(inputs * outputs);
      for (let i = 0; i < inputs; i++) {
        for (let o = 0; o < outputs; o++) rowMajor[o * inputs + i] = w[i * outputs + o]!;
      }
      weights.push(rowMajor);
    }
    return { sizes: [...this.sizes], weights, biases: this.biases.map((b) => b.slice()) };
  }

  gradientModel(): DenseModel {
    return this.#export(this.gradWeights, this.gradBiases, 1);
  }

  #export(weightsIn: readonly Float64Array[], biases: readonly Float64Array[], scale: number): DenseModel {
    const layers = [];
    for (let l = 0; l < this.#layers; l++) {
      const inputs = this.sizes[l]!;
      const outputs = this.sizes[l + 1]!;
      const w = weightsIn[l]!;
      const fold = l === 0 ? scale : 1;
      const weights = new Float32Array(inputs * outputs);
      for (let i = 0; i < inputs; i++) {
        for (let o = 0; o < outputs; o++) weights[o * inputs + i] = w[i * outputs + o]! * fold;
      }
      layers.push({ inputs, outputs, weights, bias: Float32Array.from(biases[l]!) });
    }
    return { layers };
  }
}

/** A layer's initial weights, input-major ([fanIn][fanOut]); see WeightInit for the draws. */
function initialWeights(fanIn: number, fanOut: number, random: Random, init: WeightInit): Float64Array {
  const w = new Float64Array(fanIn * fanOut);
  if (init === 'he-normal') {
    const std = Math.sqrt(2 / fanIn);
    for (let k = 0; k < w.length; k++) w[k] = random.normal() * std;
    return w;
  }
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  for (let o = 0; o < fanOut; o++) {
    for (let i = 0; i < fanIn; i++) w[i * fanOut + o] = (2 * random.next() - 1) * limit;
  }
  return w;
}

/**
 * z = bias + sum_t values[t] * w[rows[t] .. rows[t] + z.length): four rows per pass over z, so z is loaded
 * and stored once per four rows (the loop is bound by memory operations, not arithmetic).
 */
function sumRows(
  z: Float64Array,
  bias: Float64Array,
  w: Float64Array,
  rows: Int32Array,
  values: Float64Array,
  count: number,
): void {
  const n = z.length;
  z.set(bias);
  let t = 0;
  for (; t + 4 <= count; t += 4) {
    const r0 = rows[t]!;
    const r1 = rows[t + 1]!;
    const r2 = rows[t + 2]!;
    const r3 = rows[t + 3]!;
    const v0 = values[t]!;
    const v1 = values[t + 1]!;
    const v2 = values[t + 2]!;
    const v3 = values[t + 3]!;
    for (let j = 0; j < n; j++) {
      z[j] = z[j]! + v0 * w[r0 + j]! + v1 * w[r1 + j]! + v2 * w[r2 + j]! + v3 * w[r3 + j]!;
    }
  }
  for (; t < count; t++) {
    const r0 = rows[t]!;
    const v0 = values[t]!;
    for (let j = 0; j < n; j++) z[j] = z[j]! + v0 * w[r0 + j]!;
  }
}
