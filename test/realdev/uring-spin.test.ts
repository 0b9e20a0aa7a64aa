/**
 * The io_uring ring's adaptive spin: waits whose first completion comes later than the caller's spin (or
 * never) halve the spin budget down to 0, so a deep queue completing in bursts burns no CPU spinning; a wait
 * whose completion comes within the spin grows it back (from a small floor, doubling, never above the spin).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadNative } from '../../src/realdev/native.js';
import { UringBackend } from '../../src/realdev/uring.js';

const io = loadNative().io;
const usable = io !== undefined && UringBackend.probe(io).available;
const dir = mkdtempSync(join(tmpdir(), 'lake-uring-spin-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test(
  'the spin budget falls to 0 over waits that outlast the spin, and grows back when a completion comes within it',
  { skip: usable ? false : 'the io_uring addon is not available here' },
  async () => {
    const native = io!;
    // A FIFO opened read-write (never at end of file): a read completes when a child process writes to it,
    // tens of ms later, so its completion is never ready at once and always within a 1 s spin.
    const fifo = join(dir, 'fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
    const fd = openSync(fifo, constants.O_RDWR);
    const writers: ChildProcess[] = [];
    const submissions = new Float64Array(5 * 8);
    const completions = new Float64Array(3 * 16);
    const ring = native.createRing(8, 4096, 4096, submissions, completions);
    try {
      const spinUs = 200;
      // Nothing in flight: each wait spins its budget, then sleeps to its deadline without a completion.
      let budget = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 12; i++) {
        assert.equal(native.wait(ring, native.nowUs() + 1000, spinUs), 0);
        const next = native.spinBudget(ring);
        assert.ok(next <= Math.min(budget, spinUs), `wait ${i}: ${next} after ${budget}`);
        budget = next;
      }
      assert.equal(budget, 0, 'waits that never saw a completion within the spin stop spinning');
      // A wait shorter than the spin says nothing about spinning: the budget stays.
      native.wait(ring, native.nowUs() + 50, spinUs);
      assert.equal(native.spinBudget(ring), 0);
      // A read that completes well within a long spin (1 s), not at once: the budget grows back, doubling up to the spin.
      const grown: number[] = [];
      for (let i = 0; i < 10; i++) {
        submissions.set([i, fd, 0, 0, 1], 0);
        native.submit(ring, 1);
        writers.push(spawn('sh', ['-c', `sleep 0.02; printf x > '${fifo}'`], { stdio: 'ignore' }));
        let seen = 0;
        while (seen === 0) seen = native.wait(ring, native.nowUs() + 5_000_000, 1_000_000);
        assert.equal(completions[0], i, 'the completion of the read submitted');
        assert.equal(completions[1], 1);
        grown.push(native.spinBudget(ring));
      }
      assert.equal(grown[0], 2, 'from 0 the budget grows from its floor');
      for (let i = 1; i < grown.length; i++)
        assert.equal(grown[i], Math.min(1_000_000, grown[i - 1]! * 2), `doubling: ${grown.join(', ')}`);
    } finally {
      native.close(ring);
      closeSync(fd);
      await Promise.all(writers.map((w) => (w.exitCode === null ? once(w, 'exit') : undefined)));
    }
  },
);
