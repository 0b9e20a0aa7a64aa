/**
 * L2-regularised logistic regression fitted by Newton's method (iteratively reweighted least squares) on
 * standardised features, then folded back so serving is one dot product on the raw features:
 * score = bias + sum w[f] x[f] (the log-odds of slow). Deterministic (no learning rate, no seed, no
 * epochs): the loss is convex and Newton converges in a handful of iterations at these sizes (tens of
 * features, tens of thousands of rows).
 */
import { LakeError } from '../errors.js';
import { trainingRows } from './fit.js';

export interface LinearModel {
  readonly width: number;
  readonly weights: Float64Array;
  readonly bias: number;
}

export interface LogisticOptions {
  /** L2 penalty on the standardised weights (default 1; the intercept is not penalised). */
  l2?: number;
  /** Weight of slow rows in the loss (default 1). */
  slowWeight?: number;
  /** Default 25. */
  maxIterations?: number;
  /** Stop when the largest Newton step is below this (default 1e-6). */
  tolerance?: number;
}

/** The log-odds of row x[offset..offset+width). Allocation-free. */
export function linearScore(model: LinearModel, x: ArrayLike<number>, offset: number): number {
  const w = model.weights;
  let s = model.bias;
  for (let f = 0; f < w.length; f++) s += w[f]! * x[offset + f]!;
  return s;
}

export function linearScores(model: LinearModel, values: Float64Array): Float64Array {
  const count = values.length / model.width;
  const out = new Float64Array(count);
  for (let r = 0; r < count; r++) out[r] = linearScore(model, values, r * model.width);
  return out;
}

/** Solve A x = b for symmetric positive definite A (d x d, row-major) by Cholesky; A is overwritten. */
function solveSpd(a: Float64Array, b: Float64Array, d: number): Float64Array {
  for (let j = 0; j < d; j++) {
    let diag = a[j * d + j]!;
    for (let k = 0; k < j; k++) diag -= a[j * d + k]! * a[j * d + k]!;
    if (!(diag > 0)) throw new LakeError('LAKE_E_INTERNAL', 'logistic regression: singular Hessian');
    const l = Math.sqrt(diag);
    a[j * d + j] = l;
    for (let i = j + 1; i < d; i++) {
      let v = a[i * d + j]!;
      for (let k = 0; k < j; k++) v -= a[i * d + k]! * a[j * d + k]!;
      a[i * d + j] = v / l;
    }
  }
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let v = b[i]!;
    for (let k = 0; k < i; k++) v -= a[i * d + k]! * y[k]!;
    y[i] = v / a[i * d + i]!;
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let v = y[i]!;
    for (let k = i + 1; k < d; k++) v -= a[k * d + i]! * x[k]!;
    x[i] = v / a[i * d + i]!;
  }
  return x;
}

/** Fit on row-major values (count x width) and labels (1 = slow). */
export function trainLogistic(
  values: Float64Array,
  labels: Uint8Array,
  width: number,
  options: LogisticOptions = {},
): LinearModel {
  const count = trainingRows('trainLogistic', values, labels, width);
  const l2 = options.l2 ?? 1;
  if (!(l2 > 0)) throw new LakeError('LAKE_E_USAGE', 'options.l2 must be > 0');
  const slowWeight = options.slowWeight ?? 1;
  const maxIterations = options.maxIterations ?? 25;
  const tolerance = options.tolerance ?? 1e-6;

  // Standardise (a constant feature gets scale 1 and, by the penalty, weight 0).
  const mean = new Float64Array(width);
  const scale = new Float64Array(width);
  for (let r = 0; r < count; r++) for (let f = 0; f < width; f++) mean[f]! += values[r * width + f]!;
  for (let f = 0; f < width; f++) mean[f]! /= count;
  for (let r = 0; r < count; r++) {
    for (let f = 0; f < width; f++) scale[f]! += (values[r * width + f]! - mean[f]!) ** 2;
  }
  for (let f = 0; f < width; f++) scale[f] = Math.sqrt(scale[f]! / count) || 1;

  const d = width + 1; // intercept last
  const beta = new Float64Array(d);
  const z = new Float64Array(d);
  const hessian = new Float64Array(d * d);
  const gradient = new Float64Array(d);
  for (let it = 0; it < maxIterations; it++) {
    hessian.fill(0);
    gradient.fill(0);
    for (let r = 0; r < count; r++) {
      let s = beta[width]!;
      for (let f = 0; f < width; f++) {
        z[f] = (values[r * width + f]! - mean[f]!) / scale[f]!;
        s += beta[f]! * z[f]!;
      }
      z[width] = 1;
      const p = 1 / (1 + Math.exp(-s));
      const w = labels[r] === 1 ? slowWeight : 1;
      const g = w * (p - labels[r]!);
      const h = w * Math.max(p * (1 - p), 1e-12);
      for (let i = 0; i < d; i++) {
        gradient[i]! += g * z[i]!;
        const hz = h * z[i]!;
        for (let j = 0; j <= i; j++) hessian[i * d + j]! += hz * z[j]!;
      }
    }
    for (let i = 0; i < width; i++) {
      gradient[i]! += l2 * beta[i]!;
      hessian[i * d + i]! += l2;
    }
    hessian[width * d + width]! += 1e-9;
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) hessian[i * d + j] = hessian[j * d + i]!;
    const step = solveSpd(hessian, gradient, d);
    let largest = 0;
    for (let i = 0; i < d; i++) {
      beta[i]! -= step[i]!;
      largest = Math.max(largest, Math.abs(step[i]!));
    }
    if (largest < tolerance) break;
  }
  const weights = new Float64Array(width);
  let bias = beta[width]!;
  for (let f = 0; f < width; f++) {
    weights[f] = beta[f]! / scale[f]!;
    bias -= (beta[f]! * mean[f]!) / scale[f]!;
  }
  return { width, weights, bias };
}
