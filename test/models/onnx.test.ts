import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';
import { createPredictor } from '../../src/kernels/create.js';
import type { DenseModel } from '../../src/models/dense.js';
import { exportOnnx, writeOnnx } from '../../src/models/onnx.js';
import { randomModel, realisticDigits } from '../kernels/helpers.js';

const { onnx } = onnxProto;

function decode(bytes: Uint8Array): OnnxTypes.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/** The decoded messages type every repeated field as optional; they are always present after decode. */
function all<T>(items: T[] | null | undefined): T[] {
  assert.ok(Array.isArray(items));
  return items;
}

function floats(tensor: OnnxTypes.ITensorProto): Float32Array {
  const raw = tensor.rawData!;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Float32Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

/** A tiny ONNX interpreter for the ops the export uses (Gemm with transB, Relu), batch of one. */
function run(model: OnnxTypes.ModelProto, x: ArrayLike<number>): Float64Array {
  const graph = model.graph!;
  const values = new Map<string, { data: Float64Array; dims: number[] }>();
  values.set(all(graph.input)[0]!.name!, { data: Float64Array.from(x), dims: [1, x.length] });
  for (const tensor of all(graph.initializer)) {
    values.set(tensor.name!, { data: Float64Array.from(floats(tensor)), dims: all(tensor.dims).map(Number) });
  }
  for (const node of all(graph.node)) {
    const input = values.get(all(node.input)[0]!)!;
    if (node.opType === 'Relu') {
      values.set(all(node.output)[0]!, { data: input.data.map((v) => Math.max(0, v)), dims: input.dims });
      continue;
    }
    assert.equal(node.opType, 'Gemm');
    const attributes = Object.fromEntries(all(node.attribute).map((a) => [a.name, Number(a.i)]));
    assert.deepEqual(attributes, { transB: 1 });
    const b = values.get(all(node.input)[1]!)!;
    const c = values.get(all(node.input)[2]!)!;
    const [outputs, inputs] = b.dims as [number, number];
    const y = new Float64Array(outputs);
    for (let o = 0; o < outputs; o++) {
      let sum = c.data[o]!;
      for (let i = 0; i < inputs; i++) sum += b.data[o * inputs + i]! * input.data[i]!;
      y[o] = sum;
    }
    values.set(all(node.output)[0]!, { data: y, dims: [1, outputs] });
  }
  return values.get(all(graph.output)[0]!.name!)!.data;
}

function dims(info: OnnxTypes.IValueInfoProto): (number | string)[] {
  return info.type!.tensorType!.shape!.dim!.map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));
}

for (const sizes of [
  [31, 256, 2],
  [31, 256, 256, 256, 2],
]) {
  test(`${sizes.join('-')}: a valid opset-13 ModelProto with the model's weights`, () => {
    const model: DenseModel = randomModel(sizes.length, sizes);
    const proto = decode(exportOnnx(model, { metadata: { device: 'sde' } }));
    assert.equal(Number(proto.irVersion), 7);
    assert.deepEqual(
      all(proto.opsetImport).map((o) => [o.domain, Number(o.version)]),
      [['', 13]],
    );
    assert.equal(proto.producerName, 'lake');
    assert.deepEqual(
      all(proto.metadataProps).map((p) => [p.key, p.value]),
      [['device', 'sde']],
    );
    const graph = proto.graph!;
    const hidden = sizes.length - 2;
    assert.deepEqual(
      all(graph.node).map((n) => n.opType),
      [...Array.from({ length: hidden }, () => ['Gemm', 'Relu']).flat(), 'Gemm'],
    );
    assert.equal(all(graph.input).length, 1);
    assert.equal(all(graph.input)[0]!.name, 'features');
    assert.equal(all(graph.input)[0]!.type!.tensorType!.elemType, onnx.TensorProto.DataType.FLOAT);
    assert.deepEqual(dims(all(graph.input)[0]!), ['N', 31]);
    assert.equal(all(graph.output)[0]!.name, 'logits');
    assert.deepEqual(dims(all(graph.output)[0]!), ['N', 2]);
    // Every tensor a node reads is the graph input, an initialiser or an earlier node's output.
    const known = new Set([all(graph.input)[0]!.name!, ...all(graph.initializer).map((t) => t.name!)]);
    for (const node of all(graph.node)) {
      for (const name of all(node.input)) assert.ok(known.has(name!), `${node.name} reads ${name}`);
      for (const name of all(node.output)) known.add(name!);
    }
    assert.ok(known.has('logits'));
    model.layers.forEach((layer, l) => {
      const weight = all(graph.initializer).find((t) => t.name === `layer${l}.weight`)!;
      const bias = all(graph.initializer).find((t) => t.name === `layer${l}.bias`)!;
      assert.deepEqual(all(weight.dims).map(Number), [layer.outputs, layer.inputs]);
      assert.deepEqual(all(bias.dims).map(Number), [layer.outputs]);
      assert.equal(weight.dataType, onnx.TensorProto.DataType.FLOAT);
      assert.deepEqual(floats(weight), layer.weights);
      assert.deepEqual(floats(bias), layer.bias);
    });
  });
}

test('the exported graph computes the same logits as the float reference', () => {
  const model = randomModel(3, [31, 256, 256, 2]);
  const proto = decode(exportOnnx(model));
  const js = createPredictor(model, { backend: 'js' });
  const xs = realisticDigits(4, 20);
  const expected = new Float64Array(2);
  for (let v = 0; v < 20; v++) {
    const x = xs.subarray(v * 31, (v + 1) * 31);
    js.scores(x, expected);
    const logits = run(proto, x);
    assert.ok(Math.abs(logits[0]! - expected[0]!) < 1e-9 && Math.abs(logits[1]! - expected[1]!) < 1e-9);
  }
  js.dispose();
});

test('writeOnnx writes the same bytes atomically', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lake-onnx-'));
  try {
    const model = randomModel(5, [31, 256, 2]);
    const path = join(dir, 'model.onnx');
    await writeOnnx(path, model);
    assert.deepEqual(new Uint8Array(await readFile(path)), new Uint8Array(exportOnnx(model)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
