import assert from 'node:assert/strict';

/**
 * Fails, naming the path, unless `value` is plain JSON data: finite numbers, strings, booleans, null,
 * arrays and plain objects only (no NaN or Infinity, undefined, function, bigint, symbol, typed array or
 * class instance), so that JSON.stringify writes exactly what the value holds.
 */
export function assertPlainData(value: unknown, path = '$'): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      assert.ok(Number.isFinite(value), `${path} is ${value}, which JSON writes as null`);
      return;
    case 'object': {
      if (value === null) return;
      if (Array.isArray(value)) {
        for (const [i, item] of value.entries()) assertPlainData(item, `${path}[${i}]`);
        return;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      assert.ok(
        proto === Object.prototype || proto === null,
        `${path} is a ${(value as object).constructor?.name ?? 'non-plain object'}, not a plain object`,
      );
      for (const [key, item] of Object.entries(value)) assertPlainData(item, `${path}.${key}`);
      return;
    }
    default:
      assert.fail(`${path} is ${typeof value}, which JSON drops or cannot write`);
  }
}
