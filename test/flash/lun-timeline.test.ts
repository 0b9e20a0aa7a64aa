/**
 * One die's timeline, op by op, with the times worked out by hand: with read priority a read goes ahead of
 * queued work and every queued op (foreground Q1 and idle-priority Q2) moves later by the read's time;
 * without it a read is one more FIFO op.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KIND_ERASE, KIND_GC, KIND_PROGRAM, KIND_READ, LunTimelines } from '../../src/flash/lun-timeline.js';

function timeline(readPriority: boolean): LunTimelines {
  return new LunTimelines({
    luns: 1,
    readPriority,
    suspension: false,
    suspendLatencyUs: 0,
    maxSuspendsPerOp: 0,
  });
}

/** Two 100 us programs queued at 0 (the first runs 0-100) and 50 us of idle-priority GC after them. */
function busy(readPriority: boolean): LunTimelines {
  const t = timeline(readPriority);
  assert.equal(t.append(0, 1, KIND_PROGRAM, 100, 2, 0), 200);
  assert.equal(t.append(0, 2, KIND_GC, 50, 1, 0), 250);
  return t;
}

describe('LUN timeline', () => {
  test('with read priority a read waits only for the op executing and pushes queued work back', () => {
    const t = busy(true);
    // At 10 the first program runs until 100: the read starts then, ahead of the second program.
    assert.equal(t.placeRead(0, 30, 10), 100);
    assert.equal(t.waitByKind[KIND_PROGRAM], 90);
    assert.equal(t.waitByKind[KIND_READ], 0);
    // The queued program now runs 130-230 and the GC 230-280.
    assert.equal(t.backgroundBacklog(0, 10), 270);
    // A program queued now goes after the queued one: 230-330, and the GC after it, 330-380.
    assert.equal(t.append(0, 1, KIND_PROGRAM, 100, 1, 10), 330);
    assert.equal(t.backgroundBacklog(0, 10), 370);
    // A second read waits behind the first (100-130), then pushes everything queued back by 20.
    assert.equal(t.placeRead(0, 20, 20), 130);
    assert.equal(t.waitByKind[KIND_PROGRAM], 80);
    assert.equal(t.waitByKind[KIND_READ], 30);
    assert.equal(t.backgroundBacklog(0, 20), 380);
    // Erase queued behind it all: after the programs (ending 350), before the GC.
    assert.equal(t.append(0, 1, KIND_ERASE, 1000, 1, 20), 1350);
    assert.equal(t.backgroundBacklog(0, 20), 1380);
  });

  test('queued work that the reads pushed back runs in full once the reads are done', () => {
    const t = busy(true);
    t.placeRead(0, 30, 10);
    // At 140 the reads (100-130) are done and the second program (130-230) executes: a read waits for it.
    assert.equal(t.placeRead(0, 30, 140), 230);
    assert.equal(t.waitByKind[KIND_PROGRAM], 90);
    // GC now runs 260-310.
    assert.equal(t.backgroundBacklog(0, 140), 170);
  });

  test('without read priority a read queues behind every foreground op, and idle GC behind it', () => {
    const t = busy(false);
    // FIFO: behind the executing program (until 100) and the queued one (100-200).
    assert.equal(t.placeRead(0, 30, 10), 200);
    assert.equal(t.waitByKind[KIND_PROGRAM], 190);
    assert.equal(t.backgroundBacklog(0, 10), 270);
    assert.equal(t.append(0, 1, KIND_PROGRAM, 100, 1, 10), 330);
  });
});
