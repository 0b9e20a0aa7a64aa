export type { CArray } from './c-arrays.js';
export { parseCArrays } from './c-arrays.js';
export type { DenseLayer, DenseModel, LinnosShape } from './dense.js';
export { linnosLayerSizes } from './dense.js';
export { checkDenseModel, shapeOf } from './dense-check.js';
export type { HeaderWriteOptions, LinnosHeader, LinnosHeaderFormat } from './linnos-header.js';
export {
  formatLinnosHeader,
  parseLinnosHeader,
  parseTestVectors,
  readLinnosHeader,
  writeLinnosHeader,
} from './linnos-header.js';
export type { LinnosIntegerLayer, LinnosIntegerModel } from './linnos-integer.js';
export {
  dequantizeLinnos,
  FIRST_BIAS_SCALE,
  HIDDEN_RESCALE,
  integerMagnitudeBound,
  isLinnosIntegerModel,
  LATER_BIAS_SCALE,
  OUTPUT_SCALE,
  quantizeLinnos,
  roundHalfAwayFromZero,
  validateIntegerModel,
  WEIGHT_SCALE,
} from './linnos-integer.js';
export type { JsonValue, LoadedModel, ModelMeta, SlotUpdate } from './model-file.js';
export {
  canonicalJson,
  loadModel,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  ModelSlot,
  parseModel,
  saveModel,
  serializeModel,
} from './model-file.js';
export type { ModelSource } from './model-source.js';
export { readModelSource } from './model-source.js';
export type { OnnxExportOptions } from './onnx.js';
export {
  exportOnnx,
  ONNX_INPUT_NAME,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  ONNX_OUTPUT_NAME,
  writeOnnx,
} from './onnx.js';
