#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { LakeError, toError } from '../errors.js';
import { commands } from './commands.js';
import { exitCodes, GENERIC_FAILURE } from './exit-codes.js';

/** The only place that catches everything: print `code: message` and exit with the code's status. */
async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('lake')
    .description('Learned admission for replicated flash: LinnOS and LAKE in user space')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  try {
    await program.parseAsync(argv);
  } catch (value) {
    const error = toError(value);
    const code = (error as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') {
      process.exitCode = 0;
      return;
    }
    if (typeof code === 'string' && code.startsWith('commander.')) {
      process.exitCode = exitCodes.LAKE_E_USAGE;
      return;
    }
    if (error instanceof LakeError) {
      process.stderr.write(`lake: ${error.code}: ${error.message}\n`);
      process.exitCode = exitCodes[error.code] ?? GENERIC_FAILURE;
      return;
    }
    process.stderr.write(`lake: ${error.stack ?? error.message}\n`);
    process.exitCode = GENERIC_FAILURE;
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

await main(process.argv);
