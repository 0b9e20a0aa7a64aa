/**
 * Gradient-boosted decision trees for a binary label (logistic loss), written small and fast:
 * - features are cut into at most `bins` quantile bins once (histogram GBDT, as LightGBM and XGBoost's
 *   hist method), so finding a split is one pass over a node's rows plus a scan of the bins;
 * - trees grow level by level to a fixed depth; a split must leave `minLeaf` rows on each side and gain
 *   more than `minGain`; leaves are Newton steps -G / (H + lambda) shrunk by the learning rate;
 * - the model is stored as complete binary trees in flat typed arrays (a node that did not split sends
 *   everything left), so serving is `depth` compare-and-step operations per tree with no branches on
 *   tree shape and no allocation.
 * Seeded row subsampling per tree (stochastic gradient boosting) is optional.
 */
import { LakeError } from '../errors.js';
import { Random } from '../random.js';
import { positiveOption, trainingRows } from './fit.js';

export interface GbdtOptions {
  /** Default 40. */
  trees?: number;
  /** Default 4. */
  depth?: number;
  /** Default 0.2. */
  learningRate?: number;
  /** Default 64 (at most 256). */
  bins?: number;
  /** Rows each side of a split, at least (default 50). */
  minLeaf?: number;
  /** L2 regularisation of leaf values (default 1). */
  lambda?: number;
  /** Default 0. */
  minGain?: number;
  /** Fraction of rows each tree sees (default 1). */
  subsample?: number;
  /** Weight of slow rows in the loss (default 1). */
  slowWeight?: number;
  /** Default 1. */
  seed?: number;
  /**
   * Scores the trees start from, per row (another model's log-odds, to boost its residual); default the
   * log-odds of the base rate. With it, `base` of the model is 0 and serving adds the other model's score.
   */
  initialScores?: Float64Array;
}

export interface GbdtModel {
  readonly width: number;
  readonly trees: number;
  readonly depth: number;
  /** Initial score (log-odds of the base rate). */
  readonly base: number;
  /** Per tree, 2^depth - 1 internal nodes in heap order: feature index and threshold (go right iff x > t). */
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  /** Per tree, 2^depth leaf values. */
  readonly leaf: Float64Array;
  /** Sum of split gains per feature (what the model found useful). */
  readonly gain: Float64Array;
}

/** The score (log-odds of slow) of row x[offset..offset+width). Allocation-free. */
export function gbdtScore(model: GbdtModel, x: ArrayLike<number>, offset: number): number {
  const { trees, depth, feature, threshold, leaf } = model;
  const internal = (1 << depth) - 1;
  let sum = model.base;
  for (let t = 0; t < trees; t++) {
    const nodeBase = t * internal;
    let node = 0;
    for (let d = 0; d < depth; d++) {
      const k = nodeBase + node;
      node = 2 * node + (x[offset + feature[k]!]! > threshold[k]! ? 2 : 1);
    }
    sum += leaf[t * (internal + 1) + node - internal]!;
  }
  return sum;
}

interface Binned {
  /** Feature-major bin codes: codes[f * count + r]. */
  codes: Uint8Array;
  /** Per feature, the cut values: bin b holds values in (edges[b-1], edges[b]]. */
  edges: Float64Array[];
}

function binFeatures(values: Float64Array, count: number, width: number, bins: number): Binned {
  const codes = new Uint8Array(count * width);
  const edges: Float64Array[] = [];
  const column = new Float64Array(count);
  for (let f = 0; f < width; f++) {
    for (let r = 0; r < count; r++) column[r] = values[r * width + f]!;
    const sorted = Float64Array.from(column).sort();
    const cuts: number[] = [];
    for (let q = 1; q < bins; q++) {
      const v = sorted[Math.min(count - 1, Math.floor((q * count) / bins))]!;
      if (cuts.length === 0 || v > cuts[cuts.length - 1]!) cuts.push(v);
    }
    // The largest value needs no cut above it.
    if (cuts.length > 0 && cuts[cuts.length - 1]! >= sorted[count - 1]!) cuts.pop();
    const e = Float64Array.from(cuts);
    edges.push(e);
    for (let r = 0; r < count; r++) {
      const v = column[r]!;
      let lo = 0;
      let hi = e.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (e[mid]! < v) lo = mid + 1;
        else hi = mid;
      }
      codes[f * count + r] = lo;
    }
  }
  return { codes, edges };
}

