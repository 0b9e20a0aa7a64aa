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

/** Run one command in this process (`lake NAME ARGS`) through its register function; what it printed. */
export async function runCommand(
  register: (program: Command, output: CommandOutput) => void,
  name: string,
  args: readonly string[],
): Promise<string> {
  let printed = '';
  const program = new Command().exitOverride();
  register(program, {
    write: (text) => {
      printed += text;
    },
  });
  await program.parseAsync(['node', 'lake', name, ...args]);
  return printed;
}
