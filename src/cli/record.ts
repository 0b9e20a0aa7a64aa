/**
 * `lake record --devices a.img,b.img,c.img --trace x.trace[,y,z] --out trace.csv`: replay a trace on real
 * devices on the plain path (no admission) and write every I/O with its measured latency in the LinnOS
 * replayer's 9-column output (io_index, device_index, sched_ts_ms, latency_us, rw, size_B, offset_B,
 * submit_ts_ms, ret), ready for `lake train --trace trace.csv`.
 *
 * The latency column is the I/O's device latency, from its issue to the device to its completion, as the
 * LinnOS replayer measures around pread: time waiting for a queue-depth slot is in it, as a request waiting
 * for a tag in the block layer is (the same latency the online policy's features see). Rows are in
 * submission order, which `lake train` uses to break ties of equal submission times.
 */
import type { Command } from 'commander';
import type { IoRecord } from '../array/types.js';
import { describePrepared } from '../ceph/replicas.js';
import { LakeError } from '../errors.js';
import { runRealPolicies } from '../realdev/run.js';
import { LatencyRecorder } from '../report/histogram.js';
import { createProgress } from '../report/progress.js';
import type { TraceRecord } from '../trace/types.js';
import { writeTrace } from '../trace/write.js';
import {
  addRealDeviceOptions,
  deviceJson,
  engineSettings,
  openWorkload,
  type RealDeviceFlags,
  replayJson,
  workloadDescription,
} from './replay.js';
import { round3 } from './run-report.js';

interface RecordFlags extends RealDeviceFlags {
  out?: string;
}

const stdout = { write: (text: string): void => void process.stdout.write(text) };

export function registerRecord(program: Command, output: { write(text: string): void } = stdout): void {
  addRealDeviceOptions(
    program
      .command('record')
      .description(
        'replay a trace on real devices and write each I/O with its latency (LinnOS 9-column output)',
      ),
  )
    .option('--out <file>', 'trace file to write (written atomically)')
    .action(async (flags: RecordFlags) => {
      output.write(await recordCommand(flags));
    });
}

interface Recorded extends TraceRecord {
  index: number;
  seq: number;
}

async function recordCommand(flags: RecordFlags): Promise<string> {
  if (flags.out === undefined)
    throw new LakeError('LAKE_E_USAGE', 'lake record needs --out FILE (the trace to write)');
  const out = flags.out;
  const quiet = flags.json === true;
  // The output is checked (a writable file, none of the inputs) before the trace is read or a device opened.
  const workload = await openWorkload(flags, { outputs: [{ flag: '--out', path: out }] });
  const { devices, arrivals } = workload;
  const records: Recorded[] = [];
  let failed = 0;
  const deviceRead = new LatencyRecorder();
  try {
    const progress = createProgress({ label: 'record', total: arrivals.count, quiet });
    const [run] = await runRealPolicies({
      arrivals,
      devices,
      specs: [{ kind: 'baseline', name: 'baseline' }],
      seed: 0,
      ...engineSettings(workload),
      onWarning: (m) => process.stderr.write(`lake: warning: ${m}\n`),
      onProgress: (_spec, arrived) => progress.update(arrived),
      onRecord: (_spec, r: IoRecord) => {
        if (r.ok === 0) {
          failed++;
          return;
        }
        const latencyUs = r.completeUs - r.submitUs;
        if (r.read) deviceRead.record(latencyUs);
        records.push({
          arrivalMs: r.arrivalMs,
          device: r.servedBy,
          offset: r.offset,
          size: r.size,
          read: r.read,
          latencyUs,
          submitMs: r.submitUs / 1000,
          index: r.index,
          seq: r.submitSeq,
        });
      },
    });
    progress.stop();
    if (run === undefined) throw new LakeError('LAKE_E_INTERNAL', 'the baseline run produced no result');
    if (failed > 0)
      throw new LakeError('LAKE_E_IO', `${failed} I/Os failed (${run.result.firstError}): nothing written`);
    records.sort((a, b) => a.seq - b.seq);
    const summary = await writeTrace(out, records, 'linnos-output', { ioIndex: (r) => r.index });
    const read = deviceRead.summary();
    const result = {
      tool: 'lake',
      command: 'record',
      out: summary.file,
      format: summary.format,
      records: summary.records,
      workload: workloadDescription(workload),
      devices: devices.map(deviceJson),
      ...(workload.prepared !== undefined ? { prepared: describePrepared(workload.prepared) } : {}),
      deviceReadLatencyUs: {
        count: read.count,
        avg: round3(read.avgUs),
        p50: round3(read.p50Us),
        p99: round3(read.p99Us),
        max: round3(read.maxUs),
      },
      replay: replayJson(run),
    };
    if (quiet) return `${JSON.stringify(result, null, 2)}\n`;
    return (
      `recorded ${summary.records} I/Os (${read.count} reads) on ${devices.length} devices to ${summary.file}\n` +
      `read device latency: avg ${read.avgUs.toFixed(1)} us, p50 ${read.p50Us.toFixed(1)}, p99 ${read.p99Us.toFixed(1)}, max ${read.maxUs.toFixed(1)}\n` +
      `late ${(run.result.lateFraction * 100).toFixed(2)}% (>${run.result.lateAfterUs} us after its time), lag p99 ${run.result.lag.p99Us.toFixed(1)} us, ${run.result.backend} backend, queue depth ${run.result.queueDepth}\n`
    );
  } finally {
    for (const d of devices) d.close();
    await workload.cluster?.close();
  }
}