interface GbdtSettings {
  trees: number;
  depth: number;
  learningRate: number;
  bins: number;
  minLeaf: number;
  lambda: number;
  minGain: number;
  subsample: number;
  slowWeight: number;
}

function gbdtSettings(options: GbdtOptions): GbdtSettings {
  const trees = positiveOption('trees', options.trees ?? 40, true);
  const depth = positiveOption('depth', options.depth ?? 4, true);
  if (depth > 12) throw new LakeError('LAKE_E_USAGE', 'options.depth must be <= 12');
  const learningRate = positiveOption('learningRate', options.learningRate ?? 0.2, false);
  const bins = positiveOption('bins', options.bins ?? 64, true);
  if (bins > 256) throw new LakeError('LAKE_E_USAGE', 'options.bins must be <= 256');
  const minLeaf = positiveOption('minLeaf', options.minLeaf ?? 50, true);
  const subsample = options.subsample ?? 1;
  if (!(subsample > 0 && subsample <= 1))
    throw new LakeError('LAKE_E_USAGE', 'options.subsample must be in (0, 1]');
  return {
    trees,
    depth,
    learningRate,
    bins,
    minLeaf,
    lambda: options.lambda ?? 1,
    minGain: options.minGain ?? 0,
    subsample,
    slowWeight: options.slowWeight ?? 1,
  };
}

/** The scores boosting starts from: the given ones, or the log-odds of the weighted slow rate (`base`). */
function startingScores(
  labels: Uint8Array,
  slowWeight: number,
  initial: Float64Array | undefined,
): { base: number; score: Float64Array } {
  const count = labels.length;
  let positives = 0;
  let weightSum = 0;
  for (let r = 0; r < count; r++) {
    const w = labels[r] === 1 ? slowWeight : 1;
    positives += labels[r] === 1 ? w : 0;
    weightSum += w;
  }
  const rate = Math.min(1 - 1e-6, Math.max(1e-6, positives / weightSum));
  if (initial !== undefined && initial.length !== count) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `options.initialScores holds ${initial.length} scores for ${count} rows`,
    );
  }
  const base = initial === undefined ? Math.log(rate / (1 - rate)) : 0;
  const score = initial === undefined ? new Float64Array(count).fill(base) : Float64Array.from(initial);
  return { base, score };
}

/**
 * The state of one training run: the binned data, the trees grown so far (flat, in GbdtModel's layout),
 * and per-row gradient, hessian, current node and whether the row takes part in this tree.
 */
class GbdtGrowth {
  readonly internal: number;
  readonly leaves: number;
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly leaf: Float64Array;
  readonly gainByFeature: Float64Array;
  readonly grad: Float64Array;
  readonly hess: Float64Array;
  /** Node of each row within the current level. */
  readonly node: Int32Array;
  readonly active: Uint8Array;
  readonly histG: Float64Array;
  readonly histH: Float64Array;
  readonly histN: Int32Array;

