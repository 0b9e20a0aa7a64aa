/**
 * Messages that echo input escape its control characters and cut it short: a terminal escape sequence in
 * a trace line (or a vector file, or a flag) must reach the terminal as text, never as an escape.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseIntOption, parseNumberOption } from '../../src/cli/options.js';
import { parseDigitVectors } from '../../src/cli/predict.js';
import { escapeInput, LakeError, MAX_ECHO_CHARS } from '../../src/errors.js';
import { parseLinnosVectors } from '../../src/linnos/vector-file.js';
import { readTraceAll } from '../../src/trace/read.js';
import { assertNoControls } from '../helpers/controls.js';

const RED = '\x1b[31m';
const CLEAR = '\x1b[2J';

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lake-escaped-echo-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function traceFile(name: string, text: string): Promise<string> {
  const path = join(scratch, name);
  await writeFile(path, text, 'latin1');
  return path;
}

/** Runs `action`, expecting a LakeError; returns its message. */
async function messageOf(action: () => unknown): Promise<string> {
  try {
    await action();
  } catch (error) {
    assert.ok(error instanceof LakeError, String(error));
    return error.message;
  }
  assert.fail('expected a LakeError');
}

describe('escapeInput', () => {
  test('C0 controls, DEL and C1 controls become \\xNN; printable text, tabs excepted, is kept', () => {
    assert.equal(escapeInput(`${RED}red\x1b[0m`), '\\x1b[31mred\\x1b[0m');
    assert.equal(escapeInput('a\x00b\x7fc\x9bd\te\r\n'), 'a\\x00b\\x7fc\\x9bd\\x09e\\x0d\\x0a');
    assert.equal(escapeInput('Zürich, naïve: 1 µs'), 'Zürich, naïve: 1 µs');
  });

  test('cuts long input to the limit, counted in input characters, and says so with "..."', () => {
    const long = 'x'.repeat(1000);
    const shown = escapeInput(long);
    assert.equal(shown.length, MAX_ECHO_CHARS);
    assert.ok(shown.endsWith('...'));
    assert.equal(escapeInput('y'.repeat(MAX_ECHO_CHARS)), 'y'.repeat(MAX_ECHO_CHARS));
    // Escapes are not cut in half: the cut is made in the input, then the kept part is escaped.
    assert.equal(escapeInput('\x1b'.repeat(10), 6), '\\x1b\\x1b\\x1b...');
  });
});

describe('trace readers', () => {
  test('format detection echoes the first line with its escape sequence escaped', async () => {
    const path = await traceFile('escape-first.trace', `${RED}owned${CLEAR}\n1 2 3\n`);
    const message = await messageOf(() => readTraceAll(path));
    assertNoControls(message);
    assert.match(message, /line 1 reads "\\x1b\[31mowned\\x1b\[2J"/);
  });

  test('format detection cuts a long first line', async () => {
    const path = await traceFile('long-first.trace', `${'z'.repeat(5000)}\n`);
    const message = await messageOf(() => readTraceAll(path));
    assert.ok(message.includes(`"${'z'.repeat(MAX_ECHO_CHARS - 3)}..."`), message);
    assert.ok(message.length < 600, `${message.length} characters`);
  });

  test('a field holding an escape sequence is echoed escaped, for every format', async () => {
    const lines: Record<string, string> = {
      'linnos-input': `1.5 0 4096 4096${RED} 1`,
      'linnos-output': `0,0,1.5,100,1,4096,8192,1.6,1${RED}`,
      heimdall: `1.5,100,1,4096,8192,1.6,4096${CLEAR}`,
      msr: `128166372000000000,host,0,Re${RED}ad,8192,4096,1000`,
    };
    for (const [format, line] of Object.entries(lines)) {
      const path = await traceFile(`${format}-field.trace`, `${line}\n`);
      const message = await messageOf(() => readTraceAll(path, { format: format as 'msr' }));
      assertNoControls(message, format);
      assert.match(message, /\\x1b\[/, format);
    }
  });

  test('a C1 control (8-bit CSI) and a NUL in a field are escaped too', async () => {
    const path = await traceFile('c1.trace', '1.5 0 4096 40\x9b31m96 1\n2.5 0 4096 4096 1\x00\n');
    const message = await messageOf(() => readTraceAll(path, { format: 'linnos-input' }));
    assertNoControls(message);
    assert.match(message, /"40\\x9b31m96"/);
    const skipped = await readTraceAll(path, { format: 'linnos-input', skipBad: true });
    assert.equal(skipped.skipped, 2);
    for (const error of skipped.errors) assertNoControls(error);
  });

  test('a huge field is cut in the message', async () => {
    const path = await traceFile('huge-field.trace', `1.5 0 4096 ${'9'.repeat(400)}x 1\n`);
    const message = await messageOf(() => readTraceAll(path, { format: 'linnos-input' }));
    assert.ok(message.length < 300, message);
  });
});

describe('other echoes of input', () => {
  test('vector files', async () => {
    const message = await messageOf(() => parseLinnosVectors(`1,2,3,4,5,6,7,8,9,1${RED}0\n`, 'vectors.csv'));
    assertNoControls(message);
    assert.match(message, /\\x1b\[31m/);
  });

  test('lake predict input digits', async () => {
    const row = [...'1'.repeat(30), `1${RED}`].join(',');
    const message = await messageOf(() => parseDigitVectors(row, 'input.csv', 31));
    assertNoControls(message);
    assert.match(message, /"1\\x1b\[31m" is not a digit/);
  });

  test('numeric flags', async () => {
    for (const parse of [parseIntOption, parseNumberOption]) {
      const message = await messageOf(() => parse('--seed', `7${CLEAR}`));
      assertNoControls(message);
      assert.match(message, /got "7\\x1b\[2J"/);
    }
  });
});
