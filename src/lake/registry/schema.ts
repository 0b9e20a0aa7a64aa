import { LakeError } from '../../errors.js';

/**
 * Feature schemas of the registry: a named list of typed fields, compiled into a fixed byte layout so that
 * an entry is one fixed-size record in shared memory, written in place by any thread.
 */
export type FieldType = 'f32' | 'f64' | 'i32' | 'u8';

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  /** Elements (default 1). */
  readonly length?: number;
}

export interface FeatureSchema {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
}

export interface CompiledField {
  readonly name: string;
  readonly type: FieldType;
  readonly length: number;
  /** Byte offset in the entry's payload (aligned to the element size). */
  readonly offset: number;
  readonly elementBytes: number;
}

export interface SchemaLayout {
  readonly schema: FeatureSchema;
  readonly fields: readonly CompiledField[];
  /** Payload bytes, a multiple of 8. */
  readonly payloadBytes: number;
  /** Values of all fields together (the width of a window's input matrix). */
  readonly width: number;
}

export const ELEMENT_BYTES: Readonly<Record<FieldType, number>> = { f32: 4, f64: 8, i32: 4, u8: 1 };
const MAX_FIELD_LENGTH = 1 << 16;

export function compileSchema(schema: FeatureSchema): SchemaLayout {
  const fail = (message: string): never => {
    throw new LakeError('LAKE_E_USAGE', `feature schema ${JSON.stringify(schema?.name)}: ${message}`);
  };
  if (typeof schema?.name !== 'string' || schema.name.length === 0) fail('name must be a non-empty string');
  if (!Array.isArray(schema.fields) || schema.fields.length === 0) fail('fields must be a non-empty array');
  const seen = new Set<string>();
  const fields: CompiledField[] = [];
  let offset = 0;
  let width = 0;
  for (const field of schema.fields) {
    if (typeof field.name !== 'string' || field.name.length === 0) fail('every field needs a name');
    if (seen.has(field.name)) fail(`field ${field.name} appears twice`);
    seen.add(field.name);
    const elementBytes = ELEMENT_BYTES[field.type];
    if (elementBytes === undefined)
      fail(`field ${field.name}: type ${String(field.type)} is not one of f32, f64, i32, u8`);
    const length = field.length ?? 1;
    if (!Number.isSafeInteger(length) || length < 1 || length > MAX_FIELD_LENGTH) {
      fail(`field ${field.name}: length ${length} is not an integer in [1, ${MAX_FIELD_LENGTH}]`);
    }
    offset = Math.ceil(offset / elementBytes) * elementBytes;
    fields.push({ name: field.name, type: field.type, length, offset, elementBytes });
    offset += length * elementBytes;
    width += length;
  }
  return { schema, fields, payloadBytes: Math.ceil(offset / 8) * 8, width };
}
