import { extname } from 'node:path';
import { LakeError } from '../errors.js';
import type { DenseModel } from './dense.js';
import { type LinnosHeader, readLinnosHeader } from './linnos-header.js';
import { dequantizeLinnos, type LinnosIntegerModel } from './linnos-integer.js';
import { type LoadedModel, loadModel } from './model-file.js';

/**
 * A model read from any file lake understands, decided by extension: a lake model file (.json) or a LinnOS
 * weight header (.h). `integer` is set for headers: their exact integers, which the exact backend uses as
 * they are (dividing them to floats and rounding back could move a value by one).
 */
export type ModelSource =
  | { kind: 'lake-model'; path: string; dense: DenseModel; file: LoadedModel }
  | {
      kind: 'linnos-header';
      path: string;
      dense: DenseModel;
      integer: LinnosIntegerModel;
      header: LinnosHeader;
    };

export async function readModelSource(path: string, options: { device?: string } = {}): Promise<ModelSource> {
  const extension = extname(path).toLowerCase();
  if (extension === '.json') {
    const file = await loadModel(path);
    return { kind: 'lake-model', path, dense: file.model, file };
  }
  if (extension === '.h') {
    const header = await readLinnosHeader(path, options);
    return {
      kind: 'linnos-header',
      path,
      dense: dequantizeLinnos(header.model),
      integer: header.model,
      header,
    };
  }
  throw new LakeError(
    'LAKE_E_USAGE',
    `${path}: unknown model file type "${extension}" (lake reads .json model files and .h LinnOS headers)`,
  );
}
