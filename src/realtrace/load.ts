/**
 * Trace files into one IoTable: each file read whole (these are windows of tens of thousands of I/Os),
 * optionally replayed on a simulated SSD first when it records no latency, and several files laid one
 * after another on one time line (a trace whose behaviour changes part-way).
 */
import type { FlashProfileName } from '../flash/index.js';
import { readTraceAll } from '../trace/read.js';
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
}

export interface LoadedTrace {
  table: IoTable;
  /** Per file: path, format and I/Os kept. */
  files: { path: string; format: TraceFormat; ios: number; skipped: number }[];
}

export async function loadIoTable(paths: readonly string[], options: LoadOptions = {}): Promise<LoadedTrace> {
  const tables: IoTable[] = [];
  const files: LoadedTrace['files'] = [];
  for (const path of paths) {
    const read = await readTraceAll(path, {
      ...(options.format !== undefined ? { format: options.format } : {}),
      skipBad: options.skipBad === true,
    });
    let records: TraceRecord[] = read.records;
    if (options.device !== undefined) records = records.filter((r) => r.device === options.device);
    if (options.simulate === true) {
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
    files.push({ path, format: read.format, ios: table.count, skipped: read.skipped });
  }
  return { table: tables.length === 1 ? tables[0]! : concatTables(tables), files };
}
