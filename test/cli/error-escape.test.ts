import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { runCli } from '../../src/cli/program.js';
import { escapeControls, LakeError } from '../../src/errors.js';
import { assertNoControls } from '../helpers/controls.js';

/** A command that throws whatever message it is given: what a reader that forgot to escape would do. */
function thrower(program: Command): void {
  program
    .command('throw')
    .argument('<message>')
    .option('--plain', 'throw a plain Error')
    .action((message: string, flags: { plain?: boolean }) => {
      if (flags.plain === true) throw new Error(message);
      throw new LakeError('LAKE_E_TRACE_FORMAT', message);
    });
}

async function stderrOf(args: string[]): Promise<{ status: number; stderr: string }> {
  let stderr = '';
  const status = await runCli(
    ['node', 'lake', ...args],
    {
      stdout: { write: () => undefined },
      stderr: {
        write: (text) => {
          stderr += text;
        },
      },
    },
    [thrower],
  );
  return { status, stderr };
}

describe('the CLI escapes what it prints last', () => {
  it('escapes controls but keeps line breaks and tabs', () => {
    assert.equal(escapeControls('a\x1b[31mb\n\tc\x9bd\x7f'), 'a\\x1b[31mb\n\tc\\x9bd\\x7f');
  });

  it('a LakeError echoing a terminal escape prints it escaped, with its code and status', async () => {
    const { status, stderr } = await stderrOf(['throw', 'bad line "\x1b]0;owned\x07"']);
    assert.equal(status, 2);
    assert.equal(stderr, 'lake: LAKE_E_TRACE_FORMAT: bad line "\\x1b]0;owned\\x07"\n');
  });

  it('an unexpected error is escaped too', async () => {
    const { status, stderr } = await stderrOf(['throw', '--plain', 'x\x1b[2Jy']);
    assert.notEqual(status, 0);
    assert.match(stderr, /x\\x1b\[2Jy/);
    assertNoControls(stderr.replaceAll('\n', ''), 'stderr');
  });
});
