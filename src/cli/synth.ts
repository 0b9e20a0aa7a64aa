/**
 * `lake synth --profile azure|bing-i|cosmos|mixed --duration SECONDS --seed N --out FILE [--device N]
 * [--write-bursts] [--rate-scale X]`: write a synthetic workload in the LinnOS replayer input format.
 * `mixed` (or a comma list such as `azure,cosmos`) runs one profile per device, starting at --device.
 */
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { checkOutputs } from '../files/outputs.js';
import { type ProfileName, profileNames, synthesize, synthesizeMix } from '../trace/synth.js';
import { writeTrace } from '../trace/write.js';

interface SynthFlags {
  profile?: string;
  duration?: string;
  seed?: string;
  out?: string;
  device?: string;
  writeBursts?: boolean;
  rateScale?: string;
}

/** Where the command prints (stdout unless a test passes its own). */
const stdout = { write: (text: string): void => void process.stdout.write(text) };

export function registerSynth(program: Command, output: { write(text: string): void } = stdout): void {
  program
    .command('synth')
    .description(
      'generate a synthetic workload (LAKE parameters for Azure, Bing-I, Cosmos) in LinnOS input format',
    )
    .option('--profile <name>', `${profileNames.join(' | ')} | mixed (one per device), or a comma list`)
    .option('--duration <seconds>', 'length of the trace in seconds')
    .option('--seed <n>', 'random seed (non-negative integer)')
    .option('--out <file>', 'output trace file (written atomically)')
    .option('--device <n>', 'device number of the records (the first profile of a mix)', '0')
    .option('--write-bursts', 'add periodic write bursts (every 1 s, 100 ms at 4x rate, 5% reads)')
    .option('--rate-scale <x>', 'multiply the arrival rate (3 = the 3x IOPS runs)', '1')
    .action(async (flags: SynthFlags) => {
      const mix = parseProfiles(required(flags.profile, '--profile'));
      const durationS = parseNumber(required(flags.duration, '--duration'), '--duration', (v) => v > 0);
      const seed = parseInteger(required(flags.seed, '--seed'), '--seed');
      const out = required(flags.out, '--out');
      checkOutputs([{ flag: '--out', path: out }]);
      const device = parseInteger(flags.device ?? '0', '--device');
      const rateScale = parseNumber(flags.rateScale ?? '1', '--rate-scale', (v) => v > 0);
      const options = {
        durationMs: durationS * 1000,
        seed,
        device,
        rateScale,
        writeBursts: flags.writeBursts === true,
      };
      const records = mix.length === 1 ? synthesize(mix[0]!, options) : synthesizeMix(mix, options);
      const summary = await writeTrace(out, records, 'linnos-input');
      output.write(
        `wrote ${summary.records} I/Os (${mix.join('+')}, ${durationS} s, seed ${seed}) to ${summary.file}\n`,
      );
    });
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw usageError(`${flag} is required`);
  return value;
}

function parseProfiles(value: string): ProfileName[] {
  if (value === 'mixed') return [...profileNames];
  return value.split(',').map((name) => {
    const profile = profileNames.find((p) => p === name.trim());
    if (profile === undefined) {
      throw usageError(
        `--profile must be ${profileNames.join(', ')}, mixed or a comma list of them, got "${value}"`,
      );
    }
    return profile;
  });
}

function parseNumber(text: string, flag: string, valid: (v: number) => boolean): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || !valid(value)) {
    throw usageError(`${flag} must be a positive number, got "${text}"`);
  }
  return value;
}

function parseInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
    throw usageError(`${flag} must be a non-negative integer, got "${text}"`);
  }
  return value;
}
