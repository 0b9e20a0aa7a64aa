import { LakeError } from '../../errors.js';
import { createPredictor } from '../../kernels/create.js';
import type { Predictor } from '../../kernels/types.js';
import type { DenseModel } from '../../models/dense.js';
import { checkDenseModel } from '../../models/dense-check.js';
import { DenseForward } from '../backends/cpu-wasm/dense-forward.js';
import { CaptureRing, type CaptureRingShared, type FeatureEntry } from './capture-ring.js';
import { ModelStore, type ModelStoreShared } from './model-store.js';
import type { FeatureSchema } from './schema.js';

/** Entries of one schema after a timestamp, with their chosen fields flattened into one f32 row each. */
export interface FeatureWindow {
  readonly schema: string;
  readonly entries: readonly FeatureEntry[];
  /** entries.length x width, row-major. */
  readonly inputs: Float32Array;
  readonly width: number;
}

/** A classifier as a function: one score per entry of the window; decision = score > threshold. */
export interface FunctionClassifier {
  readonly kind: 'function';
  readonly score: (window: FeatureWindow) => ArrayLike<number>;
  /** Default 0.5. */
  readonly threshold?: number;
}

/**
 * A classifier as a dense model: a DenseModel, or the name of one in the model store (whose current
 * version serves each score, so an update takes effect at the next call in every thread).
 * 'dense-f32' (default) runs any shape on real-valued inputs; 'linnos' runs src/kernels' predictor on
 * digit inputs (2 outputs). Decision: argmax of the outputs (logit > 0 for one output).
 */
export interface ModelClassifier {
  readonly kind: 'model';
  readonly model: DenseModel | string;
  /** Input fields in order (default every field of the schema). */
  readonly fields?: readonly string[];
  readonly kernel?: 'dense-f32' | 'linnos';
}

export type Classifier = FunctionClassifier | ModelClassifier;

export interface WindowScore {
  readonly entries: readonly FeatureEntry[];
  /** entries.length x outputs. */
  readonly scores: Float64Array;
  readonly outputs: number;
  readonly decisions: Uint8Array;
  /** The store version that scored, for a classifier naming a stored model. */
  readonly modelVersion?: number;
}

/** Everything another thread needs to attach the same registry. */
export interface RegistryShared {
  readonly rings: readonly CaptureRingShared[];
  readonly models: ModelStoreShared;
}

interface Runner {
  readonly version: number;
  readonly inputs: number;
  readonly outputs: number;
  run(inputs: Float32Array, n: number, out: Float64Array): void;
  dispose(): void;
}

/**
 * LAKE's feature registry in user space: register feature schemas, capture vectors from any thread into
 * lock-free shared rings (capture-ring.ts), query and truncate them, and score a window with a registered
 * classifier, possibly a model of the shared, versioned model store (model-store.ts).
 * Classifiers are per-thread (functions cannot cross threads); rings and models are shared.
 */
export class FeatureRegistry {
  readonly models: ModelStore;
  readonly #rings = new Map<string, CaptureRing>();
  readonly #classifiers = new Map<string, Classifier>();
  readonly #runners = new Map<string, Runner>();

  constructor(options: { models?: ModelStore } = {}) {
    this.models = options.models ?? ModelStore.create();
  }

  static attach(shared: RegistryShared): FeatureRegistry {
    const registry = new FeatureRegistry({ models: ModelStore.attach(shared.models) });
    for (const ring of shared.rings) registry.#add(CaptureRing.attach(ring));
    return registry;
  }

