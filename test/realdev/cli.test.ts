/**
 * `lake record` -> `lake train` -> `lake replay` on three small image files: the recorded trace is the
 * LinnOS 9-column output train reads, and replay reports what simulate reports plus the wall-clock timing.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Command } from 'commander';
import { registerReplay } from '../../src/cli/replay.js';
import { registerTrain } from '../../src/cli/train.js';
import { LakeError } from '../../src/errors.js';
import { extractLinnosFromTrace } from '../../src/linnos/extract.js';
import {
  BLK_TA,
  BLK_TC,
  type BlkTraceEvent,
  blkAction,
  encodeBlktrace,
  makeDev,
} from '../../src/trace/blktrace.js';
import { readTraceAll } from '../../src/trace/read.js';
import { synthesize } from '../../src/trace/synth.js';
import { writeTrace } from '../../src/trace/write.js';
import { type CliResult, runLake } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'lake-realdev-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The real `lake` CLI (src/cli/main.ts) in a child process. */
function lake(args: string[]): CliResult {
  return runLake(args, 60_000);
}

async function inProcess(register: (p: Command) => void, args: string[]): Promise<unknown> {
  const program = new Command().exitOverride();
  register(program);
  try {
    await program.parseAsync(args, { from: 'user' });
    return undefined;
  } catch (error) {
    return error;
  }
}

const devices = [0, 1, 2].map((i) => join(dir, `d${i}.img`));
const trace = join(dir, 'azure.trace');

describe('lake record, train and replay on image files', { timeout: 60_000 }, () => {
  test('record writes a LinnOS 9-column trace that train turns into a model; replay reports like simulate', async () => {
    // A mixed workload, one per device, at a rate these small files take easily.
    await writeTrace(
      trace,
      synthesize('azure', { durationMs: 300, seed: 3, rateScale: 0.5 }),
      'linnos-input',
    );
    const records = join(dir, 'rec.csv');
    const rec = lake([
      'record',
      '--devices',
      devices.join(','),
      '--size',
      '8M',
      '--trace',
      trace,
      '--out',
      records,
      '--json',
    ]);
    assert.equal(rec.status, 0, rec.stderr);
    const summary = JSON.parse(rec.stdout) as {
      records: number;
      replay: { lateFraction: number; ioErrors: number };
    };
    const { records: rows } = await readTraceAll(records, { format: 'linnos-output' });
    assert.equal(rows.length, summary.records);
    assert.equal(summary.replay.ioErrors, 0);
    assert.ok(
      rows.every((r) => r.latencyUs !== undefined && r.latencyUs >= 0 && r.submitMs! >= r.arrivalMs - 0.001),
    );
    assert.ok(
      extractLinnosFromTrace(rows).some((d) => d.count > 0),
      'LinnOS vectors come out of the recording',
    );
    for (const d of devices) assert.equal(statSync(d).size, 8 << 20);

    const model = join(dir, 'model.json');
    const printed: string[] = [];
    const trainError = await inProcess(
      (p) => registerTrain(p, { write: (t) => printed.push(t) }),
      // A random split: which stretch of a short recording on this machine is slow is up to the machine, and
      // a time split can leave the validation part without a slow read (train then refuses, rightly).
      [
        'train',
        '--trace',
        records,
        '--out',
        model,
        '--epochs',
        '2',
        '--percentile',
        '90',
        '--split',
        'random',
        '--json',
      ],
    );
    assert.equal(trainError, undefined, String(trainError));
    assert.ok(existsSync(model), printed.join(''));

    const out = join(dir, 'report');
    const r = lake([
      'replay',
      '--devices',
      devices.join(','),
      '--trace',
      trace,
      '--policies',
      'baseline,linnos',
      '--model',
      model,
      '--queue-depth',
      '16',
      '--out',
      out,
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(r.stdout) as {
      command: string;
      policies: Record<
        string,
        {
          read: { count: number };
          extraIos: number;
          revokes: number;
          replay: {
            ios: number;
            late: number;
            lateFraction: number;
            lagUs: { p99: number };
            queueDepth: number;
          };
        }
      >;
      linnos: { online: Record<string, { offered: number }> };
    };
    assert.equal(json.command, 'replay');
    assert.deepEqual(Object.keys(json.policies), ['baseline', 'linnos']);
    for (const p of Object.values(json.policies)) {
      assert.ok(p.read.count > 0);
      // late I/Os over all I/Os, as printed (6 decimals)
      assert.ok(p.replay.ios > 0);
      assert.ok(
        Math.abs(p.replay.lateFraction - p.replay.late / p.replay.ios) <= 5e-7,
        JSON.stringify(p.replay),
      );
      assert.equal(p.replay.queueDepth, 16);
    }
    assert.ok(json.linnos.online.linnos!.offered > 0, 'the LinnOS policy was asked about reads');
    for (const f of ['results.json', 'cdf.svg', 'cdf.png', 'report.html'])
      assert.ok(existsSync(join(out, f)), f);
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')), json);
  });

  test('a blktrace capture replays on the devices', () => {
    const events: BlkTraceEvent[] = [];
    for (let i = 0; i < 40; i++) {
      const at = BigInt(1_000_000 + i * 50_000);
      const common = { sector: i * 64, bytes: 4096, pid: 1, device: makeDev(8, i % 2), cpu: 0, error: 0 };
      events.push({
        ...common,
        sequence: 2 * i,
        timeNs: at,
        action: blkAction(BLK_TA.ISSUE, BLK_TC.ISSUE, BLK_TC.READ),
      });
      events.push({
        ...common,
        sequence: 2 * i + 1,
        timeNs: at + 80_000n,
        action: blkAction(BLK_TA.COMPLETE, BLK_TC.COMPLETE, BLK_TC.READ),
      });
    }
    const capture = join(dir, 'sda.blktrace.0');
    writeFileSync(capture, encodeBlktrace(events));
    const r = lake([
      'replay',
      '--devices',
      devices.slice(0, 2).join(','),
      '--trace',
      capture,
      '--format',
      'blktrace',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { policies: { baseline: { read: { count: number } } } };
    assert.equal(json.policies.baseline.read.count, 40);
  });

  test('usage errors: no devices, the greedy oracle, the old oracle name, a file of another size (left untouched)', async () => {
    const usage = (e: unknown, pattern: RegExp): void => {
      assert.ok(e instanceof LakeError && e.code === 'LAKE_E_USAGE' && pattern.test(e.message), String(e));
    };
    usage(await inProcess(registerReplay, ['replay', '--trace', trace]), /--devices is required/);
    usage(
      await inProcess(registerReplay, [
        'replay',
        '--devices',
        devices.join(','),
        '--trace',
        trace,
        '--policies',
        'greedy-oracle',
      ]),
      /runs on simulated devices only/,
    );
    usage(
      await inProcess(registerReplay, [
        'replay',
        '--devices',
        devices.join(','),
        '--trace',
        trace,
        '--policies',
        'oracle',
      ]),
      /"oracle" is now "greedy-oracle".*not an upper bound/,
    );
    const before = readFileSync(devices[0]!);
    usage(
      await inProcess(registerReplay, [
        'replay',
        '--devices',
        devices.join(','),
        '--size',
        '16M',
        '--trace',
        trace,
      ]),
      /never resizes/,
    );
    assert.deepEqual(readFileSync(devices[0]!), before);
    usage(
      await inProcess(registerReplay, [
        'replay',
        '--devices',
        devices.join(','),
        '--trace',
        trace,
        '--policies',
        'linnos',
      ]),
      /need --model/,
    );
  });
});
