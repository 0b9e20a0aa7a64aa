/**
 * Inputs too small to mean anything are refused (a usage error saying how much is needed and why) or
 * warned about (`lake: warning:` on stderr, and a `warnings` list in --json output), per command. The
 * traces are built here: Heimdall-format reads whose latencies have a tail (every 7th read slow).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Command } from 'commander';
import { registerEval } from '../../src/cli/eval.js';
import { registerFeatures } from '../../src/cli/features.js';
import { registerLabel } from '../../src/cli/label.js';
import type { CommandOutput } from '../../src/cli/output.js';
import { registerStats } from '../../src/cli/stats.js';
import { registerSynth } from '../../src/cli/synth.js';
import { registerTrain } from '../../src/cli/train.js';
import { LakeError } from '../../src/errors.js';
import { MIN_THRESHOLD_READS } from '../../src/linnos/minimums.js';

type Register = (program: Command, output: CommandOutput) => void;

/** Runs `lake ARGS` in process; what it printed and warned. */
async function lake(...args: string[]): Promise<{ stdout: string; warnings: string[] }> {
  let stdout = '';
  const warnings: string[] = [];
  const output: CommandOutput = {
    write: (text) => {
      stdout += text;
    },
    warn: (message) => {
      warnings.push(message);
    },
  };
  const program = new Command().name('lake').exitOverride();
  const registers: Register[] = [
    registerLabel,
    registerFeatures,
    registerTrain,
    registerStats,
    registerSynth,
    registerEval,
  ];
  for (const register of registers) register(program, output);
  await program.parseAsync(args, { from: 'user' });
  return { stdout, warnings };
}

/** A usage error whose message matches every pattern. */
function usage(...patterns: RegExp[]): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof LakeError, String(e));
    assert.equal(e.code, 'LAKE_E_USAGE');
    for (const p of patterns) assert.match(e.message, p);
    return true;
  };
}

/**
 * `reads` reads (and a write after every 4th) in Heimdall format: ts_ms,latency_us,rw,size,offset,submit_ms,size.
 * Latencies 80-129 us, every 7th read 3000 us: a tail the inflection point finds.
 */
function heimdallTrace(reads: number): string {
  const lines: string[] = [];
  let t = 0;
  for (let i = 0; i < reads; i++) {
    const latency = i % 7 === 6 ? 3000 : 80 + ((i * 37) % 50);
    const ts = (t++ * 0.5).toFixed(3);
    lines.push(`${ts},${latency},1,4096,${(i % 64) * 4096},${ts},4096`);
    if (i % 4 === 3) {
      const tw = (t++ * 0.5).toFixed(3);
      lines.push(`${tw},40,0,4096,${(i % 32) * 8192},${tw},4096`);
    }
  }
  return `${lines.join('\n')}\n`;
}

let dir: string;
let tiny: string; // 20 reads
let small: string; // 60 reads: vectors, but under the threshold minimum
let enough: string; // 400 reads
let evalSized: string; // 210 reads: 262 I/Os, enough for lake eval, but under 100 training reads
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lake-small-inputs-'));
  tiny = join(dir, 'tiny.trace');
  small = join(dir, 'small.trace');
  enough = join(dir, 'enough.trace');
  await writeFile(tiny, heimdallTrace(20));
  await writeFile(small, heimdallTrace(60));
  await writeFile(enough, heimdallTrace(400));
  evalSized = join(dir, 'eval.trace');
  await writeFile(evalSized, heimdallTrace(210));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('lake label', () => {
  test(`refuses fewer than ${MIN_THRESHOLD_READS} reads, saying how many it needs and why`, async () => {
    await assert.rejects(
      lake('label', '--trace', tiny),
      usage(
        /tiny\.trace: too few reads with a latency \(device 0: 20\)/,
        /at least 100 reads per device/,
        /noise/,
      ),
    );
    await assert.rejects(lake('label', '--trace', tiny, '--percentile', '90'), usage(/at least 100/));
  });

  test('labels a device with enough reads without a warning', async () => {
    const r = await lake('label', '--trace', enough, '--json');
    const json = JSON.parse(r.stdout) as {
      devices: { reads: number; threshold: { thresholdUs: number } }[];
      warnings: string[];
    };
    assert.equal(json.devices[0]!.reads, 400);
    const { thresholdUs } = json.devices[0]!.threshold;
    assert.ok(thresholdUs >= 80 && thresholdUs < 3000, `between the fast reads and the tail: ${thresholdUs}`);
    assert.deepEqual(json.warnings, []);
    assert.deepEqual(r.warnings, []);
  });

  test('warns when no read is above the threshold', async () => {
    const r = await lake('label', '--trace', enough, '--percentile', '100', '--json');
    const json = JSON.parse(r.stdout) as { warnings: string[] };
    assert.equal(json.warnings.length, 1);
    assert.match(
      json.warnings[0]!,
      /device 0: no read is above the threshold \(3,000 us\): nothing would be labelled slow/,
    );
    assert.deepEqual(r.warnings, json.warnings, 'the same warnings on stderr');
  });
});

