/**
 * `lake synth --profile azure|bing-i|cosmos|mixed --duration SECONDS --seed N --out FILE [--device N]
 * [--write-bursts] [--rate-scale X]`: write a synthetic workload in the LinnOS replayer input format.
 * `mixed` (or a comma list such as `azure,cosmos`) runs one profile per device, starting at --device.
 */
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { checkOutputs } from '../files/outputs.js';
import { createProgress, type Progress } from '../report/progress.js';
import { type ProfileName, profileNames, profiles, synthesize, synthesizeMix } from '../trace/synth.js';
import type { TraceRecord } from '../trace/types.js';
import { writeTrace } from '../trace/write.js';
import { echoOption, parseIntOption, parseNumberOption, parseSeedOption } from './options.js';
import { type CommandOutput, emitWarnings, processOutput } from './output.js';

interface SynthFlags {
  profile?: string;
  duration?: string;
  seed?: string;
  out?: string;
  device?: string;
  writeBursts?: boolean;
  rateScale?: string;
}

export function registerSynth(program: Command, output: CommandOutput = processOutput): void {
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
      const durationS = parseNumberOption('--duration', required(flags.duration, '--duration'), { above: 0 });
      const seed = parseSeedOption('--seed', required(flags.seed, '--seed'));
      const out = required(flags.out, '--out');
      checkOutputs([{ flag: '--out', path: out }]);
      const device = parseIntOption(
        '--device',
        flags.device ?? '0',
        0,
        Number.MAX_SAFE_INTEGER - (mix.length - 1),
      );
      const rateScale = parseNumberOption('--rate-scale', flags.rateScale ?? '1', { above: 0 });
      // The mean arrival rate decides whether the trace would hold anything at all.
      const expected = mix.reduce(
        (sum, p) => sum + (durationS * 1e6 * rateScale) / profiles[p].meanInterArrivalUs,
        0,
      );
      if (expected < 1) {
        const gapUs = 1 / mix.reduce((sum, p) => sum + rateScale / profiles[p].meanInterArrivalUs, 0);
        throw usageError(
          `--duration ${echoOption(flags.duration!)} is too short for any I/O: ${mix.join('+')} issues one ` +
            `every ${gapUs.toPrecision(3)} us on average at --rate-scale ${rateScale}`,
        );
      }
      const options = {
        durationMs: durationS * 1000,
        seed,
        device,
        rateScale,
        writeBursts: flags.writeBursts === true,
      };
      const records = mix.length === 1 ? synthesize(mix[0]!, options) : synthesizeMix(mix, options);
      // Progress over the trace's own time line: the records arrive in time order up to the duration.
      const progress = createProgress({
        label: `synth ${out}`,
        total: Math.round(durationS * 1000),
        unit: 'ms',
        showAfterMs: 1000,
      });
      let summary: Awaited<ReturnType<typeof writeTrace>>;
      try {
        summary = await writeTrace(out, withTimeProgress(records, progress), 'linnos-input');
        progress.complete();
      } finally {
        progress.stop();
      }
      if (summary.records === 0) {
        emitWarnings(output, [`the trace holds no I/O: ${durationS} s drew no arrival (seed ${seed})`]);
      }
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
        `--profile must be ${profileNames.join(', ')}, mixed or a comma list of them, got ${echoOption(value)}`,
      );
    }
    return profile;
  });
}

/** Passes records through, reporting their arrival time (ms) every 4096 records. */
function* withTimeProgress(records: Iterable<TraceRecord>, progress: Progress): Generator<TraceRecord> {
  let n = 0;
  for (const record of records) {
    if ((++n & 4095) === 0) progress.update(Math.round(record.arrivalMs));
    yield record;
  }
}
