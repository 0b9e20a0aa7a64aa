import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runLake } from '../helpers/cli.js';

// `lake demo --models nn --policy loop.js` with a policy that never returns: the run finishes (exit 0),
// says so, and two runs with the same seed, --crossovers and --inference-cost-us write the same results.json
// apart from the clock readings (inference.nsPerPrediction and everything under lake.timing). The inference
// charge is fixed because a measured one is itself a clock reading (it may round to 0.1 or 0.2 us).

const dir = mkdtempSync(join(tmpdir(), 'lake-demo-policy-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const loop = join(dir, 'loop.js');
writeFileSync(loop, 'export default () => { for (;;) {} };\n');

interface DemoJson {
  inference: Record<string, unknown>;
  warnings: string[];
  lake: {
    crossovers: string;
    crossoverSource: string;
    timing: Record<string, unknown>;
    userPolicy: { name: string; calls: number; faults: number; afterStop: number; stopped?: string };
    shapes: Record<string, { runs: Record<string, { decisions: number; reasons: Record<string, number> }> }>;
  };
}

function demo(out: string): { status: number | null; stderr: string; json: DemoJson } {
  const r = runLake(
    [
      'demo',
      '--quick',
      '--train-duration',
      '2',
      '--test-duration',
      '1',
      '--epochs',
      '2',
      '--models',
      'nn',
      '--policy',
      loop,
      '--policy-budget-us',
      '20000',
      '--crossovers',
      'nn=3',
      '--inference-cost-us',
      '0.1',
      '--json',
      '--out',
      join(dir, out),
    ],
    300_000,
  );
  return { status: r.status, stderr: r.stderr, json: JSON.parse(r.stdout) as DemoJson };
}

test('a policy that loops forever is stopped, the run finishes and says so; --crossovers reproduces it', () => {
  const first = demo('a');
  assert.equal(first.status, 0, first.stderr);
  const stop =
    /policy loop\.js was stopped: a call (used more than its budget of 20000 us of CPU|ran past its budget of 20000 us) on a batch of \d+ \(nn\); the default placement decides for the rest of the run/;
  assert.match(first.stderr, new RegExp(`lake: warning: ${stop.source}`));
  const user = first.json.lake.userPolicy;
  assert.equal(user.name, 'loop.js');
  assert.deepEqual([user.calls, user.faults], [0, 1]);
  assert.match(user.stopped ?? '', stop);
  assert.ok(first.json.warnings.includes(user.stopped!), 'the warning is in results.json');
  const lake = first.json.lake.shapes['nn']!.runs['lake']!;
  assert.equal(lake.reasons['user-fallback'], lake.decisions > 0 ? user.faults + user.afterStop : 0);
  assert.equal(first.json.lake.crossovers, 'nn=3');
  assert.equal(first.json.lake.crossoverSource, 'given');

  const second = demo('b');
  assert.equal(second.status, 0, second.stderr);
  const strip = (j: DemoJson) => {
    const { timing: _lakeTiming, ...lakeRest } = j.lake;
    const { nsPerPrediction: _ns, ...inference } = j.inference;
    return { ...j, inference, lake: lakeRest };
  };
  assert.deepEqual(strip(second.json), strip(first.json));
});