describe('lake features', () => {
  test('refuses to write a file of 0 vectors, naming the reads a vector needs', async () => {
    const out = join(dir, 'none.csv');
    const four = join(dir, 'four.trace');
    await writeFile(four, heimdallTrace(4));
    await assert.rejects(
      lake('features', '--trace', four, '--out', out),
      usage(/no read has a LinnOS vector/, /needs at least 5 reads/, /4 on device 0/),
    );
    assert.equal(await exists(out), false, 'no output file');
    await assert.rejects(
      lake('features', '--trace', tiny, '--out', out, '--device', '3'),
      usage(/no read of --device 3/),
    );
  });

  test('writes vectors under the threshold minimum with a warning', async () => {
    const out = join(dir, 'small.csv');
    const r = await lake('features', '--trace', small, '--out', out, '--json');
    const json = JSON.parse(r.stdout) as { vectors: number; warnings: string[] };
    assert.equal(json.vectors, 56, '60 reads, the first 4 have no history');
    assert.equal(json.warnings.length, 1);
    assert.match(
      json.warnings[0]!,
      /device 0: only 56 vector\(s\): lake label and lake train need at least 100/,
    );
    assert.equal(await exists(out), true);
  });
});

describe('lake train', () => {
  test('refuses to label fewer vectors than a threshold needs; --threshold labels them anyway', async () => {
    const out = join(dir, 'small.json');
    await assert.rejects(
      lake('train', '--trace', small, '--out', out),
      usage(/the training data: 56 read\(s\); a latency threshold needs at least 100/, /--threshold US/),
    );
    await assert.rejects(
      lake('train', '--trace', small, '--out', out, '--percentile', '85'),
      usage(/at least 100/),
    );
    assert.equal(await exists(out), false);
    const r = await lake(
      'train',
      '--trace',
      small,
      '--out',
      out,
      '--threshold',
      '1000',
      '--epochs',
      '2',
      '--json',
    );
    assert.equal((JSON.parse(r.stdout) as { vectors: number }).vectors, 56);
  });

  test('refuses a threshold that leaves one class, and a split whose part holds one class', async () => {
    const out = join(dir, 'one-class.json');
    await assert.rejects(
      lake('train', '--trace', enough, '--out', out, '--threshold', '5000'),
      usage(/--threshold 5000: all 396 reads are fast/, /slow and fast reads to learn from/),
    );
    // Slow reads only in the first 80%: the time-ordered validation part (the last 20%) holds none.
    const rows = Array.from({ length: 500 }, (_, i) => ({
      digits: Array.from({ length: 31 }, (_, d) => (i + d) % 10),
      latencyUs: i < 400 && i % 5 === 4 ? 5000 : 100,
    }));
    const vectors = join(dir, 'early-slow.csv');
    await writeFile(vectors, digitsFile(rows));
    await assert.rejects(
      lake('train', '--vectors', vectors, '--out', out, '--threshold', '1000'),
      usage(/the validation part holds no slow read \(all 100 are fast\)/, /--split time, --validation 0\.2/),
    );
    assert.equal(await exists(out), false);
  });
});

/** A `digits` vector file: 31 digits and a latency per line. */
function digitsFile(rows: { digits: number[]; latencyUs: number }[]): string {
  return `${rows.map((r) => `${r.digits.join(',')},${r.latencyUs}`).join('\n')}\n`;
}

