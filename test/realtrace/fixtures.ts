/** Shared fixture access for the realtrace tests: the Tencent windows replayed on a real NVMe SSD. */
import { registerEval } from '../../src/cli/eval.js';
import { type IoTable, ioTableFromRecords } from '../../src/realtrace/io-table.js';
import { readTraceAll } from '../../src/trace/read.js';
import { runCommand } from '../helpers/cli.js';
import { fixturePath, readFixtureText } from '../helpers/fixtures.js';

export const WINDOWS = {
  mostRandIops: 'tencent.cut.per_50k.most_rand_iops.537.trace',
  rw6040: 'tencent.cut.per_50k.rw_60_40.490.trace',
  rw7525: 'tencent.cut.per_50k.rw_75_25.379.trace',
} as const;

/** The file holding a window (stored gzip-compressed; lake reads it as it is). */
export function windowPath(name: string): string {
  return fixturePath(`traces/flashnet-trovi-tencent-nvme/${name}`);
}

/** A window's text. */
export function windowText(name: string): string {
  return readFixtureText(`traces/flashnet-trovi-tencent-nvme/${name}`);
}

const cache = new Map<string, IoTable>();

/** A whole window as an IoTable (read once per test file). */
export async function loadWindow(name: string): Promise<IoTable> {
  let table = cache.get(name);
  if (table === undefined) {
    const path = windowPath(name);
    table = ioTableFromRecords((await readTraceAll(path, { format: 'heimdall' })).records, { file: path });
    cache.set(name, table);
  }
  return table;
}

/** Run `lake eval ARGS` in process; its standard output as text. */
export async function lakeEval(args: string[]): Promise<string> {
  return runCommand(registerEval, 'eval', args);
}
