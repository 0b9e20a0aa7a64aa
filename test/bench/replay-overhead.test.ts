import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { admitAllLinnos, benchReplayOverhead } from '../../src/bench/replay-overhead.js';
import { assertPlainData } from '../helpers/plain-data.js';

const dir = mkdtempSync(join(tmpdir(), 'lake-realdev-bench-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test(
  'the overhead benchmark returns plain data and removes the files it made',
  {
    timeout: 30_000,
  },
  async () => {
    const result = await benchReplayOverhead({ dir, ios: 300, fileBytes: 1 << 20, queueDepth: 8 });
    assertPlainData(result);
    assert.equal(result.ios, 300);
    assert.equal(result.queueDepth, 8);
    assert.ok(result.iops > 0 && result.wallMs > 0);
    assert.ok(result.deviceReadMeanUs > 0);
    assert.ok(result.overheadUs > 0 && Number.isFinite(result.overheadUs));
    assert.ok(result.submitDelayUs.p99Us >= result.submitDelayUs.p50Us);
    assert.deepEqual(readdirSync(dir), [], 'its image files are gone');
    assert.ok(existsSync(dir), 'a directory it was given is kept');
  },
);

test(
  "the linnos row's policy decides on its submit path, as lake replay's does, and revokes nothing",
  { timeout: 30_000 },
  async () => {
    const linnos = admitAllLinnos(2, 5);
    // Count the full forwards: with a submit path per device there is none.
    let fullForwards = 0;
    const predict = linnos.predictor.predict.bind(linnos.predictor);
    linnos.predictor.predict = (x) => {
      fullForwards++;
      return predict(x);
    };
    try {
      const result = await benchReplayOverhead({
        dir,
        devices: 2,
        ios: 400,
        fileBytes: 1 << 20,
        queueDepth: 8,
        policy: linnos.policy,
      });
      assert.equal(result.ios, 400);
      const stats = linnos.policy.stats;
      // A device's first reads go out before it has completed 4 (no history, nothing to predict from).
      assert.ok(stats.predicted > 200, `${stats.predicted} of ${stats.offered} reads predicted`);
      assert.equal(stats.revoked, 0);
      assert.equal(stats.faults, 0);
      assert.equal(fullForwards, 0, 'no read ran the full forward');
    } finally {
      await linnos.close();
    }
    assert.ok(linnos.predictor.disposed, 'close() frees the predictor');
  },
);
