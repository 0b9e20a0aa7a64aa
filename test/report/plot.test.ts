import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cdfSpec, renderSvg, svgToPng } from '../../src/report/plot.js';
import { samplePolicies } from './policies.js';

/** The <path> elements drawn by line marks (one per series per panel); legend symbols and axes are not lines. */
function linePaths(svg: string): string[] {
  const paths: string[] = [];
  for (const group of svg.matchAll(/<g class="mark-line role-mark[^"]*"[^>]*>(.*?)<\/g>/g)) {
    for (const path of group[1]!.matchAll(/<path [^>]*>/g)) paths.push(path[0]);
  }
  return paths;
}

/** Text of every <text> element. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((match) => match[1]!);
}

describe('cdfSpec and renderSvg', () => {
  const policies = samplePolicies();

  test('the CDF view draws one line per policy on a log latency axis', async () => {
    const svg = await renderSvg(cdfSpec(policies, { view: 'cdf', title: 'Replay of test trace' }));
    assert.ok(svg.startsWith('<svg'));
    assert.equal(linePaths(svg).length, policies.length);
    const labels = texts(svg);
    // Log-scale ticks: decades (with 2x and 5x multiples over a narrow span), grouped thousands.
    for (const tick of ['100', '1,000', '10,000'])
      assert.ok(labels.includes(tick), `tick ${tick} in ${labels}`);
    for (const name of policies.map((policy) => policy.name))
      assert.ok(labels.includes(name), `legend ${name}`);
    assert.ok(labels.includes('Replay of test trace'));
    assert.ok(labels.some((label) => label.startsWith('read latency (us')));
  });

  test('the default figure shows the CDF and the log-scale tail side by side', async () => {
    const spec = cdfSpec(policies);
    const svg = await renderSvg(spec);
    assert.equal(linePaths(svg).length, 2 * policies.length);
    const labels = texts(svg);
    for (const tick of ['1', '0.1', '0.01', '0.001', '0.0001'])
      assert.ok(labels.includes(tick), `tail tick ${tick}`);
    for (const guide of ['p99', 'p99.9', 'p99.99']) assert.ok(labels.includes(guide), `guide ${guide}`);
    assert.ok(labels.some((label) => label.includes('1 - CDF')));
  });

  test('escapes policy names in the SVG', async () => {
    const [first] = samplePolicies();
    const svg = await renderSvg(cdfSpec([{ name: 'a<b & "c"', cdf: first!.cdf }], { view: 'ccdf' }));
    assert.ok(!svg.includes('a<b'));
    assert.ok(svg.includes('a&lt;b &amp;'));
  });

  test('needs at least one policy', () => {
    assert.throws(() => cdfSpec([]), /at least one policy/);
  });
});

describe('svgToPng', () => {
  test('rasterises to a non-empty PNG at the requested scale', async () => {
    const svg = await renderSvg(cdfSpec(samplePolicies(), { view: 'ccdf', width: 200, height: 150 }));
    const width = Number(/width="(\d+)"/.exec(svg)![1]);
    const png = svgToPng(svg, { scale: 1.5 });
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.ok(png.length > 5000, `${png.length} bytes`);
    // IHDR: width is the big-endian uint32 at byte 16.
    assert.equal(png.readUInt32BE(16), Math.round(width * 1.5));
  });

  test('rejects a bad scale and a non-SVG input', () => {
    assert.throws(() => svgToPng('<svg xmlns="http://www.w3.org/2000/svg"/>', { scale: 0 }), /scale/);
    assert.throws(() => svgToPng('not svg'), /PNG failed/);
  });
});
