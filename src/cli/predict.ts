/**
 * `lake predict --model FILE --input vectors.txt [--json] [--backend exact|js|wasm|auto] [--device NAME]`:
 * one decision per input vector (0 = fast, 1 = slow), one per line; with --json one JSON object per line
 * with the decision and the backend's raw outputs and their scale (exact: integers at scale 1e6; js: logits; wasm:
 * its int32 sums; logit = output / scale). FILE is a lake model file (.json) or a LinnOS header (.h).
 * The input holds one vector per line: 31 digits separated by commas and/or spaces, or a 31-character digit
 * string; blank lines and lines starting with '#' are skipped. `-` reads standard input. A LinnOS vector
 * file is read too, recognised by its first line: what `lake features` writes (its header, then
 * device,index,31 digits,latency per read: the 31 digits are used, and --json names each row's device and
 * index), 31 digits + latency, or LinnOS's raw 10-column vectors (src/linnos/vector-file.ts).
 * The default backend is exact for a header (its integers are the model) and auto (wasm, else js) otherwise.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { escapeInput, LakeError, TraceParseError, usageError } from '../errors.js';
import { createPredictor } from '../kernels/create.js';
import type { BackendChoice } from '../kernels/types.js';
import { LINNOS_FEATURES } from '../linnos/features.js';
import { parseLinnosVectors } from '../linnos/vector-file.js';
import { readModelSource } from '../models/model-source.js';

export interface PredictFlags {
  model?: string;
  input?: string;
  json?: boolean;
  backend?: string;
  device?: string;
}

interface Output {
  write(text: string): void;
}

const stdout: Output = { write: (text) => void process.stdout.write(text) };
const BACKENDS: BackendChoice[] = ['exact', 'js', 'wasm', 'auto'];

export function registerPredict(program: Command, output: Output = stdout): void {
  program
    .command('predict')
    .description('predict fast (0) / slow (1) for LinnOS digit vectors with a model file or LinnOS header')
    .option('--model <file>', 'lake model file (.json) or LinnOS header (.h)')
    .option(
      '--input <file>',
      "one 31-digit vector per line, or a vector file such as lake features writes ('-' for standard input)",
    )
    .option('--json', 'print the decision and raw outputs as one JSON object per line')
    .option('--backend <name>', `${BACKENDS.join(' | ')} (default: exact for a header, else auto)`)
    .option('--device <name>', 'which device of a header holding several')
    .action(async (flags: PredictFlags) => {
      output.write(await predictCommand(flags));
    });
}

/** Vectors to predict, back to back, with the line each came from (and, from a lake vector file, its read). */
export interface PredictInput {
  vectors: Uint8Array;
  lines: number[];
  /** Per vector, the device and index `lake features` wrote beside it. */
  reads?: { device: number; index: number }[];
}

/**
 * Vectors from the text of --input: a LinnOS vector file when its first line says so (a `device,...`
 * header, or 10 or 32 comma-separated columns), else one `inputs`-digit vector per line.
 */
export function parsePredictInput(text: string, file: string, inputs = LINNOS_FEATURES): PredictInput {
  const first = text.split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  const head = first?.trim() ?? '';
  const columns = head.split(',').length;
  const isVectorFile =
    head.startsWith('device') || (!head.includes(' ') && (columns === 10 || columns === 32));
  if (!isVectorFile || inputs !== LINNOS_FEATURES) return parseDigitVectors(text, file, inputs);
  const parsed = parseLinnosVectors(text, file);
  return {
    vectors: parsed.dataset.vectors,
    lines: Array.from(parsed.line),
    ...(parsed.format === 'lake'
      ? {
          reads: Array.from(parsed.device, (device, r) => ({ device, index: parsed.dataset.index[r]! })),
        }
      : {}),
  };
}

/** Vectors of `inputs` digits parsed from text, back to back, with the line each came from. */
export function parseDigitVectors(
  text: string,
  file: string,
  inputs = 31,
): { vectors: Uint8Array; lines: number[] } {
  const values: number[] = [];
  const lines: number[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const content = raw.trim();
    if (content === '' || content.startsWith('#')) return;
    const fields = /^\d+$/.test(content) ? [...content] : content.split(/[\s,]+/);
    if (fields.length !== inputs) {
      throw new TraceParseError(
        { file, line, field: 'vector' },
        `expected ${inputs} digits (comma/space separated or one ${inputs}-character string), got ${fields.length} fields`,
      );
    }
    fields.forEach((field, position) => {
      if (!/^\d$/.test(field)) {
        throw new TraceParseError(
          { file, line, field: `digit ${position}` },
          `"${escapeInput(field)}" is not a digit 0-9`,
        );
      }
      values.push(field.charCodeAt(0) - 48);
    });
    lines.push(line);
  });
  return { vectors: Uint8Array.from(values), lines };
}

async function readInput(path: string): Promise<string> {
  try {
    return path === '-' ? await readStream(process.stdin) : await readFile(path, 'utf8');
  } catch (cause) {
    throw new LakeError('LAKE_E_IO', `${path}: cannot read: ${(cause as Error).message}`, { cause });
  }
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs the command; returns what it prints. */
export async function predictCommand(flags: PredictFlags): Promise<string> {
  if (flags.model === undefined) throw usageError('lake predict needs --model FILE');
  if (flags.input === undefined) throw usageError('lake predict needs --input FILE');
  const choice = flags.backend ?? 'default';
  if (choice !== 'default' && !BACKENDS.includes(choice as BackendChoice)) {
    throw usageError(`--backend must be one of ${BACKENDS.join(', ')}, got "${choice}"`);
  }
  const source = await readModelSource(
    flags.model,
    flags.device === undefined ? {} : { device: flags.device },
  );
  const backend: BackendChoice =
    choice === 'default' ? (source.kind === 'linnos-header' ? 'exact' : 'auto') : (choice as BackendChoice);
  const model = source.kind === 'linnos-header' && backend === 'exact' ? source.integer : source.dense;
  const predictor = createPredictor(model, { backend });
  try {
    const { vectors, lines, reads } = parsePredictInput(
      await readInput(flags.input),
      flags.input,
      predictor.inputs,
    );
    const n = lines.length;
    const decisions = new Uint8Array(n);
    predictor.predictBatch(vectors, n, decisions);
    if (flags.json !== true) return n === 0 ? '' : `${decisions.join('\n')}\n`;
    const raw = new Float64Array(predictor.outputs);
    const out: string[] = [];
    for (let v = 0; v < n; v++) {
      predictor.rawScores(vectors.subarray(v * predictor.inputs, (v + 1) * predictor.inputs), raw);
      out.push(
        JSON.stringify({
          line: lines[v],
          ...(reads !== undefined ? reads[v] : {}),
          decision: decisions[v],
          outputs: Array.from(raw),
          scale: predictor.rawScale,
          backend: predictor.backend,
        }),
      );
    }
    return out.length === 0 ? '' : `${out.join('\n')}\n`;
  } finally {
    predictor.dispose();
  }
}
