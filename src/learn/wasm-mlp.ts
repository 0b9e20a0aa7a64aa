/**
 * The WASM SIMD (f32x4) twin of Mlp (mlp.ts) on digit vectors: the same network, initialisation, loss and
 * Adam, computed in float32 by the kernels of src/kernels/wasm/mlp-train.wat, one call per layer per sample
 * (its Adam is its own because it updates float32 parameters in SIMD; mlp.ts's runs in float64). Needs at
 * least one hidden layer and hidden widths that are multiples of 16 (LinnOS's 256 are);
 * `wasmTrainingSupports` says whether a shape fits. Parameters live in the module's memory:
 *
 *   params | grads (params + gradShift) | Adam m | Adam v | digits | row lists | activations | deltas | logits
 *
 * Per layer the parameter block holds the weights then the bias, each padded to 64 bytes. Hidden layers are
 * input-major ([inputs][outputs]); the output layer is class-major ([outputs][inputs]).
 */
import { compiles, lazyWasmModule, type WasmMemory, webAssembly } from '../kernels/wasm/compile.js';
import { base64 } from '../kernels/wasm/generated/mlp-train.js';
import type { DenseLayer, DenseModel } from '../models/dense.js';
import type { Random } from '../random.js';
import { type LossKind, lossGradient, type NetworkSnapshot, type TrainableNetwork } from './mlp.js';

interface MlpTrainExports {
  memory: WasmMemory;
  digitList(x: number, nIn: number, scale: number, w: number, rowBytes: number, list: number): number;
  activeList(a: number, nIn: number, w: number, rowBytes: number, list: number): number;
  rowsSum(list: number, count: number, bias: number, z: number, rowBytes: number, relu: number): void;
  outForward(a: number, inBytes: number, w: number, bias: number, o: number, nOut: number): void;
  outBackward(
    a: number,
    inBytes: number,
    w: number,
    gw: number,
    gb: number,
    g: number,
    nOut: number,
    below: number,
  ): void;
  hiddenBackward(
    list: number,
    count: number,
    w: number,
    gwShift: number,
    gb: number,
    delta: number,
    rowBytes: number,
    below: number,
    belowBytes: number,
  ): void;
  digitsBackward(
    list: number,
    count: number,
    gwShift: number,
    gb: number,
    delta: number,
    rowBytes: number,
  ): void;
  adam(
    p: number,
    g: number,
    m: number,
    v: number,
    bytes: number,
    lrT: number,
    b1: number,
    b2: number,
    eps: number,
  ): void;
}

/** The training kernel, compiled once per process. */
const trainingModule = lazyWasmModule(base64, 'the training kernel');

/** Whether the WASM trainer runs here (WebAssembly with SIMD). */
export function wasmTrainingAvailable(): boolean {
  return compiles(trainingModule);
}

/** Whether a layer shape fits the WASM trainer: >= 1 hidden layer, hidden widths multiples of 16. */
export function wasmTrainingSupports(sizes: readonly number[]): boolean {
  if (sizes.length < 3) return false;
  for (let l = 1; l < sizes.length - 1; l++) if (sizes[l]! % 16 !== 0) return false;
  return sizes.every((s) => Number.isInteger(s) && s >= 1);
}

const align64 = (bytes: number): number => Math.ceil(bytes / 64) * 64;

export class WasmDigitMlp implements TrainableNetwork {
  readonly sizes: readonly number[];
  readonly inputScale: number;
  readonly parameterCount: number;

  readonly #k: MlpTrainExports;
  readonly #layers: number;
  /** Byte addresses per layer. */
  readonly #w: number[] = [];
  readonly #b: number[] = [];
  readonly #list: number[] = [];
  readonly #act: number[] = [];
  readonly #delta: number[] = [];
  readonly #listCount: Int32Array;
  readonly #params: number;
  readonly #paramBytes: number;
  readonly #x: number;
  readonly #out: number;
  #adamSteps = 0;
  #f32!: Float32Array;
  #u8!: Uint8Array;
  #output!: Float32Array;
  #gradient!: Float32Array;

