/**
 * Files of LinnOS vectors:
 * - `raw`: LinnOS's raw vectors (traceParser.py generate_raw_vec, e.g. fixtures/linnos/temp1), 10 integer
 *   columns `pend_h4, pend_h3, pend_h2, pend_h1, pend_now, lat_h4, lat_h3, lat_h2, lat_h1, label_latency_us`,
 *   uncapped; reading caps and digit-encodes them (pending <= 999, latency <= 9999).
 * - `digits`: 31 digit columns then the latency in us (32 columns, no header).
 * - `lake`: what `lake features` writes: a header line `device,index,d0,...,d30,latency_us`, then one row
 *   per read.
 * The format is recognised from the first line. Bad input throws TraceParseError naming file:line:field.
 */
import { readFileSync } from 'node:fs';
import { escapeInput, LakeError, TraceParseError } from '../errors.js';
import { writeFileAtomic } from '../report/write.js';
import { DatasetBuilder, type DeviceDataset, type LinnosDataset } from './dataset.js';
import { encodeLinnosVector, LINNOS_FEATURES } from './features.js';

export type VectorFileFormat = 'raw' | 'digits' | 'lake';

export interface VectorFile {
  format: VectorFileFormat;
  dataset: LinnosDataset;
  /** Device of each row (`lake` files); 0 for formats without one. */
  device: Int32Array;
  /** The 1-based line of the file each row came from. */
  line: Int32Array;
}

const RAW_FIELDS = [
  'pend_h4',
  'pend_h3',
  'pend_h2',
  'pend_h1',
  'pend_now',
  'lat_h4',
  'lat_h3',
  'lat_h2',
  'lat_h1',
  'label_latency_us',
] as const;

const DIGIT_FIELDS = Array.from({ length: LINNOS_FEATURES }, (_, i) => `d${i}`);
/** The header line of the vector files `lake features` writes. */
export const LAKE_VECTOR_HEADER = ['device', 'index', ...DIGIT_FIELDS, 'latency_us'].join(',');

/** Read a vector file of any of the three formats. */
export function readLinnosVectors(path: string): VectorFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new LakeError('LAKE_E_IO', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseLinnosVectors(text, path);
}

/** Parse vector-file text; `file` names it in error messages. */
export function parseLinnosVectors(text: string, file: string): VectorFile {
  const lines = text.split('\n');
  let first = 0;
  while (first < lines.length && lines[first]!.trim() === '') first++;
  if (first === lines.length) {
    return {
      format: 'raw',
      dataset: new DatasetBuilder().build(),
      device: new Int32Array(0),
      line: new Int32Array(0),
    };
  }
  const head = lines[first]!.trim();
  let format: VectorFileFormat;
  if (head.startsWith('device')) {
    if (head !== LAKE_VECTOR_HEADER) {
      throw new TraceParseError(
        { file, line: first + 1, field: 'header' },
        `expected "${LAKE_VECTOR_HEADER}"`,
      );
    }
    format = 'lake';
    first++;
  } else {
    const columns = head.split(',').length;
    if (columns === RAW_FIELDS.length) format = 'raw';
    else if (columns === LINNOS_FEATURES + 1) format = 'digits';
    else {
      throw new LakeError(
        'LAKE_E_TRACE_FORMAT',
        `${file}:${first + 1}: ${columns} columns; a LinnOS vector file has 10 (raw), 32 (digits + latency) or a lake header`,
      );
    }
  }

  const builder = new DatasetBuilder();
  const devices: number[] = [];
  const rowLines: number[] = [];
  const raw = new Float64Array(RAW_FIELDS.length);
  let row = 0;
  for (let l = first; l < lines.length; l++) {
    const line = lines[l]!;
    if (line.trim() === '') continue;
    const fields = line.split(',');
    const lineNo = l + 1;
    const at = (k: number, name: string, integer: boolean, max = Number.POSITIVE_INFINITY): number => {
      const s = fields[k];
      if (s === undefined) throw new TraceParseError({ file, line: lineNo, field: name }, 'missing');
      const v = Number(s);
      if (s.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
        throw new TraceParseError(
          { file, line: lineNo, field: name },
          `"${escapeInput(s.trim())}" is not ${integer ? 'an integer' : 'a number'}`,
        );
      }
      if (v < 0) throw new TraceParseError({ file, line: lineNo, field: name }, `${v} is negative`);
      if (v > max) throw new TraceParseError({ file, line: lineNo, field: name }, `${v} is not a digit`);
      return v;
    };
    switch (format) {
      case 'raw': {
        expectColumns(fields.length, RAW_FIELDS.length, file, lineNo);
        for (let k = 0; k < RAW_FIELDS.length; k++) raw[k] = at(k, RAW_FIELDS[k]!, true);
        const o = builder.append(raw[9]!, row);
        encodeLinnosVector(
          raw[0]!,
          raw[1]!,
          raw[2]!,
          raw[3]!,
          raw[4]!,
          raw[5]!,
          raw[6]!,
          raw[7]!,
          raw[8]!,
          builder.vectors,
          o,
        );
        devices.push(0);
        break;
      }
      case 'digits': {
        expectColumns(fields.length, LINNOS_FEATURES + 1, file, lineNo);
        const o = builder.append(at(LINNOS_FEATURES, 'latency_us', false), row);
        readDigits(builder.vectors, o, at, 0);
        devices.push(0);
        break;
      }
      case 'lake': {
        expectColumns(fields.length, LINNOS_FEATURES + 3, file, lineNo);
        const device = at(0, 'device', true);
        const o = builder.append(at(LINNOS_FEATURES + 2, 'latency_us', false), at(1, 'index', true));
        readDigits(builder.vectors, o, at, 2);
        devices.push(device);
        break;
      }
    }
    rowLines.push(lineNo);
    row++;
  }
  return {
    format,
    dataset: builder.build(),
    device: Int32Array.from(devices),
    line: Int32Array.from(rowLines),
  };
}

function expectColumns(got: number, want: number, file: string, line: number): void {
  if (got !== want) {
    throw new TraceParseError(
      { file, line, field: `column ${Math.min(got, want) + 1}` },
      `${got} columns, expected ${want}`,
    );
  }
}

function readDigits(
  out: Uint8Array,
  offset: number,
  at: (k: number, name: string, integer: boolean, max: number) => number,
  firstColumn: number,
): void {
  for (let i = 0; i < LINNOS_FEATURES; i++) out[offset + i] = at(firstColumn + i, DIGIT_FIELDS[i]!, true, 9);
}

/**
 * Write per-device datasets as a `lake` vector file, atomically (a temporary file in the same folder,
 * then a rename). Returns the number of rows written.
 */
export async function writeLinnosVectors(path: string, datasets: readonly DeviceDataset[]): Promise<number> {
  const parts: string[] = [LAKE_VECTOR_HEADER, '\n'];
  let rows = 0;
  for (const d of datasets) {
    for (let r = 0; r < d.count; r++) {
      const v = d.vectors.subarray(r * LINNOS_FEATURES, (r + 1) * LINNOS_FEATURES);
      parts.push(`${d.device},${d.index[r]},${v.join(',')},${d.latencyUs[r]}\n`);
      rows++;
    }
  }
  await writeFileAtomic(path, parts.join(''));
  return rows;
}
