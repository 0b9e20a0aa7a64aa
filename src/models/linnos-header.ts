import { readFile } from 'node:fs/promises';
import { escapeInput, LakeError } from '../errors.js';
import { writeFileAtomic } from '../report/write.js';
import { type CArray, parseCArrays } from './c-arrays.js';
import type { DenseModel } from './dense.js';
import { checkDenseModel } from './dense-check.js';
import {
  isLinnosIntegerModel,
  type LinnosIntegerModel,
  quantizeLinnos,
  validateIntegerModel,
} from './linnos-integer.js';

/**
 * LinnOS weight headers (see fixtures/linnos/README.md):
 * - `w_<dev>.h`, written by the artifact's mlHeaderGen.py: `long weight_0_T_<dev>[256*31]` (row-major
 *   [hidden][input]), `long weight_1_T_<dev>[...]` (class-major [2][256]), `long bias_0_<dev>[1*256]`,
 *   `long bias_1_<dev>[1*2]`. In the artifact's files weight_1_T is a byte-for-byte copy of weight_0_T
 *   (mlHeaderGen.py read the wrong file); the kernel reads only its elements 0..511, and so does this reader.
 * - LAKE's `weights.h` (microbenchmarks/LinnOS/Inference): `bias_i_0[256]`, `bias_i_1[2]`,
 *   `weight_i_1[256][2]` hidden-major (transposed here to class-major [2][256]), `weight_i_0_T[256][31]`.
 * Values are integers: weights and the first bias x1000, the last bias x1e6 (models/linnos-integer.ts).
 */
export type LinnosHeaderFormat = 'linnos-w' | 'lake-weights';

export interface LinnosHeader {
  format: LinnosHeaderFormat;
  /** The `<dev>` suffix of a w_<dev>.h header. */
  device?: string;
  /** The `name_<dev>` string, e.g. "Trace/sde". */
  name?: string;
  model: LinnosIntegerModel;
  /** weight_1_T holds more than [2][hidden] values and starts with a copy of weight_0_T (the artifact bug). */
  artifactBug: boolean;
  /** What the reader did that a user should know about. */
  notes: string[];
}

const CLASSES = 2;

function headerError(file: string, line: number | undefined, message: string): LakeError {
  return new LakeError('LAKE_E_MODEL_FORMAT', `${file}${line === undefined ? '' : `:${line}`}: ${message}`);
}

function requireArray(arrays: Map<string, CArray>, name: string, file: string): CArray {
  const array = arrays.get(name);
  if (array === undefined) throw headerError(file, undefined, `array ${name} is missing`);
  if (array.text !== undefined)
    throw headerError(file, array.line, `array ${name} is a string, not integers`);
  return array;
}

function requireLength(array: CArray, length: number, file: string, what: string): void {
  if (array.values.length !== length) {
    throw headerError(
      file,
      array.line,
      `array ${array.name} holds ${array.values.length} values, expected ${length} (${what})`,
    );
  }
}

/** The devices of the w_<dev>.h arrays present in a header. */
function devicesOf(arrays: Map<string, CArray>): string[] {
  const devices: string[] = [];
  for (const name of arrays.keys()) {
    const match = /^weight_0_T_(\w+)$/.exec(name);
    if (match !== null) devices.push(match[1]!);
  }
  return devices;
}

/**
 * Parses a LinnOS weight header. `device` picks one model when a header holds several; otherwise the one
 * present is taken. Throws LAKE_E_MODEL_FORMAT naming the file, line and array on any problem.
 */
export function parseLinnosHeader(
  text: string,
  file: string,
  options: { device?: string } = {},
): LinnosHeader {
  const arrays = parseCArrays(text, file);
  const devices = devicesOf(arrays);
  let header: LinnosHeader;
  if (devices.length > 0) {
    const device = options.device ?? devices[0]!;
    if (!devices.includes(device)) {
      throw headerError(
        file,
        undefined,
        `no arrays for device "${escapeInput(device)}" (has ${devices.join(', ')})`,
      );
    }
    if (options.device === undefined && devices.length > 1) {
      throw headerError(file, undefined, `holds several devices (${devices.join(', ')}): choose one`);
    }
    header = parseWHeader(arrays, device, file);
  } else if (arrays.has('weight_i_0_T')) {
    header = parseLakeWeights(arrays, file);
  } else {
    throw headerError(
      file,
      undefined,
      'no LinnOS weight arrays (expected weight_0_T_<dev>, weight_1_T_<dev>, bias_0_<dev>, bias_1_<dev>, ' +
        'or weight_i_0_T, weight_i_1, bias_i_0, bias_i_1)',
    );
  }
  validateIntegerModel(header.model, file);
  return header;
}

