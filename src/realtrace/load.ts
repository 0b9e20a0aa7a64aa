/**
 * Trace files into one IoTable: each file read whole (these are windows of tens of thousands of I/Os) or,
 * with `window`, streamed with only a window of its records kept (a window of a trace of any length),
 * optionally replayed on a simulated SSD first when it records no latency, and several files laid one
 * after another on one time line (a trace whose behaviour changes part-way).
 */
import { LakeError } from '../errors.js';
import type { FlashProfileName } from '../flash/index.js';
import { openTrace, type ReadTraceOptions } from '../trace/read.js';
import type { TraceFormat, TraceRecord } from '../trace/types.js';
import { concatTables, type IoTable, ioTableFromRecords } from './io-table.js';
import { simulateLatencies } from './simulated-latencies.js';

export interface LoadOptions {
  format?: TraceFormat;
  skipBad?: boolean;
  device?: number;
  /** Replay arrivals on a simulated SSD and learn from its latencies instead of recorded ones. */
  simulate?: boolean;
  /** With simulate: which times are the arrivals (default 'arrival'; 'submit' = the recorded submit times). */
  arrivals?: 'arrival' | 'submit';
  flash?: FlashProfileName;
  seed?: number;
  /**
   * Keep only `count` records from the `start`-th (0-based, in file order, counting the chosen device's
   * records only); the file is streamed and reading stops after the window.
   */
  window?: { start: number; count: number };
  /** Told after each batch read (records kept so far) and before a simulated replay (progress). */
  onProgress?: (event: LoadProgress) => void;
}

export interface LoadProgress {
  stage: 'reading' | 'simulating';
  path: string;
  /** Records kept so far (reading), or the records replayed (simulating). */
  records: number;
}

interface ReadRecords {
  records: TraceRecord[];
  format: TraceFormat;
  skipped: number;
}

/** The file's records (of `device`, when given), all or the window's, read as a stream. */
async function readRecords(path: string, options: LoadOptions): Promise<ReadRecords> {
  const readOptions: ReadTraceOptions = {
    ...(options.format !== undefined ? { format: options.format } : {}),
    skipBad: options.skipBad === true,
  };
  const reader = openTrace(path, readOptions);
  const window = options.window;
  const start = window?.start ?? 0;
  const end = window !== undefined ? window.start + window.count : Number.POSITIVE_INFINITY;
  const records: TraceRecord[] = [];
  let seen = 0;
  reading: for await (const batch of reader) {
    for (const r of batch) {
      if (options.device !== undefined && r.device !== options.device) continue;
      if (seen >= start) records.push(r);
      if (++seen >= end) break reading;
    }
    options.onProgress?.({ stage: 'reading', path, records: records.length });
  }
  if (window !== undefined && records.length === 0) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `${path}: --window starts at record ${start}, but the trace has ${seen} record(s)` +
        (options.device !== undefined ? ` of device ${options.device}` : ''),
    );
  }
  // Iteration has started, so the format was given or detected.
  return { records, format: reader.format!, skipped: reader.summary.skipped };
}

export interface LoadedTrace {
  table: IoTable;
  /** Per file: path, format, I/Os kept and, with a window, the first record kept. */
  files: { path: string; format: TraceFormat; ios: number; skipped: number; firstRecord?: number }[];
}

export async function loadIoTable(paths: readonly string[], options: LoadOptions = {}): Promise<LoadedTrace> {
  const tables: IoTable[] = [];
  const files: LoadedTrace['files'] = [];
  for (const path of paths) {
    const read = await readRecords(path, options);
    let records: TraceRecord[] = read.records;
    if (options.simulate === true) {
      options.onProgress?.({ stage: 'simulating', path, records: records.length });
      const useSubmit = options.arrivals === 'submit';
      const arrivals = records
        .map((r) => ({ ...r, arrivalMs: useSubmit ? (r.submitMs ?? r.arrivalMs) : r.arrivalMs }))
        .sort((a, b) => a.arrivalMs - b.arrivalMs);
      records = simulateLatencies(arrivals, {
        ...(options.flash !== undefined ? { flash: options.flash } : {}),
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
      });
    }
    const table = ioTableFromRecords(records, {
      file: path,
      ...(options.device !== undefined && options.simulate !== true ? { device: options.device } : {}),
    });
    tables.push(table);
    files.push({
      path,
      format: read.format,
      ios: table.count,
      skipped: read.skipped,
      ...(options.window !== undefined ? { firstRecord: options.window.start } : {}),
    });
  }
  return { table: tables.length === 1 ? tables[0]! : concatTables(tables), files };
}
