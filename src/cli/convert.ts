/**
 * `lake convert IN OUT [--device NAME] [--workload NAME] [--created-at ISO]`: converts a model between lake's
 * model file (.json), a LinnOS weight header (.h) and ONNX (.onnx, export only), each chosen by extension.
 * Header to header goes through the exact integers (and writes weight_1_T correctly, fixing the artifact's
 * copy of weight_0_T); header to .json or .onnx divides the integers back to floats (/1000, last bias /1e6).
 */
import { basename, extname } from 'node:path';
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { checkOutputs } from '../files/outputs.js';
import { LINNOS_FEATURE_SCHEMA } from '../linnos/features.js';
import { shapeOf } from '../models/dense-check.js';
import { writeLinnosHeader } from '../models/linnos-header.js';
import { type ModelMeta, saveModel } from '../models/model-file.js';
import { type ModelSource, readModelSource } from '../models/model-source.js';
import { writeOnnx } from '../models/onnx.js';

export interface ConvertFlags {
  device?: string;
  workload?: string;
  createdAt?: string;
}

interface Output {
  write(text: string): void;
}

const stdout: Output = { write: (text) => void process.stdout.write(text) };

export function registerConvert(program: Command, output: Output = stdout): void {
  program
    .command('convert')
    .description('convert a model: lake model file (.json) <-> LinnOS header (.h), and to ONNX (.onnx)')
    .argument('<in>', 'model to read: .json (lake model file) or .h (LinnOS w_<dev>.h or LAKE weights.h)')
    .argument('<out>', 'file to write: .json, .h or .onnx (by extension)')
    .option(
      '--device <name>',
      'device suffix of the header arrays (default: from w_<dev>.h names or the model)',
    )
    .option('--workload <name>', 'workload named in a written header', 'lake')
    .option('--created-at <iso>', "createdAt of a written model file (default: the input model's, else now)")
    .action(async (input: string, out: string, flags: ConvertFlags) => {
      output.write(await convertModel(input, out, flags));
    });
}

const OUTPUT_TYPES = ['.json', '.h', '.onnx'];

/** Converts `input` into `out`; returns a one-line summary (and the reader's notes). */
export async function convertModel(input: string, out: string, flags: ConvertFlags = {}): Promise<string> {
  const target = extname(out).toLowerCase();
  if (!OUTPUT_TYPES.includes(target)) {
    throw usageError(`${out}: cannot write "${target}" files (lake writes ${OUTPUT_TYPES.join(', ')})`);
  }
  if (extname(input).toLowerCase() === '.onnx') {
    throw usageError(`${input}: ONNX files can be written but not read (export only)`);
  }
  if (flags.createdAt !== undefined && Number.isNaN(Date.parse(flags.createdAt))) {
    throw usageError(`--created-at must be an ISO 8601 time, got "${flags.createdAt}"`);
  }
  // Before reading anything: OUT must be a writable file and not IN (`lake convert x.h x.h` would rewrite it).
  checkOutputs([{ flag: 'OUT', path: out }], [{ flag: 'IN', path: input }]);
  const source = await readModelSource(input, flags.device === undefined ? {} : { device: flags.device });
  const lines: string[] = [];
  if (source.kind === 'linnos-header') for (const note of source.header.notes) lines.push(`note: ${note}`);
  if (target === '.json') {
    await saveModel(out, source.dense, metaFor(source, flags));
  } else if (target === '.h') {
    const device = flags.device ?? deviceFromHeaderName(out) ?? deviceOf(source);
    if (device === undefined) {
      throw usageError(
        `${out}: no device name for the header arrays: pass --device NAME or name the file w_<dev>.h`,
      );
    }
    const model = source.kind === 'linnos-header' ? source.integer : source.dense;
    await writeLinnosHeader(out, model, { device, workload: flags.workload ?? 'lake' });
  } else {
    await writeOnnx(out, source.dense, {
      metadata: { source: basename(input), shape: shapeOf(source.dense) },
    });
  }
  lines.push(`wrote ${out} (${shapeOf(source.dense)}, from ${input})`);
  return `${lines.join('\n')}\n`;
}

function deviceFromHeaderName(path: string): string | undefined {
  return /^w_(\w+)\.h$/i.exec(basename(path))?.[1];
}

function deviceOf(source: ModelSource): string | undefined {
  return source.kind === 'linnos-header' ? source.header.device : source.file.meta.device;
}

function metaFor(source: ModelSource, flags: ConvertFlags): ModelMeta {
  if (source.kind === 'lake-model') {
    const { shape: _shape, ...meta } = source.file.meta;
    return flags.createdAt === undefined ? meta : { ...meta, createdAt: flags.createdAt };
  }
  const device = flags.device ?? source.header.device;
  return {
    kind: 'linnos',
    featureSchema: LINNOS_FEATURE_SCHEMA,
    createdAt: flags.createdAt ?? new Date().toISOString(),
    ...(device === undefined ? {} : { device }),
    extra: {
      source: basename(source.path),
      headerFormat: source.header.format,
      ...(source.header.name === undefined ? {} : { headerName: source.header.name }),
      notes: source.header.notes,
    },
  };
}
