import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { benchReplayOverhead } from '../../src/bench/replay-overhead.js';
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