  shared(): RegistryShared {
    return { rings: [...this.#rings.values()].map((ring) => ring.shared()), models: this.models.shared() };
  }

  /** A capture ring for the schema, `capacity` entries (a power of two). */
  register(schema: FeatureSchema, options: { capacity: number; clock?: () => number }): CaptureRing {
    if (this.#rings.has(schema.name))
      throw new LakeError('LAKE_E_USAGE', `feature schema ${schema.name} is registered`);
    return this.#add(CaptureRing.create(schema, options));
  }

  ring(schema: string): CaptureRing {
    const ring = this.#rings.get(schema);
    if (ring === undefined) throw new LakeError('LAKE_E_USAGE', `feature schema ${schema} is not registered`);
    return ring;
  }

  query(schema: string, after?: number): FeatureEntry[] {
    return this.ring(schema).query(after);
  }

  truncate(schema: string, before?: number): number {
    return this.ring(schema).truncate(before);
  }

  registerClassifier(name: string, classifier: Classifier): void {
    if (classifier.kind === 'model' && typeof classifier.model !== 'string')
      checkDenseModel(classifier.model, `classifier ${name}`);
    this.#classifiers.set(name, classifier);
    this.#runners.get(name)?.dispose();
    this.#runners.delete(name);
  }

  /** Entries after `after` with `fields` (default all) flattened as f32 rows. */
  window(schema: string, after?: number, fields?: readonly string[]): FeatureWindow {
    const ring = this.ring(schema);
    const chosen = (fields ?? ring.layout.fields.map((f) => f.name)).map((name) => ring.field(name));
    const width = chosen.reduce((sum, field) => sum + field.length, 0);
    const entries = ring.query(after);
    const inputs = new Float32Array(entries.length * width);
    entries.forEach((entry, row) => {
      let at = row * width;
      for (const field of chosen) {
        inputs.set(entry.fields[field.name]!, at);
        at += field.length;
      }
    });
    return { schema, entries, inputs, width };
  }

  /** Scores every entry of `schema` after `after` with the classifier registered as `classifier`. */
  score(schema: string, classifier: string, after?: number): WindowScore {
    const spec = this.#classifiers.get(classifier);
    if (spec === undefined) throw new LakeError('LAKE_E_USAGE', `classifier ${classifier} is not registered`);
    if (spec.kind === 'function') {
      const window = this.window(schema, after);
      const raw = spec.score(window);
      if (raw.length !== window.entries.length) {
        throw new LakeError(
          'LAKE_E_USAGE',
          `classifier ${classifier} gave ${raw.length} scores for ${window.entries.length} entries`,
        );
      }
      const scores = Float64Array.from(raw);
      const threshold = spec.threshold ?? 0.5;
      return {
        entries: window.entries,
        scores,
        outputs: 1,
        decisions: Uint8Array.from(scores, (s) => (s > threshold ? 1 : 0)),
      };
    }
    const window = this.window(schema, after, spec.fields);
    const runner = this.#runner(classifier, spec);
    if (runner.inputs !== window.width) {
      throw new LakeError(
        'LAKE_E_USAGE',
        `classifier ${classifier} takes ${runner.inputs} inputs, the window rows of ${schema} have ${window.width}`,
      );
    }
    const n = window.entries.length;
    const scores = new Float64Array(n * runner.outputs);
    runner.run(window.inputs, n, scores);
    const decisions = new Uint8Array(n);
    for (let v = 0; v < n; v++) decisions[v] = decide(scores, v * runner.outputs, runner.outputs);
    const base = { entries: window.entries, scores, outputs: runner.outputs, decisions };
    return typeof spec.model === 'string' ? { ...base, modelVersion: runner.version } : base;
  }

  #add(ring: CaptureRing): CaptureRing {
    this.#rings.set(ring.name, ring);
    return ring;
  }

  /** The runner of a model classifier, rebuilt when its stored model has a new version. */
  #runner(name: string, spec: ModelClassifier): Runner {
    const cached = this.#runners.get(name);
    let version = 0;
    let model: DenseModel;
    if (typeof spec.model === 'string') {
      const stored = this.models.get(spec.model);
      if (stored === undefined)
        throw new LakeError('LAKE_E_USAGE', `classifier ${name}: model ${spec.model} is not in the store`);
      version = stored.version;
      if (cached !== undefined && cached.version === version) return cached;
      model = stored.model;
    } else {
      if (cached !== undefined) return cached;
      model = spec.model;
    }
    cached?.dispose();
    const runner = spec.kernel === 'linnos' ? linnosRunner(model, version) : denseRunner(model, version);
    this.#runners.set(name, runner);
    return runner;
  }
}

function decide(scores: Float64Array, base: number, outputs: number): number {
  if (outputs === 1) return scores[base]! > 0 ? 1 : 0;
  let best = 0;
  for (let c = 1; c < outputs; c++) if (scores[base + c]! > scores[base + best]!) best = c;
  return best;
}

function denseRunner(model: DenseModel, version: number): Runner {
  const forward = new DenseForward(model);
  return {
    version,
    inputs: forward.inputs,
    outputs: forward.outputs,
    run(inputs, n, out) {
      const ys = new Float32Array(n * forward.outputs);
      forward.run(inputs, ys, 0, n);
      out.set(ys);
    },
    dispose() {},
  };
}

function linnosRunner(model: DenseModel, version: number): Runner {
  const predictor: Predictor = createPredictor(model, { backend: 'auto' });
  return {
    version,
    inputs: predictor.inputs,
    outputs: predictor.outputs,
    run(inputs, n, out) {
      predictor.scoresBatch(inputs, n, out);
    },
    dispose() {
      predictor.dispose();
    },
  };
}