  constructor(
    readonly values: Float64Array,
    readonly labels: Uint8Array,
    readonly width: number,
    readonly binned: Binned,
    readonly settings: GbdtSettings,
  ) {
    const { trees, depth } = settings;
    const count = labels.length;
    this.internal = (1 << depth) - 1;
    this.leaves = this.internal + 1;
    this.feature = new Int32Array(trees * this.internal);
    this.threshold = new Float64Array(trees * this.internal).fill(Number.POSITIVE_INFINITY);
    this.leaf = new Float64Array(trees * this.leaves);
    this.gainByFeature = new Float64Array(width);
    this.grad = new Float64Array(count);
    this.hess = new Float64Array(count);
    this.node = new Int32Array(count);
    this.active = new Uint8Array(count);
    const histSize = (1 << Math.max(0, depth - 1)) * 256;
    this.histG = new Float64Array(histSize);
    this.histH = new Float64Array(histSize);
    this.histN = new Int32Array(histSize);
  }

  /** Logistic-loss gradients and hessians at the current scores; every row at the root; the subsample. */
  startTree(score: Float64Array, random: Random): void {
    const { labels, grad, hess, node, active } = this;
    const { slowWeight, subsample } = this.settings;
    for (let r = 0; r < labels.length; r++) {
      const p = 1 / (1 + Math.exp(-score[r]!));
      const w = labels[r] === 1 ? slowWeight : 1;
      grad[r] = w * (p - labels[r]!);
      hess[r] = w * Math.max(p * (1 - p), 1e-12);
      node[r] = 0;
      active[r] = subsample >= 1 || random.next() < subsample ? 1 : 0;
    }
  }

  /**
   * Split every node of level d of tree t on its best (feature, bin), then route every row (inactive ones
   * too: they get scores from the finished tree). Rows of a level's nodes are found by scanning `node`.
   */
  growLevel(t: number, d: number): void {
    const first = (1 << d) - 1;
    const nodes = 1 << d;
    const { count, totals, best } = this.#levelTotals(first, nodes);
    for (let f = 0; f < this.width; f++) this.#searchFeature(f, first, nodes, totals, best);
    const edges = this.binned.edges;
    for (let k = 0; k < nodes; k++) {
      const at = t * this.internal + first + k;
      const f = best.feature[k]!;
      if (f < 0) continue; // stays +Infinity: everything goes left
      this.feature[at] = f;
      this.threshold[at] = edges[f]![best.bin[k]!]!;
      this.gainByFeature[f]! += best.gain[k]!;
    }
    const { node, values, width } = this;
    for (let r = 0; r < count; r++) {
      const n = node[r]!;
      const at = t * this.internal + n;
      const f = this.feature[at]!;
      node[r] = 2 * n + (values[r * width + f]! > this.threshold[at]! ? 2 : 1);
    }
  }

