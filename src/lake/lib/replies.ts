import { escapeInput, LakeError } from '../../errors.js';
import type { BackendKind, BackendName, DeviceInfo } from '../backends/types.js';
import type { DeviceFault } from './types.js';

/**
 * Replies lakeLib decodes from lakeD's slot text. The text comes through shared memory that any thread of
 * the process can write, so it is checked like input: a reply that is not what lakeD writes is
 * LAKE_E_INTERNAL naming what was wrong, never a SyntaxError or an object of the wrong shape.
 */
const BACKEND_NAMES: readonly BackendName[] = ['cpu-wasm', 'webgpu', 'cuda'];
const BACKEND_KINDS: readonly BackendKind[] = ['cpu', 'gpu'];

/** A reply's JSON object, or `fail` saying why the text is not one. */
function parseObject(text: string, fail: (why: string) => never): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail(`is not JSON: "${escapeInput(text)}"`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('is not an object');
  return value as Record<string, unknown>;
}

/** The DeviceInfo JSON lakeD writes for deviceGet(index). */
export function parseDeviceInfo(text: string, index: number): DeviceInfo {
  const fail = (why: string): never => {
    throw new LakeError('LAKE_E_INTERNAL', `lakeLib: lakeD's description of device ${index} ${why}`);
  };
  const info = parseObject(text, fail);
  if (!Number.isSafeInteger(info['index']) || (info['index'] as number) < 0) fail('has no device index');
  if (typeof info['name'] !== 'string') fail('has no name');
  if (!BACKEND_NAMES.includes(info['backend'] as BackendName)) fail('names no known backend');
  if (!BACKEND_KINDS.includes(info['kind'] as BackendKind)) fail('names no device kind');
  const capabilities = info['capabilities'];
  if (!Array.isArray(capabilities) || !capabilities.every((c) => typeof c === 'string'))
    fail('has no list of capabilities');
  if (info['fault'] !== undefined && typeof info['fault'] !== 'string') fail('has a fault that is not text');
  return {
    index: info['index'] as number,
    name: info['name'] as string,
    backend: info['backend'] as BackendName,
    kind: info['kind'] as BackendKind,
    capabilities: [...(capabilities as string[])],
    ...(typeof info['fault'] === 'string' ? { fault: info['fault'] } : {}),
  };
}

/** The DeviceFaultReply JSON lakeD writes with a synchronise whose device faulted. */
export function parseDeviceFault(text: string, expected: number): DeviceFault {
  const fail = (why: string): never => {
    throw new LakeError('LAKE_E_INTERNAL', `lakeLib: lakeD's report of a device fault ${why}`);
  };
  const reply = parseObject(text, fail);
  const device = reply['device'];
  if (device !== expected) fail(`names device ${String(device)}, not the synchronised one (${expected})`);
  if (!BACKEND_NAMES.includes(reply['backend'] as BackendName)) fail('names no known backend');
  if (typeof reply['fault'] !== 'string' || reply['fault'] === '') fail('gives no reason');
  return {
    device: expected,
    backend: reply['backend'] as BackendName,
    reason: reply['fault'] as string,
  };
}