  constructor(sizes: readonly number[], random: Random, inputScale = 1) {
    if (!wasmTrainingSupports(sizes)) {
      throw new RangeError(
        `the WASM trainer needs >= 1 hidden layer of a width divisible by 16, got [${sizes.join(', ')}]`,
      );
    }
    this.sizes = [...sizes];
    this.inputScale = inputScale;
    const layers = sizes.length - 1;
    this.#layers = layers;
    this.#k = new (webAssembly().Instance)(trainingModule(), {}).exports as MlpTrainExports;

    let at = 64; // keep address 0 unused
    const take = (bytes: number): number => {
      const p = at;
      at += align64(bytes);
      return p;
    };
    // Parameter block (relative offsets first, then the four copies).
    let rel = 0;
    const wRel: number[] = [];
    const bRel: number[] = [];
    let count = 0;
    for (let l = 0; l < layers; l++) {
      wRel.push(rel);
      rel += align64(sizes[l]! * sizes[l + 1]! * 4);
      bRel.push(rel);
      rel += align64(sizes[l + 1]! * 4);
      count += sizes[l]! * sizes[l + 1]! + sizes[l + 1]!;
    }
    this.parameterCount = count;
    this.#paramBytes = rel;
    this.#params = take(rel * 4); // params, grads, m, v
    for (let l = 0; l < layers; l++) {
      this.#w.push(this.#params + wRel[l]!);
      this.#b.push(this.#params + bRel[l]!);
    }
    this.#x = take(sizes[0]!);
    for (let l = 0; l < layers - 1; l++) this.#list.push(take(sizes[l]! * 8));
    for (let l = 1; l < layers; l++) this.#act.push(take(sizes[l]! * 4));
    for (let l = 1; l <= layers; l++) this.#delta.push(take(sizes[l]! * 4));
    this.#out = take(sizes[layers]! * 4);
    this.#listCount = new Int32Array(layers);
    const memory = this.#k.memory;
    const pages = Math.ceil(at / 65536) - memory.buffer.byteLength / 65536;
    if (pages > 0) memory.grow(pages);
    this.#views();

    // He initialisation, drawn in Mlp's order (input-major) so both backends start from the same weights.
    for (let l = 0; l < layers; l++) {
      const fanIn = sizes[l]!;
      const fanOut = sizes[l + 1]!;
      const std = Math.sqrt(2 / fanIn);
      const base = this.#w[l]! / 4;
      const last = l === layers - 1;
      for (let i = 0; i < fanIn; i++) {
        for (let o = 0; o < fanOut; o++) {
          this.#f32[base + (last ? o * fanIn + i : i * fanOut + o)] = random.normal() * std;
        }
      }
    }
  }

