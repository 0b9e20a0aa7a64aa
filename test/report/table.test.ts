import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import {
  formatCount,
  formatRatio,
  formatUs,
  latencyTable,
  latencyTables,
  markdownTable,
} from '../../src/report/table.js';
import { policyReport, samplePolicies } from './policies.js';

describe('number formatting', () => {
  test('microseconds keep about three significant digits, large values are grouped', () => {
    assert.equal(formatUs(0), '0');
    assert.equal(formatUs(0.12345), '0.123');
    assert.equal(formatUs(4.567), '4.57');
    assert.equal(formatUs(78.94), '78.9');
    assert.equal(formatUs(99.96), '100');
    assert.equal(formatUs(1234.5), '1,235');
    assert.equal(formatUs(12_345_678), '12,345,678');
  });

  test('counts and ratios', () => {
    assert.equal(formatCount(1_000_000), '1,000,000');
    assert.equal(formatCount(999), '999');
    assert.equal(formatRatio(50, 200), '0.25x');
    assert.equal(formatRatio(0, 0), '1.00x');
    assert.equal(formatRatio(5, 0), '-');
  });
});

describe('markdownTable', () => {
  test('renders header, alignment rule and rows, escaping pipes', () => {
    const table = markdownTable(
      ['model', 'F1'],
      [
        ['a|b', '0.91'],
        ['c', '0.88'],
      ],
    );
    assert.equal(
      table,
      ['| model |   F1 |', '|:------|-----:|', '| a\\|b  | 0.91 |', '| c     | 0.88 |'].join('\n'),
    );
  });

  test('honours explicit alignment and rejects ragged rows', () => {
    assert.match(markdownTable(['a', 'b'], [], ['right', 'left']), /\|----:\|:----\|/);
    assert.throws(
      () => markdownTable(['a', 'b'], [['1']]),
      (e: unknown) => e instanceof LakeError && /row 0 has 1 cells/.test(e.message),
    );
    assert.throws(() => markdownTable([], []), LakeError);
  });
});

describe('latencyTable', () => {
  const policies = samplePolicies();

  test('one row per policy with every latency column, extra I/Os and revokes', () => {
    const [main] = latencyTables(policies);
    assert.ok(main !== undefined);
    assert.deepEqual(main.headers, [
      'policy',
      'count',
      'avg (us)',
      'p50 (us)',
      'p90 (us)',
      'p95 (us)',
      'p99 (us)',
      'p99.9 (us)',
      'p99.99 (us)',
      'max (us)',
      'extra I/Os',
      'revokes',
    ]);
    assert.deepEqual(
      main.rows.map((row) => row[0]),
      ['baseline', 'hedging p95', 'linnos'],
    );
    const hedging = main.rows[1]!;
    assert.equal(hedging[1], '20,000');
    assert.equal(hedging[3], formatUs(policies[1]!.read.p50Us));
    assert.equal(hedging[7], formatUs(policies[1]!.read.p999Us));
    assert.equal(hedging[10], '1,000');
    assert.equal(main.rows[2]![11], '700');
  });

  test('adds a ratio table against the baseline', () => {
    const tables = latencyTables(policies);
    assert.equal(tables.length, 2);
    const ratios = tables[1]!;
    assert.deepEqual(ratios.rows[0]!.slice(1, 9), Array(8).fill('1.00x'));
    const linnosP99 = policies[2]!.read.p99Us / policies[0]!.read.p99Us;
    assert.equal(ratios.rows[2]![5], `${linnosP99.toFixed(2)}x`);
    assert.ok(linnosP99 < 1, 'the fixture gives linnos a shorter tail');
    assert.equal(ratios.rows[1]![9], '5.0%');
  });

  test('no ratio table without a baseline; another baseline can be named', () => {
    const others = policies.filter((policy) => policy.name !== 'baseline');
    assert.equal(latencyTables(others).length, 1);
    const tables = latencyTables(others, { baseline: 'linnos' });
    assert.equal(tables.length, 2);
    assert.match(tables[1]!.title ?? '', /vs linnos/);
  });

  test('renders Markdown with titles, and can tabulate writes', () => {
    const text = latencyTable(policies);
    assert.match(text, /^\*\*read latency\*\*\n\n\| policy +\| +count \| avg \(us\)/);
    assert.match(text, /\*\*read latency vs baseline/);
    assert.equal(text.split('\n').filter((line) => /^\| linnos +\|/.test(line)).length, 2);
    const writes = latencyTable([policyReport('baseline', 40, 0.01)], { kind: 'write' });
    assert.match(writes, /\*\*write latency\*\*/);
    assert.match(writes, /\| baseline \| 5,000 \|/);
  });
});
