/**
 * The real-clock engine's own cost per I/O on real files. Random reads (4 KiB by default) spread over a few
 * image files, all due at once, so the engine keeps `queueDepth` reads in flight on every device until the
 * workload is done (a closed loop at that depth); then, per device try:
 *
 *   overhead = (entered the kernel - taken from its device's FIFO) + (engine done with it - completion seen)
 *
 * i.e. the time the engine itself holds each I/O beyond the device's (the device's time runs from just before
 * its batch entered the kernel to the moment its completion was seen). The admission policy's time is the
 * engine's: pass a LinnOS policy to include inference.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdmissionPolicy } from '../array/policy.js';
import { Random } from '../random.js';
import { arrivalsOf } from '../realdev/arrivals.js';
import { type BackendChoice, type BackendKind, createBackend } from '../realdev/backend.js';
import { type LagSummary, replayReal } from '../realdev/engine.js';
import { removeImage } from '../realdev/image.js';
import { closeDevices, openDevices } from '../realdev/open.js';
import type { TraceRecord } from '../trace/types.js';
import { type BenchSuite, summarise } from './harness.js';

export interface ReplayOverheadOptions {
  /** Existing files or block devices to read from (only read, never written, never removed). */
  paths?: readonly string[];
  /** Where the image files go (a fresh directory under os.tmpdir() by default, removed afterwards). */
  dir?: string;
  devices?: number;
  fileBytes?: number;
  ios?: number;
  ioBytes?: number;
  queueDepth?: number;
  backend?: BackendChoice;
  policy?: AdmissionPolicy;
  seed?: number;
  spinUs?: number;
}

export interface ReplayOverheadResult {
  backend: BackendKind;
  direct: boolean;
  devices: number;
  queueDepth: number;
  ioBytes: number;
  ios: number;
  wallMs: number;
  iops: number;
  /** Device time of the reads, us (mean over devices weighted by reads). */
  deviceReadMeanUs: number;
  /** Latency the application saw, us. */
  readLatency: { meanUs: number; p50Us: number; p99Us: number };
  /**
   * The engine's own time per device I/O beyond the device's, us: its JavaScript time per try (arrivals,
   * admission, bookkeeping), everything but the system calls and waits.
   */
  overheadUs: number;
  /** From leaving its FIFO to entering the kernel, per try, us. */
  submitDelayUs: LagSummary;
  /** Submission system calls per try, us (the kernel's issue path). */
  syscallUsPerTry: number;
  policy: string;
}

export async function benchReplayOverhead(
  options: ReplayOverheadOptions = {},
): Promise<ReplayOverheadResult> {
  const given = options.paths;
  const deviceCount = given?.length ?? options.devices ?? 3;
  const ios = options.ios ?? 20000;
  const ioBytes = options.ioBytes ?? 4096;
  const queueDepth = options.queueDepth ?? 32;
  const ownDir = given === undefined && options.dir === undefined;
  const dir = ownDir ? mkdtempSync(join(tmpdir(), 'lake-bench-')) : (options.dir ?? '.');
  const paths = given ?? Array.from({ length: deviceCount }, (_, i) => join(dir, `bench${i}.img`));
  // Given paths are only read (the user named them for this): no image mark is asked of them.
  const devices = await openDevices(
    paths,
    given === undefined
      ? { sizeBytes: options.fileBytes ?? 64 << 20, quiet: true }
      : { allowExistingFiles: true },
  );
  const fileBytes = Math.min(...devices.map((d) => d.capacityBytes));
  const random = new Random(options.seed ?? 1);
  const records: TraceRecord[] = [];
  const blocks = Math.floor(fileBytes / ioBytes);
  for (let i = 0; i < ios; i++) {
    records.push({
      arrivalMs: 0,
      device: i % deviceCount,
      offset: random.int(blocks) * ioBytes,
      size: ioBytes,
      read: true,
    });
  }
  const arrivals = arrivalsOf(records);
  try {
    const backend = createBackend(devices, {
      ...(options.backend !== undefined ? { backend: options.backend } : {}),
      maxInFlight: queueDepth * deviceCount,
      maxIoBytes: ioBytes,
    });
    const policy = options.policy ?? { name: 'baseline' };
    let latencySum = 0;
    const latencies: number[] = [];
    try {
      const result = await replayReal(arrivals, {
        devices,
        backend,
        policy,
        queueDepth,
        measureOverhead: true,
        ...(options.spinUs !== undefined ? { spinUs: options.spinUs } : {}),
        onRecord: (r) => {
          latencySum += r.latencyUs;
          latencies.push(r.latencyUs);
        },
      });
      latencies.sort((a, b) => a - b);
      const at = (p: number): number =>
        latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
      let reads = 0;
      let readUs = 0;
      for (const d of result.deviceTime) {
        reads += d.reads;
        readUs += d.reads * d.readMeanUs;
      }
      return {
        backend: backend.kind,
        direct: devices.every((d) => d.direct),
        devices: deviceCount,
        queueDepth,
        ioBytes,
        ios,
        wallMs: result.wallMs,
        iops: ios / (result.wallMs / 1000),
        deviceReadMeanUs: reads > 0 ? readUs / reads : 0,
        readLatency: {
          meanUs: latencies.length > 0 ? latencySum / latencies.length : 0,
          p50Us: at(50),
          p99Us: at(99),
        },
        overheadUs: result.cost?.engineUsPerTry ?? 0,
        submitDelayUs: result.cost?.submitDelay ?? { meanUs: 0, p50Us: 0, p90Us: 0, p99Us: 0, maxUs: 0 },
        syscallUsPerTry: result.cost?.syscallUsPerTry ?? 0,
        policy: policy.name,
      };
    } finally {
      await backend.close();
    }
  } finally {
    closeDevices(devices);
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    else for (const d of devices) if (d.created) removeImage(d.path);
  }
}

/** Real-file replay: the engine's own time per I/O beyond the device's, at queue depth 32 (3 runs). */
export async function replayOverheadSuite(samples: number): Promise<BenchSuite> {
  const runs = [];
  for (let i = 0; i < samples; i++) runs.push(await benchReplayOverhead({ queueDepth: 32 }));
  const last = runs[runs.length - 1]!;
  const details = {
    backend: last.backend,
    direct: last.direct,
    devices: last.devices,
    ioBytes: last.ioBytes,
    ios: last.ios,
  };
  return {
    suite: 'replay-overhead',
    results: [
      summarise(
        'engine time per I/O beyond the device, QD32',
        'us',
        runs.map((r) => r.overheadUs),
        details,
      ),
      summarise(
        'device read time (kernel), QD32',
        'us',
        runs.map((r) => r.deviceReadMeanUs),
        details,
      ),
      summarise(
        'IOPS, QD32',
        'ios/s',
        runs.map((r) => r.iops),
        details,
      ),
    ],
  };
}