  #views(): void {
    const buffer = this.#k.memory.buffer;
    this.#f32 = new Float32Array(buffer);
    this.#u8 = new Uint8Array(buffer);
    this.#output = new Float32Array(buffer, this.#out, this.sizes[this.#layers]!);
    this.#gradient = new Float32Array(buffer, this.#delta[this.#layers - 1]!, this.sizes[this.#layers]!);
  }

  forward(x: Uint8Array, offset: number): Float32Array {
    const k = this.#k;
    const sizes = this.sizes;
    const layers = this.#layers;
    const u8 = this.#u8;
    const xp = this.#x;
    const nIn = sizes[0]!;
    for (let i = 0; i < nIn; i++) u8[xp + i] = x[offset + i]!;
    const rowBytes0 = sizes[1]! * 4;
    const c0 = k.digitList(xp, nIn, this.inputScale, this.#w[0]!, rowBytes0, this.#list[0]!);
    this.#listCount[0] = c0;
    k.rowsSum(this.#list[0]!, c0, this.#b[0]!, this.#act[0]!, rowBytes0, 1);
    for (let l = 1; l < layers - 1; l++) {
      const rowBytes = sizes[l + 1]! * 4;
      const c = k.activeList(this.#act[l - 1]!, sizes[l]!, this.#w[l]!, rowBytes, this.#list[l]!);
      this.#listCount[l] = c;
      k.rowsSum(this.#list[l]!, c, this.#b[l]!, this.#act[l]!, rowBytes, 1);
    }
    const last = layers - 1;
    k.outForward(
      this.#act[last - 1]!,
      sizes[last]! * 4,
      this.#w[last]!,
      this.#b[last]!,
      this.#out,
      sizes[layers]!,
    );
    return this.#output;
  }

  accumulate(x: Uint8Array, offset: number, label: number, scale: number, loss: LossKind): number {
    const value = lossGradient(this.forward(x, offset), label, scale, loss, this.#gradient);
    if (loss === 'hinge' && value === 0) return 0;
    const k = this.#k;
    const sizes = this.sizes;
    const shift = this.#paramBytes;
    const last = this.#layers - 1;
    k.outBackward(
      this.#act[last - 1]!,
      sizes[last]! * 4,
      this.#w[last]!,
      this.#w[last]! + shift,
      this.#b[last]! + shift,
      this.#delta[last]!,
      sizes[last + 1]!,
      this.#delta[last - 1]!,
    );
    for (let l = last - 1; l >= 1; l--) {
      k.hiddenBackward(
        this.#list[l]!,
        this.#listCount[l]!,
        this.#w[l]!,
        shift,
        this.#b[l]! + shift,
        this.#delta[l]!,
        sizes[l + 1]! * 4,
        this.#delta[l - 1]!,
        sizes[l]! * 4,
      );
    }
    k.digitsBackward(
      this.#list[0]!,
      this.#listCount[0]!,
      shift,
      this.#b[0]! + shift,
      this.#delta[0]!,
      sizes[1]! * 4,
    );
    return value;
  }

  zeroGradients(): void {
    const start = (this.#params + this.#paramBytes) / 4;
    this.#f32.fill(0, start, start + this.#paramBytes / 4);
  }

  adamStep(learningRate: number, beta1: number, beta2: number, epsilon: number): void {
    this.#adamSteps++;
    const t = this.#adamSteps;
    const lrT = (learningRate * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
    const p = this.#params;
    const n = this.#paramBytes;
    this.#k.adam(p, p + n, p + 2 * n, p + 3 * n, n, lrT, beta1, beta2, epsilon);
  }

  snapshot(): NetworkSnapshot {
    const start = this.#params / 4;
    return { parts: [this.#f32.slice(start, start + this.#paramBytes / 4)] };
  }

  restore(snapshot: NetworkSnapshot): void {
    const part = snapshot.parts[0];
    if (!(part instanceof Float32Array) || part.length !== this.#paramBytes / 4) {
      throw new RangeError('snapshot does not come from this network');
    }
    this.#f32.set(part, this.#params / 4);
  }

  toDenseModel(): DenseModel {
    return this.#export(0, this.inputScale);
  }

  gradientModel(): DenseModel {
    return this.#export(this.#paramBytes, 1);
  }

  /** Parameters (shift 0) or gradients (shift = paramBytes) in DenseModel's layout. */
  #export(shift: number, scale: number): DenseModel {
    const layers: DenseLayer[] = [];
    const f32 = this.#f32;
    for (let l = 0; l < this.#layers; l++) {
      const inputs = this.sizes[l]!;
      const outputs = this.sizes[l + 1]!;
      const base = (this.#w[l]! + shift) / 4;
      const weights = new Float32Array(inputs * outputs);
      if (l === this.#layers - 1) {
        weights.set(f32.subarray(base, base + inputs * outputs));
      } else {
        const fold = l === 0 ? scale : 1;
        for (let i = 0; i < inputs; i++) {
          for (let o = 0; o < outputs; o++) weights[o * inputs + i] = f32[base + i * outputs + o]! * fold;
        }
      }
      const b = (this.#b[l]! + shift) / 4;
      layers.push({ inputs, outputs, weights, bias: f32.slice(b, b + outputs) });
    }
    return { layers };
  }
}
