/**
 * Commander's own errors (unknown option, missing argument, unknown command) print as every lake error
 * does, `lake: LAKE_E_USAGE: message`, with a hint to the help, and exit 64; run in process through the
 * program src/cli/main.ts runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCommanderError, runCli } from '../../src/cli/program.js';

async function lake(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await runCli(['node', 'lake', ...args], {
    stdout: {
      write: (text) => {
        stdout += text;
      },
    },
    stderr: {
      write: (text) => {
        stderr += text;
      },
    },
  });
  return { status, stdout, stderr };
}

test('an unknown option: lake: LAKE_E_USAGE, the option as typed, the command help hint, exit 64', async () => {
  const r = await lake('label', '--bogus');
  assert.equal(r.status, 64);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr,
    `lake: LAKE_E_USAGE: unknown option '--bogus'\n(run "lake label --help" for its options)\n`,
  );
});

test('a missing option argument and a missing command argument', async () => {
  const option = await lake('train', '--out');
  assert.equal(option.status, 64);
  assert.match(
    option.stderr,
    /^lake: LAKE_E_USAGE: option '--out <file>' argument missing\n\(run "lake train --help"/,
  );
  const argument = await lake('stats');
  assert.equal(argument.status, 64);
  assert.match(argument.stderr, /^lake: LAKE_E_USAGE: missing required argument 'file'\n/);
});

test('an unknown command points at the command list', async () => {
  const r = await lake('nope');
  assert.equal(r.status, 64);
  assert.equal(
    r.stderr,
    `lake: LAKE_E_USAGE: unknown command 'nope'\n(run "lake --help" for the commands)\n`,
  );
});

test('no line of a commander error keeps its own "error:" prefix, and control characters are escaped', async () => {
  const r = await lake('label', '--\x1b[31mred');
  assert.equal(r.status, 64);
  assert.doesNotMatch(r.stderr, /^error:/m);
  assert.ok(!r.stderr.includes('\x1b'), 'no raw escape reaches the terminal');
  assert.match(r.stderr, /unknown option '--\\x1b\[31mred'/);
  assert.equal(
    formatCommanderError("error: unknown option '--x'\n"),
    "lake: LAKE_E_USAGE: unknown option '--x'\n",
  );
});

test('help and version still print on stdout and exit 0', async () => {
  const help = await lake('label', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: lake label/);
  const version = await lake('--version');
  assert.equal(version.status, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+/);
});

test('a LakeError from a command prints its code and exits with its status', async () => {
  const r = await lake('label', '--trace', 'x', '--percentile', 'abc');
  assert.equal(r.status, 64);
  assert.match(r.stderr, /^lake: LAKE_E_USAGE: --percentile must be a number/);
});
