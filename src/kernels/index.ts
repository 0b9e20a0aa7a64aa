export { createPredictor } from './create.js';
export { ExactPredictor } from './js/exact.js';
export { FloatPredictor } from './js/float.js';
export type { Backend, BackendChoice, Decision, Predictor, PredictorOptions } from './types.js';
export type { Int16HiddenLayer, Int16Plan } from './wasm/int16-plan.js';
export { planInt16 } from './wasm/int16-plan.js';
export { BATCH_CAPACITY, WasmInt16Predictor } from './wasm/int16-predictor.js';
export { wasmAvailable } from './wasm/module.js';
