import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';

const root = fileURLToPath(new URL('../../', import.meta.url));
const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run the lake CLI from source (as `lake ...`) in a child process. */
export function runLake(args: readonly string[], timeoutMs = 120_000): CliResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Where a command prints (the CLI's stdout, or a test's string). */
export interface CommandOutput {
  write(text: string): void;
}

/** Adds a command to a program, printing to `output` (the CLI's register functions). */
export type RegisterCommand = (program: Command, output: CommandOutput) => void;

/** Run `lake ARGS` in this process with the given commands registered; what they printed. */
export async function runCommands(
  registers: readonly RegisterCommand[],
  args: readonly string[],
): Promise<string> {
  let printed = '';
  const program = new Command().name('lake').exitOverride();
  const output = {
    write: (text: string) => {
      printed += text;
    },
  };
  for (const register of registers) register(program, output);
  await program.parseAsync([...args], { from: 'user' });
  return printed;
}

/** Run one command in this process (`lake NAME ARGS`); what it printed. */
export function runCommand(
  register: RegisterCommand,
  name: string,
  args: readonly string[],
): Promise<string> {
  return runCommands([register], [name, ...args]);
}
