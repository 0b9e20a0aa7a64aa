import { usageError } from '../errors.js';
import { extraIosPerRead } from './rates.js';
import type { LatencySummary, PolicyReport } from './types.js';

export type ColumnAlign = 'left' | 'right';

/** A table as data: the Markdown and HTML renderers both take it. Cells are plain text (not Markdown). */
export interface Table {
  /** Optional caption printed above the table. */
  title?: string;
  headers: string[];
  rows: string[][];
  /** Per-column alignment; default: first column left, the rest right (names, then numbers). */
  align?: ColumnAlign[];
}

export interface LatencyTableOptions {
  /** Which population to tabulate (default 'read': what admission policies act on). */
  kind?: 'read' | 'write';
  /** Name of the policy the ratios compare against (default 'baseline'); no ratio table if absent. */
  baseline?: string;
}

const LATENCY_COLUMNS: ReadonlyArray<readonly [string, keyof LatencySummary]> = [
  ['avg', 'avgUs'],
  ['p50', 'p50Us'],
  ['p90', 'p90Us'],
  ['p95', 'p95Us'],
  ['p99', 'p99Us'],
  ['p99.9', 'p999Us'],
  ['p99.99', 'p9999Us'],
  ['max', 'maxUs'],
];

/**
 * The latency tables of a replay: one row per policy with count, avg, percentiles and max in us, extra
 * I/Os and revokes; when the baseline policy is present, a second table of each latency as a ratio to the
 * baseline's (below 1 = better).
 */
export function latencyTables(policies: PolicyReport[], options: LatencyTableOptions = {}): Table[] {
  const kind = options.kind ?? 'read';
  const baselineName = options.baseline ?? 'baseline';
  const latencyHeaders = LATENCY_COLUMNS.map(([label]) => `${label} (us)`);
  const main: Table = {
    title: `${kind} latency`,
    headers: ['policy', 'count', ...latencyHeaders, 'extra I/Os', 'revokes'],
    rows: policies.map((policy) => {
      const summary = policy[kind];
      return [
        policy.name,
        formatCount(summary.count),
        ...LATENCY_COLUMNS.map(([, key]) => formatUs(summary[key])),
        formatCount(policy.extraIos),
        formatCount(policy.revokes),
      ];
    }),
  };
  const baseline = policies.find((policy) => policy.name === baselineName);
  if (baseline === undefined) return [main];
  const ratios: Table = {
    title: `${kind} latency vs ${baselineName} (ratio; < 1 is better)`,
    headers: ['policy', ...LATENCY_COLUMNS.map(([label]) => label), 'extra I/Os (% of count)'],
    rows: policies.map((policy) => {
      const summary = policy[kind];
      return [
        policy.name,
        ...LATENCY_COLUMNS.map(([, key]) => formatRatio(summary[key], baseline[kind][key])),
        formatShare(extraIosPerRead(policy.extraIos, summary.count)),
      ];
    }),
  };
  return [main, ratios];
}

/** latencyTables rendered as Markdown, tables separated by a blank line, each under its bold title. */
export function latencyTable(policies: PolicyReport[], options: LatencyTableOptions = {}): string {
  return latencyTables(policies, options).map(tableToMarkdown).join('\n\n');
}

/** A GitHub-flavoured Markdown table from headers and rows of plain-text cells (escaped here). */
export function markdownTable(headers: string[], rows: string[][], align?: ColumnAlign[]): string {
  checkShape(headers, rows, align);
  const aligns = headers.map((_, i) => align?.[i] ?? (i === 0 ? 'left' : 'right'));
  // Cells are padded to their column's width so the table also reads well as plain text on a terminal.
  const escaped = [headers, ...rows].map((r) => r.map(escapeMarkdownCell));
  const widths = headers.map((_, i) => Math.max(3, ...escaped.map((r) => r[i]!.length)));
  const pad = (cell: string, i: number): string =>
    aligns[i] === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
  const line = (cells: string[]): string => `| ${cells.map(pad).join(' | ')} |`;
  const rule = `|${aligns.map((a, i) => (a === 'right' ? `${'-'.repeat(widths[i]! + 1)}:` : `:${'-'.repeat(widths[i]! + 1)}`)).join('|')}|`;
  return [line(escaped[0]!), rule, ...escaped.slice(1).map(line)].join('\n');
}

/** A Table as Markdown, with its title (if any) as a bold line above. */
export function tableToMarkdown(table: Table): string {
  const body = markdownTable(table.headers, table.rows, table.align);
  return table.title === undefined ? body : `**${escapeMarkdownCell(table.title)}**\n\n${body}`;
}

/**
 * Microseconds with precision that matches the magnitude: 3 significant digits below 100 us
 * (0.123, 4.56, 78.9), whole microseconds with thousands separators above (1,234).
 */
export function formatUs(us: number): string {
  if (!Number.isFinite(us)) return String(us);
  if (us === 0) return '0';
  const magnitude = Math.abs(us);
  if (magnitude >= 99.95) return groupThousands(Math.round(us));
  if (magnitude >= 9.995) return us.toFixed(1);
  if (magnitude >= 0.9995) return us.toFixed(2);
  return us.toFixed(3);
}

/** An integer count with thousands separators (locale-independent). */
export function formatCount(n: number): string {
  return Number.isFinite(n) ? groupThousands(Math.round(n)) : String(n);
}

/** value / reference as '0.45x'; '-' when the reference is 0 (no ratio exists). */
export function formatRatio(value: number, reference: number): string {
  if (reference === 0) return value === 0 ? '1.00x' : '-';
  const ratio = value / reference;
  return `${ratio >= 100 ? ratio.toFixed(0) : ratio.toFixed(2)}x`;
}

/** A share as '12.5%'; '-' when there is none (no read to divide by). */
function formatShare(share: number | undefined): string {
  return share === undefined ? '-' : `${(share * 100).toFixed(1)}%`;
}

function groupThousands(n: number): string {
  const sign = n < 0 ? '-' : '';
  return sign + String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Pipes would end the cell and newlines the row; backslashes are escaped so the escapes stay literal. */
function escapeMarkdownCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function checkShape(headers: string[], rows: string[][], align: ColumnAlign[] | undefined): void {
  if (headers.length === 0) throw usageError('table must have at least one column');
  rows.forEach((row, i) => {
    if (row.length !== headers.length) {
      throw usageError(`table row ${i} has ${row.length} cells, expected ${headers.length}`);
    }
  });
  if (align !== undefined && align.length !== headers.length) {
    throw usageError(`table align has ${align.length} entries, expected ${headers.length}`);
  }
}