function parseWHeader(arrays: Map<string, CArray>, device: string, file: string): LinnosHeader {
  const w0 = requireArray(arrays, `weight_0_T_${device}`, file);
  const w1 = requireArray(arrays, `weight_1_T_${device}`, file);
  const b0 = requireArray(arrays, `bias_0_${device}`, file);
  const b1 = requireArray(arrays, `bias_1_${device}`, file);
  const hidden = b0.values.length;
  if (hidden === 0) throw headerError(file, b0.line, `array ${b0.name} is empty`);
  const inputs = w0.values.length / hidden;
  if (!Number.isInteger(inputs) || inputs === 0) {
    throw headerError(
      file,
      w0.line,
      `array ${w0.name} holds ${w0.values.length} values, not a multiple of ${hidden}`,
    );
  }
  requireLength(b1, CLASSES, file, 'one bias per class');
  if (w1.values.length < CLASSES * hidden) {
    throw headerError(
      file,
      w1.line,
      `array ${w1.name} holds ${w1.values.length} values, expected ${CLASSES * hidden} ([2][${hidden}])`,
    );
  }
  const notes: string[] = [];
  const longer = w1.values.length > CLASSES * hidden;
  const artifactBug = longer && w1.values.every((value, i) => value === w0.values[i]);
  if (artifactBug) {
    notes.push(
      `${w1.name} is a copy of ${w0.name} (the artifact's mlHeaderGen.py bug); as the kernel does, ` +
        `its elements 0..${CLASSES * hidden - 1} are read as [2][${hidden}]`,
    );
  } else if (longer) {
    notes.push(
      `${w1.name} holds ${w1.values.length} values; as the kernel does, only the first ${CLASSES * hidden} are read`,
    );
  }
  const name = arrays.get(`name_${device}`)?.text;
  return {
    format: 'linnos-w',
    device,
    ...(name === undefined ? {} : { name }),
    model: twoLayerModel(
      inputs,
      hidden,
      w0.values,
      b0.values,
      w1.values.slice(0, CLASSES * hidden),
      b1.values,
    ),
    artifactBug,
    notes,
  };
}

function parseLakeWeights(arrays: Map<string, CArray>, file: string): LinnosHeader {
  const w0 = requireArray(arrays, 'weight_i_0_T', file);
  const w1 = requireArray(arrays, 'weight_i_1', file);
  const b0 = requireArray(arrays, 'bias_i_0', file);
  const b1 = requireArray(arrays, 'bias_i_1', file);
  const hidden = b0.values.length;
  if (hidden === 0) throw headerError(file, b0.line, `array ${b0.name} is empty`);
  const inputs = w0.values.length / hidden;
  if (!Number.isInteger(inputs) || inputs === 0) {
    throw headerError(
      file,
      w0.line,
      `array ${w0.name} holds ${w0.values.length} values, not a multiple of ${hidden}`,
    );
  }
  requireLength(b1, CLASSES, file, 'one bias per class');
  requireLength(w1, CLASSES * hidden, file, `[${hidden}][2], hidden-major`);
  // weight_i_1 is [hidden][class]; the kernel's layout is [class][hidden].
  const classMajor = new Array<number>(CLASSES * hidden);
  for (let k = 0; k < hidden; k++) {
    for (let c = 0; c < CLASSES; c++) classMajor[c * hidden + k] = w1.values[k * CLASSES + c]!;
  }
  return {
    format: 'lake-weights',
    model: twoLayerModel(inputs, hidden, w0.values, b0.values, classMajor, b1.values),
    artifactBug: false,
    notes: [`weight_i_1 is [${hidden}][2], hidden-major: transposed to class-major [2][${hidden}]`],
  };
}

function twoLayerModel(
  inputs: number,
  hidden: number,
  w0: number[],
  b0: number[],
  w1ClassMajor: number[],
  b1: number[],
): LinnosIntegerModel {
  return {
    kind: 'linnos-integer',
    layers: [
      { inputs, outputs: hidden, weights: Float64Array.from(w0), bias: Float64Array.from(b0) },
      {
        inputs: hidden,
        outputs: CLASSES,
        weights: Float64Array.from(w1ClassMajor),
        bias: Float64Array.from(b1),
      },
    ],
  };
}

export async function readLinnosHeader(
  path: string,
  options: { device?: string } = {},
): Promise<LinnosHeader> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new LakeError('LAKE_E_IO', `${path}: cannot read: ${(cause as Error).message}`, { cause });
  }
  return parseLinnosHeader(text, path, options);
}

/**
 * LinnOS test vectors as in the kernel's ml_test.h: a `char` array [n][inputs] of digits. Returns them back
 * to back. `name` defaults to the only array of the file, else `test_input`.
 */
