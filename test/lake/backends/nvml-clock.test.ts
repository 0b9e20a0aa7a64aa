import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import {
  type GpuProcess,
  type Nvml,
  type NvmlProcessSamples,
  NvmlUtilisationSource,
} from '../../../src/lake/backends/cuda/nvml.js';

const OWN = 4242;
const JOB = 777;
const SAMPLE_MS = 20;

/**
 * NVML as the driver stamps its samples: the CPU's wall clock (us since the epoch) when it takes them. A job
 * kept the GPU fully busy over the last ten sample periods, up to now.
 */
class WallClockNvml implements Nvml {
  readonly #out = {
    count: 0,
    pid: new Uint32Array(16),
    timestampUs: new Float64Array(16),
    smPercent: new Float64Array(16),
  };
  utilisationPercent(): number {
    throw new Error('not used: the driver keeps per-process samples');
  }
  computeProcesses(): readonly GpuProcess[] {
    return [
      { pid: OWN, usedMemoryBytes: 1 },
      { pid: JOB, usedMemoryBytes: 1 },
    ];
  }
  deviceSamples(): undefined {
    return undefined;
  }
  processSamples(afterUs: number): NvmlProcessSamples {
    const out = this.#out;
    out.count = 0;
    const nowUs = Math.floor(Date.now() / SAMPLE_MS) * SAMPLE_MS * 1000;
    for (let k = 9; k >= 0; k--) {
      const at = nowUs - k * SAMPLE_MS * 1000;
      if (at <= afterUs) continue;
      out.pid[out.count] = JOB;
      out.timestampUs[out.count] = at;
      out.smPercent[out.count] = 100;
      out.count++;
    }
    return out;
  }
  close(): void {}
}

test("NVML's samples are placed on the wall clock they are stamped with, also after the clock was set back", () => {
  const wall = Date.now.bind(Date);
  // The system clock was set back 10 s after lake started (an NTP step, a VM resumed): the driver's
  // stamps follow it; a clock anchored at the process's start does not.
  const stepped = mock.method(Date, 'now', () => wall() - 10_000);
  try {
    const source = new NvmlUtilisationSource(new WallClockNvml(), { ownPid: OWN });
    const reading = source.utilisation();
    assert.equal(source.signal, 'process-samples');
    assert.equal(source.foreignProcesses, 1);
    assert.ok(
      reading.foreign !== undefined && reading.foreign > 0.9,
      `the job's load over the window: ${reading.foreign}`,
    );
  } finally {
    stepped.mock.restore();
  }
});
