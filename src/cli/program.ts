/**
 * The lake program: every command registered on one commander program, and the one place that turns
 * whatever a command throws (a LakeError, commander's own parse errors, anything else) into
 * `lake: CODE: message` on stderr and an exit status. src/cli/main.ts runs it on process.argv; tests run it
 * in process with their own streams.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { escapeControls, escapeInput, LakeError, toError } from '../errors.js';
import { commands, type RegisterCommand } from './commands.js';
import { exitCodes, GENERIC_FAILURE } from './exit-codes.js';

export interface CliStreams {
  stdout: { write(text: string): void };
  stderr: { write(text: string): void };
}

const processStreams: CliStreams = {
  stdout: { write: (text) => void process.stdout.write(text) },
  stderr: { write: (text) => void process.stderr.write(text) },
};

/** Commander messages echo what the user typed; longer than this is cut. */
const MAX_COMMANDER_MESSAGE = 400;

/**
 * Commander's `error: unknown option '--x'` as lake prints every error: `lake: LAKE_E_USAGE: unknown option
 * '--x'`, control characters in the echoed text escaped.
 */
export function formatCommanderError(text: string): string {
  const message = text.replace(/\n+$/, '').replace(/^error: /, '');
  return `lake: LAKE_E_USAGE: ${escapeInput(message, MAX_COMMANDER_MESSAGE)}\n`;
}

/** The program with `registers` (default: every command) on it, printing to `streams`. */
export function createProgram(
  streams: CliStreams = processStreams,
  registers: readonly RegisterCommand[] = commands,
): Command {
  const program = new Command();
  program
    .name('lake')
    .description('Learned admission for replicated flash: LinnOS and LAKE in user space')
    .version(packageVersion(), '-V, --version')
    // Subcommands copy the output configuration when they are created, so it comes before registering.
    .configureOutput({
      writeOut: (text) => streams.stdout.write(text),
      writeErr: (text) => streams.stderr.write(text),
      outputError: (text, write) => write(formatCommanderError(text)),
    })
    .showHelpAfterError('(run "lake --help" for the commands)')
    .exitOverride();
  for (const register of registers) register(program);
  for (const command of program.commands) {
    command.showHelpAfterError(`(run "lake ${command.name()} --help" for its options)`);
  }
  return program;
}

/**
 * Runs `argv` (node's process.argv shape: node, script, args...) and returns the exit status: 0, the
 * status of a LakeError's code (64 for usage, commander's parse errors included), or GENERIC_FAILURE.
 */
export async function runCli(
  argv: readonly string[],
  streams: CliStreams = processStreams,
  registers: readonly RegisterCommand[] = commands,
): Promise<number> {
  const program = createProgram(streams, registers);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (value) {
    if (value instanceof CommanderError) {
      // Help and version went to stdout; every other commander error was printed by outputError above.
      if (value.code === 'commander.helpDisplayed' || value.code === 'commander.version') return 0;
      if (value.code === 'commander.help') return value.exitCode === 0 ? 0 : exitCodes.LAKE_E_USAGE;
      return exitCodes.LAKE_E_USAGE;
    }
    const error = toError(value);
    if (error instanceof LakeError) {
      streams.stderr.write(`lake: ${error.code}: ${escapeControls(error.message)}\n`);
      return exitCodes[error.code] ?? GENERIC_FAILURE;
    }
    streams.stderr.write(`lake: ${escapeControls(error.stack ?? error.message)}\n`);
    return GENERIC_FAILURE;
  }
}

/** The package's version, read from package.json two folders up (src/cli or dist/cli). */
function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