export function parseTestVectors(
  text: string,
  file: string,
  name?: string,
): { vectors: Uint8Array; count: number; inputs: number } {
  const arrays = parseCArrays(text, file);
  const chosen = name ?? (arrays.size === 1 ? [...arrays.keys()][0]! : 'test_input');
  const array = requireArray(arrays, chosen, file);
  const [count, inputs] = array.dims;
  if (array.dims.length !== 2 || count === undefined || inputs === undefined) {
    throw headerError(file, array.line, `array ${chosen} must be declared [count][inputs]`);
  }
  array.values.forEach((value, i) => {
    if (!(value >= 0 && value <= 9)) {
      throw headerError(
        file,
        array.line,
        `array ${chosen}: row ${Math.floor(i / inputs)}, input ${i % inputs} is ${value}, not a digit`,
      );
    }
  });
  return { vectors: Uint8Array.from(array.values), count, inputs };
}

export interface HeaderWriteOptions {
  /** The `<dev>` suffix of every array name: letters, digits and underscores. */
  device: string;
  /** The workload named in the leading comment and in name_<dev> ("<workload>/<dev>"). Default 'lake'. */
  workload?: string;
  /** Written into the "updated on" comment when given (left out otherwise, so output is deterministic). */
  updatedAt?: string;
}

function formatRows(values: Float64Array, perRow: number): string {
  const rows: string[] = [];
  for (let start = 0; start < values.length; start += perRow) {
    rows.push(Array.from(values.subarray(start, start + perRow)).join(','));
  }
  return rows.join('\n,');
}

/**
 * A w_<dev>.h header in the artifact's layout and array names, so the LinnOS kernel code can include it.
 * A float model is quantised the LinnOS way first. Unlike the artifact's files, weight_1_T_<dev> holds the
 * real layer-1 weights, class-major [2][hidden], declared [2*hidden]: the kernel reads the same elements
 * 0..2*hidden-1 of it, now with the right values. Only 2-layer models with 2 outputs have this format.
 */
export function formatLinnosHeader(
  model: DenseModel | LinnosIntegerModel,
  options: HeaderWriteOptions,
): string {
  const { device } = options;
  if (!/^\w+$/.test(device)) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `a device name for C arrays must hold only letters, digits and _, got "${escapeInput(device)}"`,
    );
  }
  const workload = options.workload ?? 'lake';
  if (/["\\\n*]/.test(workload))
    throw new LakeError('LAKE_E_USAGE', `workload name "${escapeInput(workload)}" cannot go in a C string`);
  if (options.updatedAt !== undefined && /\*\/|\n/.test(options.updatedAt)) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `updatedAt "${escapeInput(options.updatedAt)}" cannot go in a C comment`,
    );
  }
  let integer: LinnosIntegerModel;
  if (isLinnosIntegerModel(model)) {
    integer = model;
  } else {
    checkDenseModel(model);
    integer = quantizeLinnos(model);
  }
  validateIntegerModel(integer);
  const [first, second] = integer.layers;
  if (
    integer.layers.length !== 2 ||
    first === undefined ||
    second === undefined ||
    second.outputs !== CLASSES
  ) {
    throw new LakeError(
      'LAKE_E_MODEL_FORMAT',
      `a LinnOS header holds an inputs-hidden-2 model; this one has widths ${[first?.inputs, ...integer.layers.map((l) => l.outputs)].join('-')}`,
    );
  }
  const hidden = first.outputs;
  const guard = `__W_${device.toUpperCase()}_H`;
  const lines = [
    `/* ${workload} */`,
    '',
    '/**',
    options.updatedAt === undefined
      ? ' *  written by lake'
      : ` *  written by lake, updated on ${options.updatedAt}`,
    ' *  weight_1_T holds the real layer-1 weights, class-major [2][hidden] (the artifact copied weight_0_T).',
    ' */',
    '',
    `#ifndef ${guard}`,
    `#define ${guard}`,
    '',
    `char name_${device}[] = "${workload}/${device}";`,
    '',
    `long weight_0_T_${device}[${hidden}*${first.inputs}] = {`,
    formatRows(first.weights, first.inputs),
    '};',
    '',
    `long weight_1_T_${device}[${CLASSES}*${hidden}] = {`,
    formatRows(second.weights, hidden),
    '};',
    '',
    `long bias_0_${device}[1*${hidden}] = {`,
    formatRows(first.bias, hidden),
    '};',
    '',
    `long bias_1_${device}[1*${CLASSES}] = {`,
    formatRows(second.bias, CLASSES),
    '};',
    '',
    '#endif',
    '',
  ];
  return lines.join('\n');
}

/** Writes formatLinnosHeader's text atomically (temporary file, then rename). */
export async function writeLinnosHeader(
  path: string,
  model: DenseModel | LinnosIntegerModel,
  options: HeaderWriteOptions,
): Promise<void> {
  await writeFileAtomic(path, formatLinnosHeader(model, options));
}
