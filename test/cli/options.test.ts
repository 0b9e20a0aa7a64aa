/**
 * Option parsers check the text typed, name the flag as typed and echo the user's text verbatim (control
 * characters escaped); seeds are used exactly or refused. Through the CLI: `--seed 1e30` is refused
 * echoing "1e30", and no message names a library option (`options.durationMs`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MAX_SEED,
  parseChoiceOption,
  parseIntOption,
  parseNumberOption,
  parseSeedOption,
} from '../../src/cli/options.js';
import { runCli } from '../../src/cli/program.js';
import { LakeError } from '../../src/errors.js';

function refused(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof LakeError);
    assert.equal(e.code, 'LAKE_E_USAGE');
    assert.equal(e.message, message);
    return true;
  });
}

describe('integers and seeds', () => {
  test('decimal digits only: no exponent, hex, fraction or empty text passes for an integer', () => {
    assert.equal(parseIntOption('--epochs', '15', 1), 15);
    assert.equal(parseIntOption('--epochs', ' 7 ', 1), 7);
    for (const text of ['1e3', '0x10', '1.5', '', ' ', 'Infinity', '12abc']) {
      refused(() => parseIntOption('--epochs', text, 1), `--epochs must be an integer >= 1, got "${text}"`);
    }
    refused(
      () => parseIntOption('--device', '9007199254740993'),
      '--device must be a non-negative integer, got "9007199254740993"',
    );
    refused(
      () => parseIntOption('--queue-depth', '5000', 1, 4096),
      '--queue-depth must be an integer in 1..4096, got "5000"',
    );
  });

  test('a seed is an integer in 0..2^32-1, used exactly; larger seeds would alias smaller ones and are refused', () => {
    assert.equal(parseSeedOption('--seed', '0'), 0);
    assert.equal(parseSeedOption('--seed', String(MAX_SEED)), 4294967295);
    for (const text of ['1e30', '4294967296', '-1', '7.0']) {
      refused(
        () => parseSeedOption('--seed', text),
        `--seed must be a non-negative integer <= 4294967295, got "${text}"`,
      );
    }
  });
});

describe('numbers', () => {
  test('finite decimal numbers within the range; the message names the range', () => {
    assert.equal(parseNumberOption('--lr', '1e-3', { above: 0 }), 0.001);
    assert.equal(parseNumberOption('--percentile', '99.9', { min: 0, max: 100 }), 99.9);
    refused(() => parseNumberOption('--lr', '0', { above: 0 }), '--lr must be a positive number, got "0"');
    refused(
      () => parseNumberOption('--percentile', '1e3', { min: 0, max: 100 }),
      '--percentile must be a number >= 0 and <= 100, got "1e3"',
    );
    refused(
      () => parseNumberOption('--validation', '1', { min: 0, below: 1 }),
      '--validation must be a number >= 0 and < 1, got "1"',
    );
    for (const text of ['0x10', '', 'Infinity', '1e400', 'NaN', '5us']) {
      refused(
        () => parseNumberOption('--duration', text, 0),
        `--duration must be a number >= 0, got "${text}"`,
      );
    }
  });

  test('control characters in the echoed text are escaped', () => {
    refused(
      () => parseNumberOption('--duration', '\x1b[31m5'),
      '--duration must be a number >= 0, got "\\x1b[31m5"',
    );
    refused(
      () => parseChoiceOption('--shape', 'nn\n+3', ['nn', 'nn+1']),
      '--shape must be one of nn, nn+1, got "nn\\x0a+3"',
    );
  });
});

async function stderrOf(...args: string[]): Promise<{ status: number; stderr: string }> {
  let stderr = '';
  const status = await runCli(['node', 'lake', ...args], {
    stdout: { write: () => undefined },
    stderr: {
      write: (text) => {
        stderr += text;
      },
    },
  });
  return { status, stderr };
}

describe('through the CLI', () => {
  test('--seed 1e30 is refused with the text typed, in every command that takes a seed', async () => {
    for (const args of [
      ['simulate', '--duration', '1'],
      ['synth', '--profile', 'azure', '--duration', '1', '--out', 'never.trace'],
      ['label', '--trace', 'x'],
      ['train', '--trace', 'x', '--out', 'never.json'],
      ['eval', '--trace', 'x'],
    ]) {
      const r = await stderrOf(...args, '--seed', '1e30');
      assert.equal(r.status, 64, args[0]);
      assert.equal(
        r.stderr,
        'lake: LAKE_E_USAGE: --seed must be a non-negative integer <= 4294967295, got "1e30"\n',
      );
    }
  });

  test('flag errors name the flag, never a library option', async () => {
    for (const [args, flag] of [
      [['simulate', '--duration', '0'], '--duration'],
      [['simulate', '--rate-scale', '0'], '--rate-scale'],
      [['train', '--trace', 'x', '--out', 'm.json', '--patience', '2', '--validation', '0'], '--patience'],
      [['train', '--trace', 'x', '--out', 'm.json', '--lr', '0'], '--lr'],
      [['eval', '--trace', 'x', '--false-submit-budget', '1'], '--false-submit-budget'],
    ] as const) {
      const r = await stderrOf(...args);
      assert.equal(r.status, 64, args.join(' '));
      assert.match(r.stderr, new RegExp(`^lake: LAKE_E_USAGE: ${flag} `), r.stderr);
      assert.doesNotMatch(r.stderr, /options\./);
    }
  });
});
