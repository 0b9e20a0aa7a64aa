import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runLake } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'lake-simulate-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const good = '0.000 0 4096 4096 1\n0.100 0 8192 4096 0\n0.200 0 0 8192 1\n';

const malformed: Array<[string, string, string]> = [
  ['bad number', `${good}0.300 0 4096 4x96 1\n`, 'size_B'],
  // Whitespace-separated: a missing value shortens the line, so the first absent column is named.
  ['missing field', `${good}0.300 0 4096  1\n`, 'rw'],
  ['unknown op', `${good}0.300 0 4096 4096 7\n`, 'rw'],
  ['negative size', `${good}0.300 0 4096 -4096 1\n`, 'size_B'],
  ['truncated line', `${good}0.300 0 4096\n`, 'size_B'],
];

describe('lake simulate', () => {
  for (const [name, text, field] of malformed) {
    test(`a trace with a ${name} is refused with file:line:field and exit 2`, () => {
      const path = join(dir, `${name.replace(/ /g, '-')}.trace`);
      writeFileSync(path, text);
      for (const args of [
        ['simulate', '--trace', path, '--format', 'linnos-input', '--policies', 'baseline'],
        ['stats', path, '--format', 'linnos-input'],
      ]) {
        const r = runLake(args);
        assert.equal(r.status, 2, `${args[0]}: ${r.stderr}`);
        assert.match(
          r.stderr,
          new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: field ${field}`),
        );
      }
    });
  }

  test('--skip-bad replays the good lines and counts the bad one', () => {
    const path = join(dir, 'skip.trace');
    writeFileSync(path, `${good}0.300 0 4096 4x96 1\n`);
    const r = runLake([
      'simulate',
      '--trace',
      path,
      '--format',
      'linnos-input',
      '--skip-bad',
      '--policies',
      'baseline',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { policies: { baseline: { read: { count: number } } } };
    assert.equal(json.policies.baseline.read.count, 2);
  });

  test('--arrivals submit replays a recorded trace at its submission times', () => {
    const path = join(dir, 'recorded.trace');
    // Heimdall/FlashNet output: ts_ms, latency_us, rw, size, offset, submit_ms, size_after_replay.
    writeFileSync(path, '0,900,1,4096,0,0.0,4096\n0,800,1,4096,4096,0.5,4096\n0,700,0,4096,8192,1.0,4096\n');
    const r = runLake([
      'simulate',
      '--trace',
      path,
      '--arrivals',
      'submit',
      '--policies',
      'baseline',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(r.stdout) as {
      params: { workload: string };
      policies: { baseline: { read: { count: number } } };
    };
    assert.equal(json.policies.baseline.read.count, 2);
    assert.match(json.params.workload, /recorded submission times/);
    const bad = runLake(['simulate', '--trace', path, '--arrivals', 'wallclock']);
    assert.equal(bad.status, 64);
  });

  test('an unknown policy is a usage error', () => {
    const r = runLake(['simulate', '--policies', 'baseline,fastest', '--duration', '0.1']);
    assert.equal(r.status, 64);
    assert.match(r.stderr, /unknown policy "fastest"/);
  });

  test('the same seed gives identical JSON; tails are 10x the median and hedging and the greedy oracle cut p99.9', () => {
    const args = ['simulate', '--duration', '2', '--seed', '3', '--json'];
    const first = runLake(args);
    assert.equal(first.status, 0, first.stderr);
    const second = runLake(args);
    assert.equal(second.stdout, first.stdout);
    const json = JSON.parse(first.stdout) as {
      policies: Record<string, { read: { p50Us: number; p999Us: number; count: number }; extraIos: number }>;
    };
    const baseline = json.policies['baseline']!.read;
    assert.ok(baseline.count > 1000);
    assert.ok(baseline.p999Us >= 10 * baseline.p50Us, `p99.9 ${baseline.p999Us} vs p50 ${baseline.p50Us}`);
    assert.ok(json.policies['hedging95']!.read.p999Us < baseline.p999Us);
    assert.ok(json.policies['greedy-oracle']!.read.p999Us < baseline.p999Us);
    assert.ok(json.policies['hedging95']!.extraIos > 0);
  });

  test('--out writes the report files', () => {
    const out = join(dir, 'out');
    const r = runLake([
      'simulate',
      '--duration',
      '0.5',
      '--policies',
      'baseline,greedy-oracle',
      '--out',
      out,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(html, /<svg/);
    assert.equal(readFileSync(join(out, 'cdf.png')).subarray(1, 4).toString(), 'PNG');
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { policies: object };
    assert.deepEqual(Object.keys(json.policies), ['baseline', 'greedy-oracle']);
  });
});
