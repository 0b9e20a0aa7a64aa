import type { ReplayResult } from '../array/engine.js';
import { type PolicyRun, policyReport } from '../array/run.js';
import { type FlashCounters, SimulatedSsd, slowCauses } from '../flash/index.js';
import type { LinnosPolicy } from '../linnos/policy.js';
import { type ReportParams, type ReportSection, reportHtml } from '../report/html.js';
import { cdfSpec, renderSvg, svgToPng } from '../report/plot.js';
import { latencyTables, markdownTable, type Table, tableToMarkdown } from '../report/table.js';
import type { LatencySummary, PolicyReport } from '../report/types.js';
import { type PolicyWarning, policyWarnings, warningLines } from '../report/warnings.js';
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
  firstPolicyFault?: string;
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
    ...(r.firstPolicyFault !== undefined ? { firstPolicyFault: r.firstPolicyFault } : {}),
    ...(run.policy.hedgeAfterUs !== undefined ? { hedgeAfterUs: round3(run.policy.hedgeAfterUs) } : {}),
    readByDevice: report.devices,
    devices: run.devices.map((_, i) => describeDevice(run, i)),
  };
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** --retrain: per LinnOS policy and device, what the drift watch saw and the retrains that went live. */
export function retrainingJson(policies: readonly LinnosPolicy[]): Record<string, unknown> {
  return Object.fromEntries(
    policies.map((p) => [
      p.name,
      (p.online?.report() ?? []).map((d) => ({
        device: d.device,
        resolved: d.resolved,
        accuracy: round3(d.accuracy),
        audits: d.audits,
        retrains: d.retrains.map((r) => ({
          reason: r.reason,
          triggeredAtUs: round3(r.triggeredAtUs),
          swappedAtUs: round3(r.swappedAtUs),
          rollingAccuracy: round3(r.rollingAccuracy),
          thresholdUs: round3(r.thresholdUs),
          rows: r.rows,
        })),
        failedRetrains: d.failedRetrains,
        rejectedRetrains: d.rejectedRetrains,
        ...(d.firstRetrainError !== undefined ? { firstRetrainError: d.firstRetrainError } : {}),
      })),
    ]),
  );
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

/** Policies that behaved pathologically in these runs (see src/report/warnings.ts). */
export function runWarnings(runs: readonly PolicyRun[]): PolicyWarning[] {
  return policyWarnings(
    runs.map((run) => ({
      name: run.spec.name,
      baseline: run.spec.kind === 'baseline',
      reads: run.read.count,
      meanReadUs: run.read.avgUs,
      revokes: run.result.revokes,
      extraIos: run.result.extraIos,
      policyFaults: run.result.policyFaults,
      ...(run.result.firstPolicyFault !== undefined ? { firstPolicyFault: run.result.firstPolicyFault } : {}),
    })),
  );
}

/**
 * Prints the tables (or the JSON) and writes results.json, cdf.svg, cdf.png and report.html. Warnings about
 * pathological policies go under the tables, into the HTML, and into the JSON as `policyWarnings`.
 */
export async function emitRunReport(input: RunReportInput): Promise<string[]> {
  const reports = input.runs.map(policyReport);
  const tables = latencyTables(reports);
  const warnings = runWarnings(input.runs);
  input.json.policyWarnings = warnings.map((w) => ({ ...w, value: round3(w.value) }));
  const warningText = warnings.length > 0 ? warningLines(warnings).join('\n') : undefined;
  const text = [
    ...tables.map(tableToMarkdown),
    ...(warningText !== undefined ? [warningText] : []),
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
        ...(warnings.length > 0
          ? [
              {
                heading: 'Warnings',
                markdown: warnings.map((w) => `- **${w.policy}**: ${w.message}`).join('\n'),
              },
            ]
          : []),
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

function countersOf(run: PolicyRun, i: number): FlashCounters | undefined {
  const device = run.devices[i];
  return device instanceof SimulatedSsd ? device.counters() : undefined;
}

/** Per device: what its flash did, for the JSON. */
export function describeDevice(run: PolicyRun, i: number): unknown {
  const device = run.devices[i]!;
  return { name: device.name, counters: countersOf(run, i) ?? null };
}

/** Why reads were slow, per policy: the share of slow reads by what they waited behind (the flash counters). */
export function causesMarkdown(runs: readonly PolicyRun[]): string {
  const causes = slowCauses.filter((c) => c !== 'none');
  const rows: string[][] = [];
  let threshold = 0;
  for (const run of runs) {
    const total: Record<string, number> = {};
    let slow = 0;
    let gc = 0;
    let stalls = 0;
    let wa = 0;
    let n = 0;
    for (let i = 0; i < run.devices.length; i++) {
      const c = countersOf(run, i);
      if (c === undefined) continue;
      n++;
      slow += c.slowReads;
      threshold = c.slowReadThresholdUs;
      gc += c.gcRunsBackground + c.gcRunsForeground;
      stalls += c.writeStalls;
      wa += c.writeAmplification;
      for (const cause of slowCauses) total[cause] = (total[cause] ?? 0) + c.slowReadsByCause[cause];
    }
    if (n === 0) continue;
    const share = (cause: string) => (slow > 0 ? `${(((total[cause] ?? 0) / slow) * 100).toFixed(1)}%` : '-');
    rows.push([
      run.spec.name,
      String(slow),
      ...causes.map(share),
      share('none'),
      String(gc),
      String(stalls),
      (wa / n).toFixed(2),
    ]);
  }
  if (rows.length === 0) return '';
  return [
    '### Why reads were slow (flash counters, all devices)',
    '',
    `slow = device read latency above ${threshold} us; programs of write-buffer flushes count as flush`,
    '',
    markdownTable(
      [
        'policy',
        'slow reads',
        ...causes.map((c) => `behind ${c}`),
        'no wait',
        'GC runs',
        'write stalls',
        'write amp.',
      ],
      rows,
    ),
  ].join('\n');
}
