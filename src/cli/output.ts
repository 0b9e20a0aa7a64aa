/**
 * Where a command prints: its result on `write` (stdout, or a test's string) and its warnings on `warn`
 * (stderr as `lake: warning: ...`). A command that prints JSON also puts its warnings in the JSON.
 */
export interface CommandOutput {
  write(text: string): void;
  /** Absent: warnings go to stderr. */
  warn?(message: string): void;
}

export const processOutput: CommandOutput = {
  write: (text) => void process.stdout.write(text),
  warn: (message) => void process.stderr.write(`lake: warning: ${message}\n`),
};

/** Prints each warning through `output` (stderr unless the output takes them itself). */
export function emitWarnings(output: CommandOutput, warnings: readonly string[]): void {
  for (const message of warnings) {
    if (output.warn !== undefined) output.warn(message);
    else process.stderr.write(`lake: warning: ${message}\n`);
  }
}
