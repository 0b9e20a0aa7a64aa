import { Resvg } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { LakeError, usageError } from '../errors.js';
import type { CdfPoint, PolicyReport } from './types.js';

/**
 * 'cdf': fraction of reads <= x on a linear y (the body of the distribution).
 * 'ccdf': fraction of reads > x on a log y, where p99, p99.9 and p99.99 are a decade apart (the tail).
 * 'both': the two side by side (default: the tail is what the policies are about, the body gives context).
 */
export type CdfView = 'both' | 'cdf' | 'ccdf';

export interface CdfSpecOptions {
  view?: CdfView;
  title?: string;
  /** Width and height of each panel in pixels. */
  width?: number;
  height?: number;
}

export type PolicyCdf = Pick<PolicyReport, 'name' | 'cdf'>;

/**
 * Fonts named in the figure, in order: families commonly installed on Linux, macOS and Windows, then the
 * generic one. resvg (PNG) and browsers (SVG) take the first one present.
 */
const FONT_FAMILY = 'DejaVu Sans, Liberation Sans, Helvetica, Arial, sans-serif';
const TAIL_GUIDES: ReadonlyArray<{ tail: number; label: string }> = [
  { tail: 1e-2, label: 'p99' },
  { tail: 1e-3, label: 'p99.9' },
  { tail: 1e-4, label: 'p99.99' },
];

/** Vega-Lite's own types for the pieces, taken from TopLevelSpec (its sub-types are not exported). */
type Panel = Extract<TopLevelSpec, { hconcat: unknown }>['hconcat'][number];
type UnitPanel = Extract<Panel, { mark: unknown }>;
type Encoding = NonNullable<UnitPanel['encoding']>;
type ColorDef = NonNullable<Encoding['color']>;
type PositionDef = NonNullable<Encoding['x']>;
type TooltipDef = NonNullable<Encoding['tooltip']>;

interface PlotRow {
  policy: string;
  latencyUs: number;
  fraction: number;
  /** 1 - fraction: the fraction of reads slower than latencyUs. */
  tail: number;
}

/**
 * A Vega-Lite spec of the read-latency CDF, one coloured line per policy (in the order given), latency
 * on a log x axis. Points with zero latency are left out (no place on a log axis), as are the CCDF's
 * points with nothing slower.
 */
export function cdfSpec(policies: PolicyCdf[], options: CdfSpecOptions = {}): TopLevelSpec {
  if (policies.length === 0) throw usageError('cdfSpec needs at least one policy');
  const view = options.view ?? 'both';
  const width = options.width ?? 420;
  const height = options.height ?? 300;
  const rows = policies.flatMap((policy) => toRows(policy.name, policy.cdf));
  const names = policies.map((policy) => policy.name);
  const xTicks = logTicks(rows.map((row) => row.latencyUs));
  const color: ColorDef = {
    field: 'policy',
    type: 'nominal',
    scale: { domain: names },
    legend: { title: 'policy', orient: 'right' },
  };
  const x: PositionDef = {
    field: 'latencyUs',
    type: 'quantitative',
    title: 'read latency (us, log scale)',
    scale: { type: 'log', domain: xTicks.domain, nice: false },
    axis: { values: xTicks.values, format: ',~g', grid: true },
  };
  const tooltip: TooltipDef = [
    { field: 'policy', type: 'nominal' },
    { field: 'latencyUs', type: 'quantitative', title: 'latency (us)', format: ',.1f' },
    { field: 'fraction', type: 'quantitative', format: '.5f' },
  ];

  const cdfPanel: Panel = {
    width,
    height,
    title: 'CDF',
    mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
    encoding: {
      x,
      y: {
        field: 'fraction',
        type: 'quantitative',
        title: 'fraction of reads <= latency',
        scale: { domain: [0, 1] },
      },
      color,
      tooltip,
    },
  };

  let minTail = 1;
  for (const row of rows) if (row.tail > 0 && row.tail < minTail) minTail = row.tail;
  const tailFloor = 10 ** Math.min(-1, Math.floor(Math.log10(minTail)));
  const tailValues: number[] = [];
  for (let t = 1; t >= tailFloor * 0.999; t /= 10) tailValues.push(t);
  const guides = TAIL_GUIDES.filter((guide) => guide.tail >= tailFloor);
  const ccdfPanel: Panel = {
    width,
    height,
    title: 'tail: 1 - CDF (log scale)',
    layer: [
      {
        transform: [{ filter: 'datum.tail > 0' }],
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
        encoding: {
          x,
          y: {
            field: 'tail',
            type: 'quantitative',
            title: 'fraction of reads slower (1 - CDF)',
            scale: { type: 'log', domain: [tailFloor, 1], nice: false },
            axis: { values: tailValues, format: '~g' },
          },
          color,
          tooltip,
        },
      },
      {
        data: { values: guides },
        mark: { type: 'rule', strokeDash: [4, 4], color: '#888', strokeWidth: 1 },
        encoding: { y: { field: 'tail', type: 'quantitative' } },
      },
      {
        data: { values: guides },
        mark: { type: 'text', align: 'right', baseline: 'bottom', dx: -2, dy: -2, color: '#555', x: 'width' },
        encoding: { y: { field: 'tail', type: 'quantitative' }, text: { field: 'label', type: 'nominal' } },
      },
    ],
  };

  const panels = view === 'cdf' ? [cdfPanel] : view === 'ccdf' ? [ccdfPanel] : [cdfPanel, ccdfPanel];
  // Always a concat (of one or two panels), so one shape of spec serves every view.
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: options.title ?? 'Read latency by policy', anchor: 'middle' },
    data: { values: rows },
    config: { font: FONT_FAMILY, view: { stroke: '#ccc' } },
    background: 'white',
    hconcat: panels,
    resolve: { scale: { color: 'shared' } },
  };
  return spec;
}

