import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Nvml, NvmlUtilisationSource, openNvml } from '../../../src/lake/backends/cuda/nvml.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { koffi, stubLibrarySkip } from './stub-library.js';

/**
 * The real koffi binding of NVML, against a stand-in libnvidia-ml.so.1 compiled from
 * test/fixtures/nvml-stub/libnvidia-ml-stub.c, whose processes and samples each test scripts: the struct
 * layouts, the NULL count queries, lastSeenTimeStamp and the error codes cross the FFI as they would to
 * NVIDIA's library. Skipped where koffi or a C compiler is missing.
 */
const skip = stubLibrarySkip();

const OWN = 4242;
/** An epoch time in us, as NVML stamps samples. */
const T0 = 1_700_000_000_000_000;

describe('NVML through koffi (stub libnvidia-ml)', { skip }, () => {
  let dir = '';
  let library = '';
  let script = '';
  let stubCalls: (out: Float64Array) => void;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lake-nvml-stub-'));
    library = join(dir, 'libnvidia-ml.so.1');
    script = join(dir, 'script');
    const source = fixturePath('nvml-stub/libnvidia-ml-stub.c');
    const built = spawnSync('cc', ['-shared', '-fPIC', '-o', library, source], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    process.env['STUB_NVML_SCRIPT'] = script;
    if (typeof koffi === 'string') return;
    // The stub's counters are unsigned long long; read as doubles they are exact below 2^53.
    const call = koffi.load(library).func('void stub_nvml_calls(_Out_ uint64_t *out)');
    stubCalls = (out) => {
      const raw = new BigUint64Array(6);
      call(raw);
      for (let i = 0; i < 6; i++) out[i] = Number(raw[i]);
    };
  });
  after(() => {
    delete process.env['STUB_NVML_SCRIPT'];
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (lines: string[]): void => writeFileSync(script, `${lines.join('\n')}\n`);
  const open = (): Nvml => {
    const nvml = openNvml(0, library);
    assert.equal(typeof nvml, 'object', String(nvml));
    return nvml as Nvml;
  };
  /** [samples' lastSeen, their buffer size, calls, processes' lastSeen, buffer size, calls]. */
  const calls = (): number[] => {
    const out = new Float64Array(6);
    stubCalls(out);
    return [...out];
  };

  test("per-process samples: the other processes' load over the window, lake's own pid left out", () => {
    const proc = ['process 4242 1048576', 'process 777 1048576', 'process 778 1048576'];
    const samples = [
      `psample 4242 ${T0 + 20_000} 90`,
      `psample 777 ${T0 + 20_000} 40`,
      `psample 778 ${T0 + 20_000} 30`,
      `psample 4242 ${T0 + 40_000} 90`,
      `psample 777 ${T0 + 40_000} 40`,
      `psample 778 ${T0 + 40_000} 30`,
      // 778 idle in the third period: NVML lists only processes busy in it.
      `psample 777 ${T0 + 60_000} 100`,
    ];
    write([...proc, ...samples, 'rates 99']);
    let nowUs = T0 + 65_000;
    const nvml = open();
    const source = new NvmlUtilisationSource(nvml, { ownPid: OWN, clock: () => 0, epochUs: () => nowUs });
    const before = calls();
    // Window (10 ms, 60 ms] after T0: 777 = (10*40 + 20*40 + 20*100) / 50 = 64%, 778 = (10*30 + 20*30) / 50.
    const first = source.utilisation();
    assert.equal(source.signal, 'process-samples');
    assert.equal(source.foreignProcesses, 2);
    assert.ok(Math.abs(first.foreign! - 0.82) < 1e-9, String(first.foreign));
    assert.equal(first.busy, 1, "lake's own 54% brings the device's total past 100%: clamped");
    assert.equal(source.sampleIntervalMs, 20);
    const [, , , seen, size, count] = calls();
    assert.deepEqual([seen, count! - before[5]!], [0, 1], 'first read: every sample the driver keeps');
    assert.equal(size, 64, 'the buffer holds what the NULL query counted (7), at least 64');

    // 778 exits (gone from the compute processes at once); 777 stays busy.
    write([proc[0]!, proc[1]!, ...samples, `psample 777 ${T0 + 80_000} 100`]);
    nowUs = T0 + 85_000;
    const second = source.utilisation();
    assert.equal(calls()[3], T0 + 60_000, 'lastSeenTimeStamp carried from the previous read');
    // Window (30, 80]: 777 = (10*40 + 20*100 + 20*100) / 50 = 88%; 778 has exited.
    assert.ok(Math.abs(second.foreign! - 0.88) < 1e-9, String(second.foreign));

    // Nothing newer (NOT_FOUND): once a sample period passes with no sample, the window ages past the load.
    nowUs = T0 + 200_000;
    const third = source.utilisation();
    assert.equal(calls()[3], T0 + 80_000);
    assert.equal(third.foreign, 0);
    source.close();
  });

  test('device samples where per-process ones are not supported, decoded by value type; rates last', () => {
    const lines = [
      'process 4242 1048576',
      'process 777 1048576',
      'psamples-result 3',
      `sample ${T0 + 100_000} 20`,
      `sample ${T0 + 200_000} 20`,
      `sample ${T0 + 300_000} 90`,
      'rates 65',
    ];
    write(lines);
    let nowUs = T0 + 310_000;
    const nvml = open();
    const source = new NvmlUtilisationSource(nvml, { ownPid: OWN, clock: () => 0, epochUs: () => nowUs });
    const reading = source.utilisation();
    assert.equal(source.signal, 'device-samples');
    assert.equal(reading.busy, 0.9, 'the 50 ms window lies inside the newest 100 ms sample');
    assert.equal(reading.foreign, undefined, "lake's own kernels are in it: the monitor subtracts them");
    assert.equal(source.sampleIntervalMs, 100);
    assert.equal(calls()[0], 0);

    // A driver storing doubles (nvmlValueType_t 0); the next read starts after the newest sample seen.
    write([...lines, 'valuetype 0', `sample ${T0 + 400_000} 55`]);
    nowUs = T0 + 410_000;
    assert.equal(source.utilisation().busy, 0.55);
    assert.equal(calls()[0], T0 + 300_000);

    // Samples not supported after all: nvmlDeviceGetUtilizationRates, and the samples are not asked again.
    write([...lines, 'samples-result 3']);
    assert.equal(source.utilisation().busy, 0.65);
    assert.equal(source.signal, 'utilisation-rates');
    const asked = calls()[2];
    write([...lines, `sample ${T0 + 500_000} 10`]);
    assert.equal(source.utilisation().busy, 0.65);
    assert.equal(calls()[2], asked);
    source.close();
  });

  test("host pids (lake not listed under its own): device samples, one process taken to be lake's", () => {
    write([
      'process 900 1048576',
      'process 901 1048576',
      `psample 900 ${T0 + 100_000} 80`,
      `psample 901 ${T0 + 100_000} 80`,
      `sample ${T0 + 100_000} 97`,
    ]);
    const nvml = open();
    const source = new NvmlUtilisationSource(nvml, {
      ownPid: OWN,
      clock: () => 0,
      epochUs: () => T0 + 110_000,
    });
    assert.equal(source.utilisation().busy, 0.97);
    assert.equal(source.signal, 'device-samples');
    write(['process 900 1048576', `sample ${T0 + 100_000} 97`]);
    const before = calls();
    assert.equal(source.utilisation().busy, 0, 'one process: lake alone');
    assert.deepEqual(calls(), before, 'alone, a poll reads the process list only');
    source.close();
  });

  test('an NVML error mid-run reads as idle and is kept', () => {
    write(['process 4242 1', 'process 777 1', 'psamples-result 15']);
    const nvml = open();
    const source = new NvmlUtilisationSource(nvml, { ownPid: OWN, clock: () => 0, epochUs: () => T0 });
    assert.equal(source.utilisation().busy, 0);
    assert.match(source.lastError ?? '', /nvmlDeviceGetProcessUtilization failed: GPU is lost \(15\)/);
    source.close();
  });

  test('a driver without the process list is refused, and NVML is shut down before it is unloaded', () => {
    if (typeof koffi === 'string') return;
    const bare = join(dir, 'no-process-list', 'libnvidia-ml.so.1');
    mkdirSync(dirname(bare), { recursive: true });
    const source = fixturePath('nvml-stub/libnvidia-ml-stub.c');
    const built = spawnSync('cc', ['-shared', '-fPIC', '-DSTUB_NO_PROCESS_LIST', '-o', bare, source], {
      encoding: 'utf8',
    });
    assert.equal(built.status, 0, built.stderr);
    // koffi keeps the library mapped while this handle lives, so the counter outlives openNvml's unload.
    const openCount = koffi.load(bare).func('int stub_nvml_open_count()') as () => number;
    const refused = openNvml(0, bare);
    assert.equal(typeof refused, 'string');
    assert.match(String(refused), /exports no nvmlDeviceGetComputeRunningProcesses/);
    assert.equal(openCount(), 0, 'every nvmlInit_v2 matched by an nvmlShutdown');
  });

  test('more processes than the first buffer holds: it grows and the whole list is read', () => {
    const many = Array.from({ length: 300 }, (_, i) => `process ${1000 + i} 1048576`);
    write(many);
    const nvml = open();
    const first = nvml.computeProcesses().map((p) => p.pid);
    assert.equal(first.length, 300);
    assert.deepEqual(
      first,
      Array.from({ length: 300 }, (_, i) => 1000 + i),
    );
    write(many.slice(0, 2));
    assert.deepEqual(
      nvml.computeProcesses().map((p) => p.pid),
      [1000, 1001],
    );
    nvml.close();
  });
});
