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

function positive(name: string, v: number, integer: boolean): number {
  if (!(v > 0) || (integer && !Number.isInteger(v))) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `options.${name} must be a positive ${integer ? 'integer' : 'number'}`,
    );
  }
  return v;
}

/** Train on row-major `values` (count x width) and labels (1 = slow). */
export function trainGbdt(
  values: Float64Array,
  labels: Uint8Array,
  width: number,
  options: GbdtOptions = {},
): GbdtModel {
  const count = labels.length;
  if (count === 0 || values.length !== count * width) {
    throw new LakeError('LAKE_E_USAGE', `trainGbdt: ${values.length} values for ${count} rows of ${width}`);
  }
  const trees = positive('trees', options.trees ?? 40, true);
  const depth = positive('depth', options.depth ?? 4, true);
  if (depth > 12) throw new LakeError('LAKE_E_USAGE', 'options.depth must be <= 12');
  const lr = positive('learningRate', options.learningRate ?? 0.2, false);
  const bins = positive('bins', options.bins ?? 64, true);
  if (bins > 256) throw new LakeError('LAKE_E_USAGE', 'options.bins must be <= 256');
  const minLeaf = positive('minLeaf', options.minLeaf ?? 50, true);
  const lambda = options.lambda ?? 1;
  const minGain = options.minGain ?? 0;
  const subsample = options.subsample ?? 1;
  if (!(subsample > 0 && subsample <= 1))
    throw new LakeError('LAKE_E_USAGE', 'options.subsample must be in (0, 1]');
  const slowWeight = options.slowWeight ?? 1;
  const random = new Random(options.seed ?? 1);

  const { codes, edges } = binFeatures(values, count, width, bins);
  const internal = (1 << depth) - 1;
  const leaves = internal + 1;
  const feature = new Int32Array(trees * internal);
  const threshold = new Float64Array(trees * internal).fill(Number.POSITIVE_INFINITY);
  const leaf = new Float64Array(trees * leaves);
  const gainByFeature = new Float64Array(width);

  let positives = 0;
  let weightSum = 0;
  for (let r = 0; r < count; r++) {
    const w = labels[r] === 1 ? slowWeight : 1;
    positives += labels[r] === 1 ? w : 0;
    weightSum += w;
  }
  const rate = Math.min(1 - 1e-6, Math.max(1e-6, positives / weightSum));
  const initial = options.initialScores;
  if (initial !== undefined && initial.length !== count) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `options.initialScores holds ${initial.length} scores for ${count} rows`,
    );
  }
  const base = initial === undefined ? Math.log(rate / (1 - rate)) : 0;
  const score = initial === undefined ? new Float64Array(count).fill(base) : Float64Array.from(initial);
  const grad = new Float64Array(count);
  const hess = new Float64Array(count);
  const node = new Int32Array(count); // node of each row within the current level
  const active = new Uint8Array(count);
  const histSize = (1 << Math.max(0, depth - 1)) * 256;
  const histG = new Float64Array(histSize);
  const histH = new Float64Array(histSize);
  const histN = new Int32Array(histSize);

  for (let t = 0; t < trees; t++) {
    for (let r = 0; r < count; r++) {
      const p = 1 / (1 + Math.exp(-score[r]!));
      const w = labels[r] === 1 ? slowWeight : 1;
      grad[r] = w * (p - labels[r]!);
      hess[r] = w * Math.max(p * (1 - p), 1e-12);
      node[r] = 0;
      active[r] = subsample >= 1 || random.next() < subsample ? 1 : 0;
    }
    // Level by level: rows of a level's nodes are found by scanning `node` (count is small).
    for (let d = 0; d < depth; d++) {
      const first = (1 << d) - 1;
      const width2 = 1 << d;
      // Totals per node at this level.
      const totG = new Float64Array(width2);
      const totH = new Float64Array(width2);
      const totN = new Int32Array(width2);
      for (let r = 0; r < count; r++) {
        if (active[r] === 0) continue;
        const k = node[r]! - first;
        totG[k]! += grad[r]!;
        totH[k]! += hess[r]!;
        totN[k]!++;
      }
      const bestFeature = new Int32Array(width2).fill(-1);
      const bestBin = new Int32Array(width2);
      const bestGain = new Float64Array(width2).fill(minGain);
      const parent = new Float64Array(width2);
      for (let k = 0; k < width2; k++) parent[k] = (totG[k]! * totG[k]!) / (totH[k]! + lambda);
      for (let f = 0; f < width; f++) {
        const e = edges[f]!;
        if (e.length === 0) continue;
        const stride = e.length + 1;
        // One pass over the rows builds the histograms of every node of the level.
        const used = width2 * stride;
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
        for (let k = 0; k < width2; k++) {
          const n = totN[k]!;
          if (n < 2 * minLeaf) continue;
          const G = totG[k]!;
          const H = totH[k]!;
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
            const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parent[k]!;
            if (gain > bestGain[k]!) {
              bestGain[k] = gain;
              bestFeature[k] = f;
              bestBin[k] = b;
            }
          }
        }
      }
      for (let k = 0; k < width2; k++) {
        const at = t * internal + first + k;
        const f = bestFeature[k]!;
        if (f < 0) continue; // stays +Infinity: everything goes left
        feature[at] = f;
        threshold[at] = edges[f]![bestBin[k]!]!;
        gainByFeature[f]! += bestGain[k]!;
      }
      // Route every row (inactive ones too: they get scores from the finished tree).
      for (let r = 0; r < count; r++) {
        const n = node[r]!;
        const at = t * internal + n;
        const f = feature[at]!;
        node[r] = 2 * n + (values[r * width + f]! > threshold[at]! ? 2 : 1);
      }
    }
    // Leaves.
    const lg = new Float64Array(leaves);
    const lh = new Float64Array(leaves);
    for (let r = 0; r < count; r++) {
      if (active[r] === 0) continue;
      const k = node[r]! - internal;
      lg[k]! += grad[r]!;
      lh[k]! += hess[r]!;
    }
    for (let k = 0; k < leaves; k++)
      leaf[t * leaves + k] = lh[k]! > 0 ? (-lr * lg[k]!) / (lh[k]! + lambda) : 0;
    for (let r = 0; r < count; r++) score[r]! += leaf[t * leaves + node[r]! - internal]!;
  }
  return { width, trees, depth, base, feature, threshold, leaf, gain: gainByFeature };
}

/** Scores of every row. */
export function gbdtScores(model: GbdtModel, values: Float64Array): Float64Array {
  const count = values.length / model.width;
  const out = new Float64Array(count);
  for (let r = 0; r < count; r++) out[r] = gbdtScore(model, values, r * model.width);
  return out;
}