/** Renders a Vega-Lite spec to an SVG string, headless (vega's 'none' renderer; no canvas, no network). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  let view: View | undefined;
  try {
    view = new View(parse(compile(spec).spec), { renderer: 'none' });
    return await view.toSVG();
  } catch (cause) {
    throw new LakeError('LAKE_E_INTERNAL', `rendering the plot to SVG failed: ${messageOf(cause)}`, {
      cause,
    });
  } finally {
    view?.finalize();
  }
}

export interface PngOptions {
  /** Pixels per SVG unit (default 2, for a sharp figure on high-density screens and in documents). */
  scale?: number;
}

/**
 * Rasterises an SVG to PNG with resvg, using the system's fonts (text follows FONT_FAMILY; on a
 * machine with no fonts at all the text is left out, the lines still render). Nothing is downloaded.
 */
export function svgToPng(svg: string, options: PngOptions = {}): Buffer {
  const scale = options.scale ?? 2;
  if (!(scale > 0 && scale <= 16)) throw usageError(`options.scale must be in (0, 16], got ${scale}`);
  try {
    const resvg = new Resvg(svg, {
      background: 'white',
      fitTo: { mode: 'zoom', value: scale },
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    });
    return resvg.render().asPng();
  } catch (cause) {
    throw new LakeError('LAKE_E_INTERNAL', `rendering the SVG to PNG failed: ${messageOf(cause)}`, { cause });
  }
}

/**
 * The plotted rows of one policy: its CDF points, led by a fraction-0 point at the first latency so the
 * step line rises from the axis (and a policy whose reads all fell in one bucket still shows a line).
 */
function toRows(policy: string, cdf: CdfPoint[]): PlotRow[] {
  const rows: PlotRow[] = [];
  for (const point of cdf) {
    if (!(point.latencyUs > 0)) continue;
    if (rows.length === 0) rows.push({ policy, latencyUs: point.latencyUs, fraction: 0, tail: 1 });
    rows.push({ policy, latencyUs: point.latencyUs, fraction: point.fraction, tail: 1 - point.fraction });
  }
  return rows;
}

/**
 * A log-axis domain padded out to whole decades and its tick values: the decades, plus 2x and 5x
 * when the data spans fewer than three decades (otherwise the axis would carry only one or two labels).
 */
function logTicks(latencies: number[]): { domain: [number, number]; values: number[] } {
  if (latencies.length === 0) return { domain: [1, 1000], values: [1, 10, 100, 1000] };
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (const latency of latencies) {
    if (latency < min) min = latency;
    if (latency > max) max = latency;
  }
  const lo = Math.floor(Math.log10(min));
  let hi = Math.ceil(Math.log10(max));
  if (hi <= lo) hi = lo + 1;
  const values: number[] = [];
  const multiples = hi - lo < 3 ? [1, 2, 5] : [1];
  for (let e = lo; e <= hi; e++) {
    for (const m of multiples) {
      const v = m * 10 ** e;
      if (v <= 10 ** hi) values.push(roundDecimal(v));
    }
  }
  return { domain: [roundDecimal(10 ** lo), roundDecimal(10 ** hi)], values };
}

/** 10 ** -3 is 0.0010000000000000002; labels should read 0.001. */
function roundDecimal(v: number): number {
  return Number(v.toPrecision(12));
}

function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
