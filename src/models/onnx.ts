import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';
import { writeFileAtomic } from '../report/write.js';
import type { DenseModel } from './dense.js';
import { checkDenseModel } from './dense-check.js';
import { float32ToBytes } from './float32-bytes.js';

const { onnx } = onnxProto;

/**
 * ONNX export of a dense model: opset 13, one Gemm per layer (Y = X * W^T + b, transB = 1, so the weights
 * keep lake's row-major [outputs][inputs] layout) and a Relu after every layer but the last. Input `features`
 * is float [N, inputs] (the 31 digits as floats), output `logits` is float [N, outputs]; N is symbolic.
 * Initialisers `layer<l>.weight` [outputs, inputs] and `layer<l>.bias` [outputs] hold little-endian float32
 * raw data. Tools such as onnxruntime then give the same logits as the float reference.
 */
export const ONNX_OPSET = 13;
/** IR version 7 is the first that opset 13 allows (ONNX 1.8). */
export const ONNX_IR_VERSION = 7;
export const ONNX_INPUT_NAME = 'features';
export const ONNX_OUTPUT_NAME = 'logits';

export interface OnnxExportOptions {
  /** Stored as the graph's name (default 'lake'). */
  graphName?: string;
  /** Free text kept in the model's doc_string. */
  docString?: string;
  /** Key/value pairs kept in the model's metadata_props. */
  metadata?: Record<string, string>;
}

function tensorType(dims: (number | string)[]): OnnxTypes.ITypeProto {
  return {
    tensorType: {
      elemType: onnx.TensorProto.DataType.FLOAT,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  };
}

export function exportOnnx(model: DenseModel, options: OnnxExportOptions = {}): Uint8Array {
  checkDenseModel(model);
  const nodes: OnnxTypes.INodeProto[] = [];
  const initializers: OnnxTypes.ITensorProto[] = [];
  let current = ONNX_INPUT_NAME;
  model.layers.forEach((layer, l) => {
    const last = l === model.layers.length - 1;
    const weight = `layer${l}.weight`;
    const bias = `layer${l}.bias`;
    initializers.push(
      {
        name: weight,
        dataType: onnx.TensorProto.DataType.FLOAT,
        dims: [layer.outputs, layer.inputs],
        rawData: float32ToBytes(layer.weights),
      },
      {
        name: bias,
        dataType: onnx.TensorProto.DataType.FLOAT,
        dims: [layer.outputs],
        rawData: float32ToBytes(layer.bias),
      },
    );
    const gemmOut = last ? ONNX_OUTPUT_NAME : `layer${l}.gemm`;
    nodes.push({
      name: `layer${l}/Gemm`,
      opType: 'Gemm',
      input: [current, weight, bias],
      output: [gemmOut],
      attribute: [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
    });
    current = gemmOut;
    if (!last) {
      const reluOut = `layer${l}.relu`;
      nodes.push({ name: `layer${l}/Relu`, opType: 'Relu', input: [current], output: [reluOut] });
      current = reluOut;
    }
  });
  const first = model.layers[0]!;
  const lastLayer = model.layers[model.layers.length - 1]!;
  const proto: OnnxTypes.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'lake',
    producerVersion: '0.1.0',
    docString: options.docString ?? 'LinnOS-style dense classifier: class 1 = slow',
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: options.graphName ?? 'lake',
      node: nodes,
      initializer: initializers,
      input: [{ name: ONNX_INPUT_NAME, type: tensorType(['N', first.inputs]) }],
      output: [{ name: ONNX_OUTPUT_NAME, type: tensorType(['N', lastLayer.outputs]) }],
    },
  };
  return onnx.ModelProto.encode(proto).finish();
}

/** Writes exportOnnx's bytes atomically. */
export async function writeOnnx(
  path: string,
  model: DenseModel,
  options: OnnxExportOptions = {},
): Promise<void> {
  await writeFileAtomic(path, exportOnnx(model, options));
}
