import { usageError } from '../errors.js';
import type { ColumnAlign, Table } from './table.js';

/** One section of the report: a heading, then (in this order) Markdown text, a figure, tables. */
export interface ReportSection {
  heading: string;
  /** A Markdown subset: paragraphs, #-headings, - and 1. lists, ``` code, GFM tables, `code`, **bold**, *em*. */
  markdown?: string;
  /** An SVG document made by renderSvg; embedded inline. Must not contain scripts. */
  svg?: string;
  table?: Table | Table[];
}

/** Values of the run's parameters, shown as a two-column table. */
export type ReportParams = Record<string, string | number | boolean | null | undefined>;

export interface ReportHtmlInput {
  title: string;
  subtitle?: string;
  sections: ReportSection[];
  /** The run's parameters (command, trace, seed, ...), in a collapsible block. */
  params?: ReportParams;
  /** The machine-readable results, pretty-printed in a collapsed block. */
  json?: unknown;
}

const STYLE = `
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1b1b1b;
  max-width: 1200px; margin: 2rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.7rem; margin-bottom: 0.2rem; }
.subtitle { color: #555; margin-top: 0; }
h2 { font-size: 1.3rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2.2rem; }
h3, h4, h5, h6 { font-size: 1.05rem; }
table { border-collapse: collapse; margin: 0.8rem 0 1.2rem; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
th, td { border: 1px solid #d4d4d4; padding: 0.25rem 0.6rem; }
th { background: #f3f3f3; }
tbody tr:nth-child(even) { background: #fafafa; }
.left { text-align: left; } .right { text-align: right; }
code { font: 0.9em ui-monospace, "DejaVu Sans Mono", monospace; background: #f3f3f3; padding: 0 0.2em; }
pre { background: #f6f6f6; border: 1px solid #e2e2e2; padding: 0.8rem; overflow: auto; max-height: 40rem; }
pre code { background: none; padding: 0; }
figure { margin: 1rem 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
details { margin: 1rem 0; } summary { cursor: pointer; font-weight: 600; }
`;

/**
 * A self-contained HTML page: inline CSS, SVG figures inline, tables as HTML tables, no scripts and no
 * external resources, so it opens offline and can be mailed as one file. All text is escaped.
 */
export function reportHtml(input: ReportHtmlInput): string {
  const parts: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(input.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(input.title)}</h1>`,
  ];
  if (input.subtitle !== undefined) parts.push(`<p class="subtitle">${escapeHtml(input.subtitle)}</p>`);
  for (const section of input.sections) parts.push(sectionHtml(section));
  if (input.params !== undefined) {
    const rows = Object.entries(input.params)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => [key, String(value)]);
    parts.push(
      '<details open>',
      '<summary>Run parameters</summary>',
      tableHtml({ headers: ['parameter', 'value'], rows, align: ['left', 'left'] }),
      '</details>',
    );
  }
  if (input.json !== undefined) {
    parts.push(
      '<details>',
      '<summary>Results (JSON)</summary>',
      `<pre><code>${escapeHtml(JSON.stringify(input.json, null, 2) ?? 'undefined')}</code></pre>`,
      '</details>',
    );
  }
  parts.push('</body>', '</html>', '');
  return parts.join('\n');
}

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A Table as an HTML table, its title as the caption. */
export function tableHtml(table: Table): string {
  const aligns = table.headers.map((_, i) => table.align?.[i] ?? (i === 0 ? 'left' : 'right'));
  const cell = (tag: 'th' | 'td', text: string, i: number): string =>
    `<${tag} class="${aligns[i] ?? 'left'}">${renderInline(text, false)}</${tag}>`;
  const lines = ['<table>'];
  if (table.title !== undefined) lines.push(`<caption>${escapeHtml(table.title)}</caption>`);
  lines.push(`<thead><tr>${table.headers.map((h, i) => cell('th', h, i)).join('')}</tr></thead>`, '<tbody>');
  for (const row of table.rows) lines.push(`<tr>${row.map((c, i) => cell('td', c, i)).join('')}</tr>`);
  lines.push('</tbody>', '</table>');
  return lines.join('\n');
}

/** The Markdown subset described on ReportSection, as HTML (headings start at h3: h1/h2 are the page's). */
export function markdownToHtml(markdown: string): string {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      i++;
      continue;
    }
    const fence = /^```/.exec(line.trim());
    if (fence !== null) {
      const code: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.trim().startsWith('```')) code.push(lines[i++]!);
      i++; // closing fence (or end of text)
      out.push(`<pre><code>${escapeHtml(code.join('\n'))}</code></pre>`);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading !== null) {
      const level = Math.min(6, heading[1]!.length + 2);
      out.push(`<h${level}>${renderInline(heading[2]!.trim(), true)}</h${level}>`);
      i++;
      continue;
    }
    if (isTableRow(line) && i + 1 < lines.length && isTableRule(lines[i + 1]!)) {
      const headers = splitTableRow(line);
      const align = splitTableRow(lines[i + 1]!).map(
        (spec): ColumnAlign => (/-:$/.test(spec) ? 'right' : 'left'),
      );
      const rows: string[][] = [];
      i += 2;
      while (i < lines.length && isTableRow(lines[i]!)) {
        const cells = splitTableRow(lines[i++]!);
        rows.push(headers.map((_, c) => cells[c] ?? ''));
      }
      out.push(
        tableHtmlFromMarkdown(
          headers,
          rows,
          headers.map((_, c) => align[c] ?? 'left'),
        ),
      );
      continue;
    }
    const listItem = /^\s*(?:[-*]|(\d+)\.)\s+/;
    const first = listItem.exec(line);
    if (first !== null) {
      const ordered = first[1] !== undefined;
      const items: string[] = [];
      while (i < lines.length) {
        const match = listItem.exec(lines[i]!);
        if (match === null || (match[1] !== undefined) !== ordered) break;
        items.push(`<li>${renderInline(lines[i]!.slice(match[0].length).trim(), true)}</li>`);
        i++;
      }
      const tag = ordered ? 'ol' : 'ul';
      out.push(`<${tag}>\n${items.join('\n')}\n</${tag}>`);
      continue;
    }
    const paragraph: string[] = [line.trim()];
    i++;
    while (i < lines.length && lines[i]!.trim() !== '' && !startsBlock(lines, i))
      paragraph.push(lines[i++]!.trim());
    out.push(`<p>${renderInline(paragraph.join(' '), true)}</p>`);
  }
  return out.join('\n');
}

