/**
 * checkOutputs: an output is refused when it is an input under any name (the same path, a hard link, a
 * symbolic link to it, a path through a linked directory), when a report directory would write over an
 * input, when it cannot be written, and when two outputs are one file.
 */
import assert from 'node:assert/strict';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LakeError } from '../../src/errors.js';
import { checkOutputs } from '../../src/files/outputs.js';
import { reportOutput } from '../../src/report/write.js';

const dir = mkdtempSync(join(tmpdir(), 'lake-outputs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const input = join(dir, 'in.trace');
writeFileSync(input, '0 0 0 4096 1\n');

function refused(fn: () => void, code: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof LakeError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('an output that is an input is refused', () => {
  test('the same path, also when spelled differently', () => {
    refused(
      () => checkOutputs([{ flag: '--out', path: input }], [{ flag: '--trace', path: input }]),
      'LAKE_E_USAGE',
      /--out .*in\.trace is also the input --trace .*in\.trace: lake never writes over its input/,
    );
    refused(
      () =>
        checkOutputs(
          [{ flag: '--out', path: join(dir, '.', 'sub', '..', 'in.trace') }],
          [{ flag: '--trace', path: input }],
        ),
      'LAKE_E_USAGE',
      /also the input --trace/,
    );
  });

  test('a hard link and a symbolic link to the input', () => {
    const hard = join(dir, 'hard.trace');
    const soft = join(dir, 'soft.trace');
    linkSync(input, hard);
    symlinkSync(input, soft);
    for (const path of [hard, soft]) {
      refused(
        () => checkOutputs([{ flag: '--out', path }], [{ flag: '--trace', path: input }]),
        'LAKE_E_USAGE',
        /is the same file as the input --trace/,
      );
    }
  });

  test('a path that does not exist yet but resolves to an input (through a linked directory)', () => {
    const real = join(dir, 'real');
    mkdirSync(real);
    const link = join(dir, 'linked');
    symlinkSync(real, link);
    // The input does not exist either: both name real/x.csv.
    refused(
      () =>
        checkOutputs(
          [{ flag: '--out', path: join(link, 'x.csv') }],
          [{ flag: '--vectors', path: join(real, 'x.csv') }],
        ),
      'LAKE_E_USAGE',
      /the same file as the input --vectors/,
    );
  });

  test('a report directory that would write over an input', () => {
    const report = join(dir, 'report');
    mkdirSync(report);
    const results = join(report, 'results.json');
    writeFileSync(results, '{}');
    refused(
      () => checkOutputs([reportOutput(report)], [{ flag: '--trace', path: results }]),
      'LAKE_E_USAGE',
      /--out .*report would write .*results\.json, which is also the input --trace/,
    );
  });

  test('two outputs that are one file', () => {
    refused(
      () =>
        checkOutputs([
          { flag: '--devices', path: join(dir, 'a.img'), kind: 'device' },
          { flag: '--out', path: join(dir, 'a.img') },
        ]),
      'LAKE_E_USAGE',
      /--out .*a\.img is the same file as --devices .*a\.img: one file cannot be two outputs/,
    );
  });

  test('distinct files pass, and "-" (standard input) is not a file', () => {
    checkOutputs(
      [{ flag: '--out', path: join(dir, 'new.csv') }, reportOutput(join(dir, 'fresh', 'deeper'))],
      [
        { flag: '--trace', path: input },
        { flag: '--input', path: '-' },
      ],
    );
  });
});

describe('an output lake cannot write is refused before any work', () => {
  test('a directory where a file is written, a device node, a missing directory', () => {
    refused(
      () => checkOutputs([{ flag: '--out', path: dir }]),
      'LAKE_E_USAGE',
      /is a directory: name the file/,
    );
    refused(
      () => checkOutputs([{ flag: '--out', path: '/dev/null' }]),
      'LAKE_E_USAGE',
      /is not a regular file/,
    );
    refused(
      () => checkOutputs([{ flag: '--out', path: join(dir, 'absent', 'x.csv') }]),
      'LAKE_E_USAGE',
      /the directory .*absent does not exist/,
    );
  });

  test('a file where a report directory goes', () => {
    refused(() => checkOutputs([reportOutput(input)]), 'LAKE_E_USAGE', /is not a directory/);
    refused(
      () => checkOutputs([reportOutput(join(input, 'sub'))]),
      'LAKE_E_USAGE',
      /in\.trace is not a directory/,
    );
  });

  test('a directory without write permission (skipped as root, who may write anywhere)', (t) => {
    if (process.getuid?.() === 0) {
      t.skip('root bypasses permissions');
      return;
    }
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    try {
      refused(
        () => checkOutputs([{ flag: '--out', path: join(locked, 'x.csv') }]),
        'LAKE_E_IO',
        /cannot write into/,
      );
      refused(() => checkOutputs([reportOutput(join(locked, 'r'))]), 'LAKE_E_IO', /cannot write into/);
    } finally {
      chmodSync(locked, 0o700);
    }
  });
});