  /** Gradient, hessian and row totals of the level's nodes, and the empty best-split record. */
  #levelTotals(first: number, nodes: number): { count: number; totals: NodeTotals; best: BestSplits } {
    const { active, node, grad, hess } = this;
    const count = this.labels.length;
    const totals: NodeTotals = {
      g: new Float64Array(nodes),
      h: new Float64Array(nodes),
      n: new Int32Array(nodes),
      parent: new Float64Array(nodes),
    };
    for (let r = 0; r < count; r++) {
      if (active[r] === 0) continue;
      const k = node[r]! - first;
      totals.g[k]! += grad[r]!;
      totals.h[k]! += hess[r]!;
      totals.n[k]!++;
    }
    const best: BestSplits = {
      feature: new Int32Array(nodes).fill(-1),
      bin: new Int32Array(nodes),
      gain: new Float64Array(nodes).fill(this.settings.minGain),
    };
    const lambda = this.settings.lambda;
    for (let k = 0; k < nodes; k++)
      totals.parent[k] = (totals.g[k]! * totals.g[k]!) / (totals.h[k]! + lambda);
    return { count, totals, best };
  }

  /** Feature f's histograms for every node of the level (one pass over the rows), and its best splits. */
  #searchFeature(f: number, first: number, nodes: number, totals: NodeTotals, best: BestSplits): void {
    const e = this.binned.edges[f]!;
    if (e.length === 0) return;
    const { histG, histH, histN, active, node, grad, hess } = this;
    const { minLeaf, lambda } = this.settings;
    const count = this.labels.length;
    const codes = this.binned.codes;
    const stride = e.length + 1;
    const used = nodes * stride;
    histG.fill(0, 0, used);
    histH.fill(0, 0, used);
    histN.fill(0, 0, used);
    const col = f * count;
    for (let r = 0; r < count; r++) {
      if (active[r] === 0) continue;
      const h = (node[r]! - first) * stride + codes[col + r]!;
      histG[h]! += grad[r]!;
      histH[h]! += hess[r]!;
      histN[h]!++;
    }
    for (let k = 0; k < nodes; k++) {
      const n = totals.n[k]!;
      if (n < 2 * minLeaf) continue;
      const G = totals.g[k]!;
      const H = totals.h[k]!;
      let gl = 0;
      let hl = 0;
      let nl = 0;
      const at = k * stride;
      for (let b = 0; b < e.length; b++) {
        gl += histG[at + b]!;
        hl += histH[at + b]!;
        nl += histN[at + b]!;
        if (nl < minLeaf) continue;
        if (n - nl < minLeaf) break;
        const gr = G - gl;
        const hr = H - hl;
        const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - totals.parent[k]!;
        if (gain > best.gain[k]!) {
          best.gain[k] = gain;
          best.feature[k] = f;
          best.bin[k] = b;
        }
      }
    }
  }

  /** Tree t's leaves as shrunk Newton steps over its active rows, added to every row's score. */
  finishTree(t: number, score: Float64Array): void {
    const { leaves, internal, leaf, node, active, grad, hess } = this;
    const { learningRate, lambda } = this.settings;
    const count = this.labels.length;
    const lg = new Float64Array(leaves);
    const lh = new Float64Array(leaves);
    for (let r = 0; r < count; r++) {
      if (active[r] === 0) continue;
      const k = node[r]! - internal;
      lg[k]! += grad[r]!;
      lh[k]! += hess[r]!;
    }
    for (let k = 0; k < leaves; k++)
      leaf[t * leaves + k] = lh[k]! > 0 ? (-learningRate * lg[k]!) / (lh[k]! + lambda) : 0;
    for (let r = 0; r < count; r++) score[r]! += leaf[t * leaves + node[r]! - internal]!;
  }
}

/** Per node of a level: gradient, hessian and row totals, and the score of leaving it unsplit. */
interface NodeTotals {
  g: Float64Array;
  h: Float64Array;
  n: Int32Array;
  parent: Float64Array;
}

/** Per node of a level: the best split found so far (feature -1: none beats minGain). */
interface BestSplits {
  feature: Int32Array;
  bin: Int32Array;
  gain: Float64Array;
}

/** Train on row-major `values` (count x width) and labels (1 = slow). */
export function trainGbdt(
  values: Float64Array,
  labels: Uint8Array,
  width: number,
  options: GbdtOptions = {},
): GbdtModel {
  const count = trainingRows('trainGbdt', values, labels, width);
  const settings = gbdtSettings(options);
  const { trees, depth } = settings;
  const random = new Random(options.seed ?? 1);
  const binned = binFeatures(values, count, width, settings.bins);
  const growth = new GbdtGrowth(values, labels, width, binned, settings);
  const { base, score } = startingScores(labels, settings.slowWeight, options.initialScores);
  for (let t = 0; t < trees; t++) {
    growth.startTree(score, random);
    for (let d = 0; d < depth; d++) growth.growLevel(t, d);
    growth.finishTree(t, score);
  }
  const { feature, threshold, leaf, gainByFeature } = growth;
  return { width, trees, depth, base, feature, threshold, leaf, gain: gainByFeature };
}

/** Scores of every row. */
export function gbdtScores(model: GbdtModel, values: Float64Array): Float64Array {
  const count = values.length / model.width;
  const out = new Float64Array(count);
  for (let r = 0; r < count; r++) out[r] = gbdtScore(model, values, r * model.width);
  return out;
}
