/**
 * Latencies for a trace that records none (MSR, Alibaba, Tencent raw, synthetic): replay its arrivals on one
 * simulated SSD under the baseline policy (src/array/engine.ts, src/flash) and record, per I/O, the submit
 * time and the device latency. The result is a trace the causal pipelines can learn from — the device is
 * different from the shared NVMe windows, which makes it data no feature or setting was chosen on.
 */

import { replay } from '../array/engine.js';
import { baselinePolicy } from '../array/policies.js';
import type { IoRecord } from '../array/types.js';
import { createFlashDevice, type FlashProfileName } from '../flash/index.js';
import type { TraceRecord } from '../trace/types.js';

export interface SimulatedLatencyOptions {
  /** Flash timing profile (default 'femu'). */
  flash?: FlashProfileName;
  /** Default 1. */
  seed?: number;
  /** Multiply arrival times by this (below 1 compresses time: a busier device). Default 1. */
  timeScale?: number;
}

/** Each I/O of `records` (one device) with submitMs and latencyUs from a simulated SSD, in arrival order. */
export function simulateLatencies(
  records: readonly TraceRecord[],
  options: SimulatedLatencyOptions = {},
): TraceRecord[] {
  const scale = options.timeScale ?? 1;
  const device = createFlashDevice({
    profile: options.flash ?? 'femu',
    name: 'ssd0',
    seed: options.seed ?? 1,
  });
  const out: TraceRecord[] = new Array(records.length);
  replay(
    records.map((r) => ({ ...r, device: 0, arrivalMs: r.arrivalMs * scale })),
    {
      devices: [device],
      policy: baselinePolicy(),
      onRecord: (io: IoRecord) => {
        out[io.index] = {
          arrivalMs: io.arrivalMs,
          device: 0,
          offset: io.offset,
          size: io.size,
          read: io.read,
          submitMs: io.submitUs / 1000,
          latencyUs: io.completeUs - io.submitUs,
        };
      },
    },
  );
  return out;
}
