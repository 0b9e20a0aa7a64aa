/**
 * The one way tests reach the real-data fixtures in test/fixtures/ (provenance and licences in the READMEs
 * there). A fixture is named by its uncompressed path, e.g. `traces/heimdall-msr-raw/X.trace`; large traces
 * are stored as `X.trace.gz`, which lake reads as they are, and `readFixture` inflates for tests that look
 * at the bytes themselves.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** The file holding fixture `name` (the `.gz` form when that is what is stored); throws when neither is. */
export function fixturePath(name: string): string {
  const plain = `${root}${name}`;
  if (existsSync(plain)) return plain;
  const compressed = `${plain}.gz`;
  if (existsSync(compressed)) return compressed;
  throw new Error(`test fixture ${name} is missing (looked for ${plain} and ${compressed})`);
}

/** Fixture `name`'s uncompressed bytes. */
export function readFixture(name: string): Buffer {
  const path = fixturePath(name);
  const bytes = readFileSync(path);
  return path.endsWith('.gz') ? gunzipSync(bytes) : bytes;
}

/** Fixture `name` as text (UTF-8). */
export function readFixtureText(name: string): string {
  return readFixture(name).toString('utf8');
}
