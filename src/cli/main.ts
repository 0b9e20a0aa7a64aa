#!/usr/bin/env node
import { runCli } from './program.js';

/** The lake CLI: src/cli/program.ts prints every error as `lake: CODE: message` and picks the exit status. */
process.exitCode = await runCli(process.argv);
