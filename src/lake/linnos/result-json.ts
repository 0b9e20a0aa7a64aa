import type { LakeLinnosResult } from './run.js';

/**
 * The demo's results.json view of a LinnOS-on-LAKE run: numbers rounded, per shape and run. `reasons` and
 * `contentionMoves` per run count batches kept off a backend by NVML's or lakeD's load ('utilisation') and
 * by lake's own slowed GPU batches ('slowdown'), and which moved first each time. Everything
 * read from this machine's clock is under `timing` (wall-clock time per batch, the user policy's call
 * cost); the rest is the same on every run with one seed and the same crossovers (`crossoverSource`
 * 'given'). With measured crossovers the calibration tables are timings too: they are recorded with the
 * crossovers they gave.
 */
export function lakeResultJson(result: LakeLinnosResult): Record<string, unknown> {
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  const { meanCallUs, ...userPolicy } = result.userPolicy ?? { name: '' };
  return {
    baseline: {
      avgUs: r3(result.baseline.avgUs),
      p99Us: r3(result.baseline.p99Us),
      p999Us: r3(result.baseline.p999Us),
    },
    backends: result.backends.map((b) => {
      const fault = result.backendFaults.find((f) => f.backend === b.name);
      return {
        name: b.name,
        usable: b.available,
        ...(b.reason !== undefined ? { reason: b.reason } : {}),
        ...(fault !== undefined
          ? {
              fault: fault.reason,
              // null: learned before the runs (in calibration, or by an earlier user of the lakeLib).
              faultedAt: fault.run !== undefined ? { run: fault.run, batch: fault.batch } : null,
            }
          : {}),
      };
    }),
    crossovers: result.crossoversFlag,
    crossoverSource: result.crossoverSource,
    shapes: Object.fromEntries(
      result.shapes.map((shape) => [
        shape.shape,
        {
          crossovers: shape.crossovers,
          calibration: {
            source: shape.calibration.source,
            batchSizes: shape.calibration.batchSizes,
            inlineUs: shape.calibration.inlineUs.map(r3),
            backends: Object.fromEntries(
              shape.calibration.backends.map((b) => [b.backend, b.usPerBatch.map(r3)]),
            ),
          },
          skipped: shape.skipped,
          runs: Object.fromEntries(
            shape.runs.map((run) => [
              run.variant,
              {
                placement: run.placement,
                batching: run.batching,
                read: {
                  count: run.read.count,
                  avgUs: r3(run.read.avgUs),
                  p99Us: r3(run.read.p99Us),
                  p999Us: r3(run.read.p999Us),
                },
                revokes: run.revokes,
                decisions: run.stats.decisions,
                unpredicted: run.stats.unpredicted,
                decisionsBy: run.stats.decisionsBy,
                batchesBy: run.stats.batchesBy,
                reasons: run.stats.reasons,
                contentionMoves: run.stats.contentionMoves,
                closes: run.stats.closes,
                batchSizes: run.stats.batchSizes,
                meanBatch: r3(run.meanBatch),
                meanInferenceUs: r3(run.meanInferenceUs),
                meanWaitUs: r3(run.meanWaitUs),
                policyFaults: run.replay.policyFaults,
                ...(run.replay.firstPolicyFault !== undefined
                  ? { firstPolicyFault: run.replay.firstPolicyFault }
                  : {}),
                inferenceFaults: run.stats.faults,
                ...(Object.keys(run.stats.backendFaults).length > 0
                  ? { backendFaults: run.stats.backendFaults }
                  : {}),
              },
            ]),
          ),
        },
      ]),
    ),
    lakeLib: { restarts: result.lakeLib.restarts, failures: result.lakeLib.failures.length },
    // Each GPU's slowdown signal: raises, what cleared them, slowed batches with lake alone on the device.
    ...(result.slowdown.length > 0
      ? {
          slowdown: Object.fromEntries(
            result.slowdown.map(({ backend, lastRaisedAtMs: _at, ...counts }) => [backend, counts]),
          ),
        }
      : {}),
    ...(result.userPolicy !== undefined ? { userPolicy } : {}),
    timing: {
      wallUsPerBatch: Object.fromEntries(
        result.shapes.flatMap((shape) => shape.runs.map((run) => [run.name, r3(run.meanWallUs)])),
      ),
      ...(meanCallUs !== undefined ? { userPolicyCallUs: r3(meanCallUs) } : {}),
    },
  };
}
