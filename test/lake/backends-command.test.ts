import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { backendsText } from '../../src/cli/backends.js';
import type { BackendsReport } from '../../src/lake/backends-report.js';
import { crossoverFrom } from '../../src/lake/policy/calibration.js';

const cli = fileURLToPath(new URL('./fixtures/backends-cli.ts', import.meta.url));

/** Runs `lake backends ...` in a child process. */
function lakeBackends(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('lake backends --json: every backend, usable or why not, and its crossover per model', () => {
  const r = lakeBackends(['--json', '--max-batch', '8', '--trials', '1']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'no progress output with --json');
  const report = JSON.parse(r.stdout) as BackendsReport;
  assert.deepEqual(
    report.backends.map((b) => b.name),
    ['cpu-wasm', 'webgpu', 'cuda'],
  );
  const cpu = report.backends[0]!;
  assert.equal(cpu.usable, true);
  assert.equal(cpu.reason, undefined);
  assert.deepEqual(Object.keys(cpu.crossovers), ['nn', 'nn+1', 'nn+2']);
  for (const gpu of report.backends.slice(1)) {
    if (gpu.usable) continue;
    assert.match(gpu.reason ?? '', /^not available here: /);
    assert.deepEqual(gpu.crossovers, { nn: null, 'nn+1': null, 'nn+2': null });
  }
  assert.deepEqual(
    report.calibration.map((t) => t.model),
    ['nn', 'nn+1', 'nn+2'],
  );
  assert.equal(report.maxBatch, 8);
  for (const table of report.calibration) {
    assert.deepEqual(table.batchSizes, [1, 2, 3, 4, 5, 6, 7, 8]);
    const timed = table.backends.find((b) => b.backend === 'cpu-wasm')!;
    const shape = table.model as 'nn' | 'nn+1' | 'nn+2';
    assert.equal(cpu.crossovers[shape], crossoverFrom(table.batchSizes, table.inlineUs, timed.usPerBatch));
  }
  assert.deepEqual(report.lakePaperThresholds, { nn: 8, 'nn+1': 4, 'nn+2': 4 });
});

test('the human view names each backend, why it is not usable, and a crossover or never', () => {
  const report: BackendsReport = {
    backends: [
      {
        name: 'cpu-wasm',
        kind: 'cpu',
        usable: true,
        capabilities: [],
        description: '',
        crossovers: { nn: null, 'nn+1': 4, 'nn+2': 2 },
      },
      {
        name: 'webgpu',
        kind: 'gpu',
        usable: false,
        reason: 'not available here: no GPU',
        capabilities: [],
        description: '',
        crossovers: { nn: null, 'nn+1': null, 'nn+2': null },
      },
    ],
    calibration: [],
    lakePaperThresholds: { nn: 8, 'nn+1': 4, 'nn+2': 4 },
    maxBatch: 16,
    node: process.version,
  };
  const text = backendsText(report);
  const row = (cells: string[]): RegExp =>
    new RegExp(`\\|${cells.map((c) => `\\s*${c.replace(/[()]/g, '\\$&')}\\s*`).join('\\|')}\\|`);
  assert.match(text, row(['cpu-wasm', 'cpu', 'yes', '', 'never (<= 16)', '4', '2']));
  assert.match(text, row(['webgpu', 'gpu', 'no', 'not available here: no GPU', '-', '-', '-']));
});

test('bad options are usage errors', () => {
  const r = lakeBackends(['--max-batch', '0']);
  assert.equal(r.status, 64);
  assert.match(r.stderr, /--max-batch must be an integer >= 1/);
});
