/**
 * `lake stats` and `lake synth` through commander, as the CLI entry wires them: output on stdout, usage
 * errors as LakeError('LAKE_E_USAGE'), parse errors as TraceParseError.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { registerStats } from '../../src/cli/stats.js';
import { registerSynth } from '../../src/cli/synth.js';
import { TraceParseError } from '../../src/errors.js';
import { readTraceAll } from '../../src/trace/read.js';
import type { TraceStats } from '../../src/trace/stats.js';
import { synthesize, synthesizeMix } from '../../src/trace/synth.js';
import { runCommands } from '../helpers/cli.js';
import { fixturePath } from '../helpers/fixtures.js';

const fixture = fixturePath('traces/flashnet-trovi-tencent-nvme/tencent.cut.per_50k.rw_60_40.490.trace');

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lake-trace-cli-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Run `lake ARGS` with stats and synth registered; returns what it wrote to stdout. */
async function lake(...args: string[]): Promise<string> {
  return runCommands([registerStats, registerSynth], args);
}

describe('lake stats', () => {
  test('--json prints the TraceStats object', async () => {
    const stats = JSON.parse(await lake('stats', fixture, '--json')) as TraceStats;
    assert.equal(stats.format, 'heimdall');
    assert.equal(stats.reads.count, 30012);
    assert.equal(stats.writes.count, 19988);
    assert.equal(stats.reads.latencyUs?.exact, true);
  });

  test('prints Markdown tables by default', async () => {
    const text = await lake('stats', fixture);
    // The heading names the file as given (the fixture is stored gzip-compressed).
    assert.ok(text.split('\n').includes(`# ${fixture}`), text.split('\n')[0]);
    assert.match(text, /^\| heimdall +\| +50000 \| +30012 \| +19988 \|/m);
    assert.match(text, /^## Latency \(us\)$/m);
    assert.match(text, /^\| read +\| +30012 \|/m);
  });

  test('--skip-bad reports the skipped lines; without it the first bad line throws', async () => {
    const path = join(scratch, 'bad.trace');
    await writeFile(path, '0.5 0 4096 8192 1\n0.7 0 4096 8192 x\n0.9 0 4096 8192 0\n');
    await assert.rejects(
      lake('stats', path),
      (error: unknown) => error instanceof TraceParseError && error.line === 2,
    );
    const text = await lake('stats', path, '--skip-bad');
    assert.match(text, /## Skipped lines: 1/);
    assert.match(text, /bad\.trace:2: field rw: unknown op "x"/);
    assert.match(text, /No latency/);
  });

  test('--format overrides detection and is checked', async () => {
    await assert.rejects(lake('stats', fixture, '--format', 'msr'), TraceParseError);
    await assert.rejects(lake('stats', fixture, '--format', 'csv'), {
      code: 'LAKE_E_USAGE',
      message: /--format/,
    });
  });
});

describe('lake synth', () => {
  test('writes the generator output in LinnOS input format', async () => {
    const out = join(scratch, 'azure.trace');
    const said = await lake(
      'synth',
      '--profile',
      'azure',
      '--duration',
      '0.5',
      '--seed',
      '4',
      '--out',
      out,
      '--device',
      '1',
    );
    const expected = [...synthesize('azure', { durationMs: 500, seed: 4, device: 1 })];
    assert.equal(said, `wrote ${expected.length} I/Os (azure, 0.5 s, seed 4) to ${out}\n`);
    const back = await readTraceAll(out);
    assert.equal(back.format, 'linnos-input');
    assert.deepEqual(back.records, expected);
  });

  test('mixed runs one profile per device; --write-bursts and --rate-scale reach the generator', async () => {
    const out = join(scratch, 'mixed.trace');
    await lake(
      'synth',
      '--profile',
      'mixed',
      '--duration',
      '0.2',
      '--seed',
      '1',
      '--out',
      out,
      '--write-bursts',
      '--rate-scale',
      '2',
    );
    const options = { durationMs: 200, seed: 1, device: 0, rateScale: 2, writeBursts: true };
    const expected = [...synthesizeMix(['azure', 'bing-i', 'cosmos'], options)];
    assert.deepEqual((await readTraceAll(out)).records, expected);
  });

  for (const [args, message] of [
    [['--duration', '1', '--seed', '1', '--out', 'x'], /--profile is required/],
    [['--profile', 'ssd', '--duration', '1', '--seed', '1', '--out', 'x'], /--profile must be/],
    [
      ['--profile', 'azure', '--duration', 'ten', '--seed', '1', '--out', 'x'],
      /--duration must be a positive number/,
    ],
    [['--profile', 'azure', '--duration', '0', '--seed', '1', '--out', 'x'], /--duration/],
    [
      ['--profile', 'azure', '--duration', '1', '--seed', '-3', '--out', 'x'],
      /--seed must be a non-negative integer/,
    ],
    [['--profile', 'azure', '--duration', '1', '--seed', '1'], /--out is required/],
    [['--profile', 'azure', '--duration', '1', '--seed', '1', '--out', 'x', '--device', '1.5'], /--device/],
  ] as const) {
    test(`usage error: ${message.source}`, async () => {
      await assert.rejects(lake('synth', ...args), { code: 'LAKE_E_USAGE', message });
    });
  }
});
