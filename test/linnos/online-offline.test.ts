import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeStreams, replay } from '../../src/array/engine.js';
import type { AdmissionPolicy } from '../../src/array/policy.js';
import type { IoRecord } from '../../src/array/types.js';
import { createFlashDevice } from '../../src/flash/index.js';
import { extractLinnosDataset } from '../../src/linnos/extract.js';
import { LINNOS_FEATURES, linnosFeatures } from '../../src/linnos/features.js';
import { synthesize } from '../../src/trace/synth.js';

const small = { channels: 2, lunsPerChannel: 2, blocksPerLun: 64, pagesPerBlock: 32 } as const;

/**
 * The same replay gives the same LinnOS vectors whether they are computed online, from the array's live
 * device view at each read's submission, or offline, from the replay's records.
 */
test('online and offline LinnOS vectors are identical on the same replay', () => {
  const online: string[][] = [[], [], []];
  const buffer = new Uint8Array(LINNOS_FEATURES);
  // A spy policy that never revokes: it records the vector the live view gives for each first try.
  const spy: AdmissionPolicy = {
    name: 'spy',
    admit(read, context) {
      const view = context.devices[read.device]!;
      if (linnosFeatures(view, read.size, buffer)) online[read.device]!.push(buffer.join(''));
      return false;
    },
  };
  const devices = [0, 1, 2].map((i) => createFlashDevice({ ...small, name: `ssd${i}`, seed: i + 1 }));
  const records: IoRecord[] = [];
  const arrivals = mergeStreams(
    ['azure', 'bing-i', 'cosmos'].map((p, i) =>
      synthesize(p as 'azure', {
        durationMs: 400,
        seed: 40 + i,
        spanBytes: 64 * 1024 * 1024,
        rateScale: 0.5,
      }),
    ),
  );
  // lcReads on and 3 devices: every first try of a read is offered to the policy (attempt 0 < 2).
  replay(arrivals, { devices, policy: spy, onRecord: (r) => records.push(r) });
  const offline = extractLinnosDataset(records);
  let compared = 0;
  for (const dataset of offline) {
    const vectors: string[] = [];
    for (let i = 0; i < dataset.count; i++) {
      vectors.push(dataset.vectors.subarray(i * LINNOS_FEATURES, (i + 1) * LINNOS_FEATURES).join(''));
    }
    assert.deepEqual(vectors, online[dataset.device], `device ${dataset.device}`);
    compared += vectors.length;
  }
  assert.ok(compared > 500, `compared only ${compared} vectors`);
});