function sectionHtml(section: ReportSection): string {
  const parts = ['<section>', `<h2>${escapeHtml(section.heading)}</h2>`];
  if (section.markdown !== undefined) parts.push(markdownToHtml(section.markdown));
  if (section.svg !== undefined) parts.push(`<figure>${inlineSvg(section.svg)}</figure>`);
  const tables =
    section.table === undefined ? [] : Array.isArray(section.table) ? section.table : [section.table];
  for (const table of tables) parts.push(tableHtml(table));
  parts.push('</section>');
  return parts.join('\n');
}

/** The <svg> element of an SVG document (prolog and doctype dropped so it can sit inside HTML). */
function inlineSvg(svg: string): string {
  const start = svg.search(/<svg[\s>]/i);
  if (start < 0) throw usageError('section svg is not an SVG document (no <svg> element)');
  // The SVG is inlined verbatim; refuse active content rather than trying to sanitise it.
  if (/<script|\bon[a-z]+\s*=|javascript:/i.test(svg))
    throw usageError('section svg must not contain scripts');
  return svg.slice(start).trim();
}

function tableHtmlFromMarkdown(headers: string[], rows: string[][], align: ColumnAlign[]): string {
  // Cells from Markdown keep their inline formatting, so they go through renderInline with markup on.
  const cell = (tag: 'th' | 'td', text: string, i: number): string =>
    `<${tag} class="${align[i] ?? 'left'}">${renderInline(text, true)}</${tag}>`;
  const lines = [
    '<table>',
    `<thead><tr>${headers.map((h, i) => cell('th', h, i)).join('')}</tr></thead>`,
    '<tbody>',
  ];
  for (const row of rows) lines.push(`<tr>${row.map((c, i) => cell('td', c, i)).join('')}</tr>`);
  lines.push('</tbody>', '</table>');
  return lines.join('\n');
}

function startsBlock(lines: string[], i: number): boolean {
  const line = lines[i]!;
  return (
    /^```/.test(line.trim()) ||
    /^#{1,6}\s/.test(line) ||
    /^\s*(?:[-*]|\d+\.)\s+/.test(line) ||
    (isTableRow(line) && i + 1 < lines.length && isTableRule(lines[i + 1]!))
  );
}

function isTableRow(line: string): boolean {
  return line.trim().startsWith('|');
}

function isTableRule(line: string): boolean {
  return /^\s*\|(\s*:?-+:?\s*\|)+\s*$/.test(line);
}

/** Cells of `| a | b\|c |`: split on unescaped pipes; `\|` and `\\` are unescaped. */
function splitTableRow(line: string): string[] {
  let body = line.trim();
  if (body.startsWith('|')) body = body.slice(1);
  if (body.endsWith('|') && !body.endsWith('\\|')) body = body.slice(0, -1);
  const cells: string[] = [];
  let current = '';
  for (let k = 0; k < body.length; k++) {
    const ch = body[k]!;
    if (ch === '\\' && k + 1 < body.length && (body[k + 1] === '|' || body[k + 1] === '\\')) {
      current += body[++k]!;
    } else if (ch === '|') {
      cells.push(current.trim());
      current = '';
    } else {
      current += ch;
    }
  }
  cells.push(current.trim());
  return cells;
}

/** Escapes text; with markup on, also renders `code`, **bold** and *em* (code spans are left literal). */
function renderInline(text: string, markup: boolean): string {
  if (!markup) return escapeHtml(text);
  return text
    .split(/(`[^`]+`)/)
    .map((piece) => {
      if (piece.length > 1 && piece.startsWith('`') && piece.endsWith('`')) {
        return `<code>${escapeHtml(piece.slice(1, -1))}</code>`;
      }
      return escapeHtml(piece)
        .replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>')
        .replace(/(^|[^*])\*([^*\s][^*]*?)\*(?!\*)/g, '$1<em>$2</em>');
    })
    .join('');
}
