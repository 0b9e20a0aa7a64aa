import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { LakeError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import type { OutputPath } from '../files/outputs.js';

/** Every output is written whole or not at all; the function lives with the other file rules in src/files. */
export { writeFileAtomic } from '../files/atomic.js';

/** The report's artefacts; each one given is written, the rest are left alone. */
export interface ReportFiles {
  /** Serialised as pretty-printed JSON to results.json. */
  json?: unknown;
  /** cdf.svg */
  svg?: string;
  /** cdf.png */
  png?: Uint8Array;
  /** report.html */
  html?: string;
  /** Further files by name (a plain file name inside outDir, e.g. 'quality.md'). */
  extra?: Record<string, string | Uint8Array>;
}

export const REPORT_FILE_NAMES = {
  json: 'results.json',
  svg: 'cdf.svg',
  png: 'cdf.png',
  html: 'report.html',
} as const;

/**
 * A report directory as an output for src/files/outputs.ts `checkOutputs`: the directory and the files
 * writeReportFiles puts there (results.json, cdf.svg, cdf.png, report.html, and any `extra` names).
 */
export function reportOutput(outDir: string, flag = '--out', extra: readonly string[] = []): OutputPath {
  return { flag, path: outDir, kind: 'directory', files: [...Object.values(REPORT_FILE_NAMES), ...extra] };
}

/**
 * Writes the report files into outDir (created if missing), each one atomically, and returns their paths
 * in the order written. A reader never sees a half-written file, and an interrupted run leaves the previous
 * file in place.
 */
export async function writeReportFiles(outDir: string, files: ReportFiles): Promise<string[]> {
  const entries: Array<[string, string | Uint8Array]> = [];
  if (files.json !== undefined) {
    const text = JSON.stringify(files.json, null, 2);
    if (text === undefined) throw new LakeError('LAKE_E_USAGE', 'report json is not serialisable to JSON');
    entries.push([REPORT_FILE_NAMES.json, `${text}\n`]);
  }
  if (files.svg !== undefined) entries.push([REPORT_FILE_NAMES.svg, files.svg]);
  if (files.png !== undefined) entries.push([REPORT_FILE_NAMES.png, files.png]);
  if (files.html !== undefined) entries.push([REPORT_FILE_NAMES.html, files.html]);
  for (const [name, data] of Object.entries(files.extra ?? {})) {
    if (name !== basename(name) || name === '' || name === '.' || name === '..') {
      throw new LakeError('LAKE_E_USAGE', `report extra file name must be a plain file name, got '${name}'`);
    }
    entries.push([name, data]);
  }
  try {
    await mkdir(outDir, { recursive: true });
  } catch (cause) {
    throw new LakeError('LAKE_E_IO', `${outDir}: cannot create the output directory: ${messageOf(cause)}`, {
      cause,
    });
  }
  const written: string[] = [];
  for (const [name, data] of entries) {
    const path = join(outDir, name);
    await writeFileAtomic(path, data);
    written.push(path);
  }
  return written;
}

function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
