/** The options that choose LinnOS-on-LAKE runs: `--models` (shapes) and `--crossovers`, parsed and checked. */
import { usageError } from '../../errors.js';
import type { LinnosShape } from '../../models/dense.js';
import { LINNOS_SHAPES } from '../policy/constants.js';
import { DEFAULT_DEMO_CALIBRATION_SIZES } from './run.js';

/** Parses `--models nn,nn+1,nn+2`: known shapes, each once, at least one. */
export function parseShapeList(text: string): LinnosShape[] {
  const shapes: LinnosShape[] = [];
  for (const part of text.split(',')) {
    const name = part.trim();
    if (name === '') continue;
    const shape = LINNOS_SHAPES.find((s) => s === name);
    if (shape === undefined)
      throw usageError(`--models: unknown model "${name}" (expected ${LINNOS_SHAPES.join(', ')})`);
    if (shapes.includes(shape)) throw usageError(`--models: ${shape} is listed twice`);
    shapes.push(shape);
  }
  if (shapes.length === 0) throw usageError('--models must name at least one of nn, nn+1, nn+2');
  return shapes;
}

/**
 * Parses `--crossovers nn=9,nn+1=4,nn+2=never` for the shapes `--models` runs: each of them once, a whole
 * batch size or `never`; a shape the run does not have is refused, so is a missing one.
 */
export function parseCrossovers(
  text: string,
  shapes: readonly LinnosShape[],
): Partial<Record<LinnosShape, number | null>> {
  const crossovers: Partial<Record<LinnosShape, number | null>> = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq).trim();
    const value = eq < 0 ? '' : item.slice(eq + 1).trim();
    const shape = LINNOS_SHAPES.find((s) => s === name);
    if (shape === undefined)
      throw usageError(`--crossovers: unknown model "${name}" (expected ${LINNOS_SHAPES.join(', ')})`);
    if (shape in crossovers) throw usageError(`--crossovers: ${shape} is given twice`);
    if (!shapes.includes(shape))
      throw usageError(`--crossovers: ${shape} is not among --models (${shapes.join(',')})`);
    const largest = DEFAULT_DEMO_CALIBRATION_SIZES[DEFAULT_DEMO_CALIBRATION_SIZES.length - 1]!;
    if (value === 'never') crossovers[shape] = null;
    else if (/^[0-9]+$/.test(value) && Number(value) >= 1 && Number(value) <= largest)
      crossovers[shape] = Number(value);
    else
      throw usageError(
        `--crossovers: ${shape}=${value} must be a batch size from 1 to ${largest}, or never (e.g. ${shape}=8)`,
      );
  }
  const missing = shapes.filter((s) => !(s in crossovers));
  if (missing.length > 0)
    throw usageError(`--crossovers must give every model of --models: missing ${missing.join(', ')}`);
  return crossovers;
}
