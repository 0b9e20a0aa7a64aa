import type { ReplayResult } from '../array/engine.js';
import { type PolicyRun, policyReport } from '../array/run.js';
import { type ReportParams, type ReportSection, reportHtml } from '../report/html.js';
import { cdfSpec, renderSvg, svgToPng } from '../report/plot.js';
import { latencyTables, type Table, tableToMarkdown } from '../report/table.js';
import type { LatencySummary, PolicyReport } from '../report/types.js';
import { writeReportFiles } from '../report/write.js';

/** The JSON of one policy: the foundation's shape (`read`, `extraIos`) plus what explains it. */
export interface PolicyJson {
  read: LatencySummary;
  write: LatencySummary;
  extraIos: number;
  revokes: number;
  hedgedReads: number;
  failedOver: number;
  policyFaults: number;
  hedgeAfterUs?: number;
  readByDevice: LatencySummary[];
  devices: unknown[];
}

export function policyJson(
  run: PolicyRun,
  report: PolicyReport,
  describeDevice: (run: PolicyRun, i: number) => unknown,
): PolicyJson {
  const r: ReplayResult = run.result;
  return {
    read: report.read,
    write: report.write,
    extraIos: r.extraIos,
    revokes: r.revokes,
    hedgedReads: r.hedgedReads,
    failedOver: r.failedOver,
    policyFaults: r.policyFaults,
    ...(run.policy.hedgeAfterUs !== undefined ? { hedgeAfterUs: round3(run.policy.hedgeAfterUs) } : {}),
    readByDevice: report.devices,
    devices: run.devices.map((_, i) => describeDevice(run, i)),
  };
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export interface RunReportInput {
  title: string;
  subtitle?: string;
  params: ReportParams;
  runs: PolicyRun[];
  /** The JSON document written to results.json and printed with --json. */
  json: Record<string, unknown>;
  /** Markdown printed after the latency tables, and sections added to the HTML report. */
  extraMarkdown?: string;
  extraSections?: ReportSection[];
  extraTables?: Table[];
  outDir?: string;
  jsonMode: boolean;
}

/** Prints the tables (or the JSON) and writes results.json, cdf.svg, cdf.png and report.html. */
export async function emitRunReport(input: RunReportInput): Promise<string[]> {
  const reports = input.runs.map(policyReport);
  const tables = latencyTables(reports);
  const text = [
    ...tables.map(tableToMarkdown),
    ...(input.extraTables ?? []).map(tableToMarkdown),
    ...(input.extraMarkdown ? [input.extraMarkdown] : []),
  ].join('\n\n');
  let written: string[] = [];
  if (input.outDir !== undefined) {
    const svg = await renderSvg(cdfSpec(reports, { title: input.title }));
    const png = svgToPng(svg);
    const html = reportHtml({
      title: input.title,
      ...(input.subtitle !== undefined ? { subtitle: input.subtitle } : {}),
      params: input.params,
      sections: [
        { heading: 'Read latency', svg, table: [...tables, ...(input.extraTables ?? [])] },
        ...(input.extraSections ?? []),
      ],
      json: input.json,
    });
    written = await writeReportFiles(input.outDir, { json: input.json, svg, png, html });
  }
  if (input.jsonMode) process.stdout.write(`${JSON.stringify(input.json, null, 2)}\n`);
  else {
    process.stdout.write(`${text}\n`);
    if (written.length > 0) process.stdout.write(`\nwrote ${written.join(', ')}\n`);
  }
  return written;
}
