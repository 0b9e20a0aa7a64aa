import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { markdownToHtml, reportHtml } from '../../src/report/html.js';
import { cdfSpec, renderSvg } from '../../src/report/plot.js';
import { latencyTable, latencyTables } from '../../src/report/table.js';
import { samplePolicies } from './policies.js';

describe('reportHtml', async () => {
  const policies = samplePolicies();
  const svg = await renderSvg(cdfSpec(policies));
  const html = reportHtml({
    title: 'Replay <azure> & "friends"',
    subtitle: 'seed 1 <b>',
    sections: [
      { heading: 'Read latency', svg, table: latencyTables(policies) },
      { heading: 'Notes <i>', markdown: latencyTable(policies) },
    ],
    params: { command: 'lake replay', trace: 'a<b.trace', seed: 1, hedge: undefined },
    json: {
      policies: policies.map((policy) => ({ name: policy.name, p99: policy.read.p99Us })),
      note: '</pre><script>',
    },
  });

  test('is one self-contained document: no scripts, no external src or href', () => {
    assert.ok(html.startsWith('<!DOCTYPE html>'));
    assert.ok(html.trimEnd().endsWith('</html>'));
    assert.doesNotMatch(html, /(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /<link/i);
    assert.doesNotMatch(html, /@import|url\(/i);
    assert.match(html, /<style>/);
  });

  test('escapes text in the title, subtitle, headings, parameters and JSON', () => {
    assert.match(html, /<title>Replay &lt;azure&gt; &amp; &quot;friends&quot;<\/title>/);
    assert.match(html, /<h1>Replay &lt;azure&gt;/);
    assert.match(html, /seed 1 &lt;b&gt;/);
    assert.match(html, /<h2>Notes &lt;i&gt;<\/h2>/);
    assert.match(html, /<td class="left">a&lt;b\.trace<\/td>/);
    assert.match(html, /&lt;\/pre&gt;&lt;script&gt;/);
    assert.doesNotMatch(html, /hedge/, 'undefined parameters are left out');
  });

  test('embeds the SVG inline and renders tables as HTML tables', () => {
    assert.equal(html.match(/<svg[\s>]/g)?.length, 1);
    assert.match(html, /<figure><svg /);
    // Two structured tables and two from the Markdown section.
    assert.equal(html.match(/<table>/g)?.length, 2 + 2 + 1, 'plus the parameters table');
    assert.match(html, /<th class="right">p99\.99 \(us\)<\/th>/);
    assert.match(html, /<td class="left">linnos<\/td>/);
    assert.match(html, /<details open>\s*<summary>Run parameters<\/summary>/);
    assert.match(html, /<details>\s*<summary>Results \(JSON\)<\/summary>/);
    assert.match(html, /&quot;name&quot;: &quot;hedging p95&quot;/);
  });

  test('refuses an SVG with scripts', () => {
    assert.throws(
      () =>
        reportHtml({ title: 't', sections: [{ heading: 'h', svg: '<svg><script>alert(1)</script></svg>' }] }),
      /must not contain scripts/,
    );
    assert.throws(() => reportHtml({ title: 't', sections: [{ heading: 'h', svg: 'nope' }] }), /not an SVG/);
  });
});

describe('markdownToHtml', () => {
  test('paragraphs, headings, lists, code and inline markup', () => {
    const html = markdownToHtml(
      [
        '# Model quality',
        'The model is **good** and *fast*: `a<b`.',
        'Same paragraph.',
        '',
        '- one',
        '- two <x>',
        '1. first',
        '```',
        'x < y && z',
        '```',
      ].join('\n'),
    );
    assert.equal(
      html,
      [
        '<h3>Model quality</h3>',
        '<p>The model is <strong>good</strong> and <em>fast</em>: <code>a&lt;b</code>. Same paragraph.</p>',
        '<ul>\n<li>one</li>\n<li>two &lt;x&gt;</li>\n</ul>',
        '<ol>\n<li>first</li>\n</ol>',
        '<pre><code>x &lt; y &amp;&amp; z</code></pre>',
      ].join('\n'),
    );
  });

  test('GFM tables with alignment and escaped pipes', () => {
    const html = markdownToHtml('| name | F1 |\n|:---|---:|\n| a\\|b | 0.9 |\n| c |');
    assert.match(html, /<th class="left">name<\/th><th class="right">F1<\/th>/);
    assert.match(html, /<td class="left">a\|b<\/td><td class="right">0\.9<\/td>/);
    assert.match(html, /<td class="left">c<\/td><td class="right"><\/td>/);
  });

  test('a line starting with a pipe but no rule stays a paragraph', () => {
    assert.equal(markdownToHtml('| not a table'), '<p>| not a table</p>');
  });
});