describe('lake train: no better than the majority rate', () => {
  test('a model that cannot tell reads apart is flagged: identical vectors, 1 in 5 slow', async () => {
    // Every vector is the same, so the model gives every read the same answer: its accuracy is the
    // majority rate (all fast) or the minority's (all slow), never better.
    const rows = Array.from({ length: 500 }, (_, i) => ({
      digits: Array.from({ length: 31 }, (_, d) => d % 10),
      latencyUs: i % 5 === 4 ? 5000 : 100,
    }));
    const vectors = join(dir, 'same.csv');
    await writeFile(vectors, digitsFile(rows));
    const r = await lake(
      'train',
      '--vectors',
      vectors,
      '--out',
      join(dir, 'same.json'),
      '--threshold',
      '1000',
      '--json',
    );
    const json = JSON.parse(r.stdout) as {
      quality: { accuracy: number; majorityRate: number };
      warnings: string[];
    };
    assert.ok(json.quality.accuracy <= json.quality.majorityRate);
    const majority = json.warnings.filter((w) => /no better than the majority rate 80\.0%/.test(w));
    assert.equal(majority.length, 1, json.warnings.join('\n'));
    assert.deepEqual(r.warnings, json.warnings);
  });

  test('a model that separates the classes is not flagged', async () => {
    // Digit 0 says the class: 9 for slow reads, 0 for fast ones.
    const rows = Array.from({ length: 500 }, (_, i) => {
      const slow = i % 5 === 4;
      return {
        digits: [slow ? 9 : 0, ...Array.from({ length: 30 }, (_, d) => (i + d) % 10)],
        latencyUs: slow ? 5000 : 100,
      };
    });
    const vectors = join(dir, 'separable.csv');
    await writeFile(vectors, digitsFile(rows));
    const r = await lake(
      'train',
      '--vectors',
      vectors,
      '--out',
      join(dir, 'sep.json'),
      '--threshold',
      '1000',
      '--epochs',
      '30',
      '--json',
    );
    const json = JSON.parse(r.stdout) as {
      quality: { accuracy: number; majorityRate: number };
      warnings: string[];
    };
    assert.ok(json.quality.accuracy > json.quality.majorityRate, `accuracy ${json.quality.accuracy}`);
    assert.deepEqual(json.warnings, []);
  });
});

describe('lake stats, lake synth, lake eval', () => {
  test('stats: percentiles from too few values are said to be no tail estimates', async () => {
    const r = await lake('stats', tiny, '--json');
    const json = JSON.parse(r.stdout) as { warnings: string[] };
    assert.ok(
      json.warnings.some((w) => /^read latency: p99, p99\.9 of 20 value\(s\) are not tail estimates/.test(w)),
      json.warnings.join('\n'),
    );
    const empty = join(dir, 'empty.trace');
    await writeFile(empty, '');
    const none = await lake('stats', empty, '--format', 'heimdall', '--json');
    assert.deepEqual((JSON.parse(none.stdout) as { warnings: string[] }).warnings, [
      `${empty} holds no records: every figure is empty`,
    ]);
  });

  test('synth: a duration too short for one I/O is refused before writing', async () => {
    const out = join(dir, 'never.trace');
    await assert.rejects(
      lake('synth', '--profile', 'azure', '--duration', '1e-9', '--seed', '1', '--out', out),
      usage(/--duration "1e-9" is too short for any I\/O: azure issues one every 77\.0 us/),
    );
    assert.equal(await exists(out), false);
  });

  test('eval: parts and classes too small for their figures are warned about in the report and the JSON', async () => {
    const r = await lake('eval', '--trace', evalSized, '--no-timing', '--no-drift', '--json');
    const json = JSON.parse(r.stdout) as { warnings: string[]; pipelines: { trainCount: number }[] };
    assert.ok(json.pipelines[0]!.trainCount < MIN_THRESHOLD_READS);
    assert.ok(
      json.warnings.some((w) =>
        w.startsWith(`lake (causal): the training part holds only ${json.pipelines[0]!.trainCount} reads`),
      ),
      json.warnings.join('\n'),
    );
    await assert.rejects(
      lake('eval', '--trace', small, '--no-timing'),
      usage(/too few to train and test on/),
    );
  });
});
