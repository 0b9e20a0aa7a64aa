export { countsIndex, LatencyRecorder } from './histogram.js';
export type { ReportHtmlInput, ReportParams, ReportSection } from './html.js';
export { escapeHtml, markdownToHtml, reportHtml, tableHtml } from './html.js';
export type { CdfSpecOptions, CdfView, PngOptions, PolicyCdf } from './plot.js';
export { cdfSpec, renderSvg, svgToPng } from './plot.js';
export type { Progress, ProgressOptions } from './progress.js';
export { createProgress } from './progress.js';
export type { ColumnAlign, LatencyTableOptions, Table } from './table.js';
export {
  formatCount,
  formatRatio,
  formatUs,
  latencyTable,
  latencyTables,
  markdownTable,
  tableToMarkdown,
} from './table.js';
export type { CdfPoint, LatencySummary, PolicyReport } from './types.js';
export type { PolicyFigures, PolicyWarning, PolicyWarningKind } from './warnings.js';
export { PATHOLOGY_LIMITS, policyWarnings, warningLines } from './warnings.js';
export type { ReportFiles } from './write.js';
export { REPORT_FILE_NAMES, writeFileAtomic, writeReportFiles } from './write.js';
