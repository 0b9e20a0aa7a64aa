import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type CausalFeatureExtractor,
  extractCausal,
  forEachEvent,
} from '../../src/realtrace/event-stream.js';
import { ioTableFromRecords } from '../../src/realtrace/io-table.js';
import type { TraceRecord } from '../../src/trace/types.js';

function io(submitMs: number, latencyUs: number, read = true, size = 4096): TraceRecord {
  return { arrivalMs: submitMs, submitMs, latencyUs, read, size, offset: 0, device: 0 };
}

function events(records: TraceRecord[]): string[] {
  const table = ioTableFromRecords(records);
  const out: string[] = [];
  forEachEvent(table, { onSubmit: (i) => out.push(`s${i}`), onComplete: (i) => out.push(`c${i}`) });
  return out;
}

describe('causal event stream', () => {
  test('events run in time order; at equal times a completion of an earlier I/O runs before a submit', () => {
    // I/O 0 completes at 1.000 ms exactly when I/O 1 is submitted.
    assert.deepEqual(events([io(0, 1000), io(1, 500)]), ['s0', 'c0', 's1', 'c1']);
  });

  test('a zero-latency I/O completes right after its own submit, before later submits at that time', () => {
    assert.deepEqual(events([io(0, 0), io(0, 10)]), ['s0', 'c0', 's1', 'c1']);
  });

  test('completions at equal times run in submit order', () => {
    assert.deepEqual(events([io(0, 300), io(0.1, 200), io(0.2, 100)]), ['s0', 's1', 's2', 'c0', 'c1', 'c2']);
  });

  test('submit order follows submit times, ties kept in file order', () => {
    const table = ioTableFromRecords([io(2, 1), io(1, 1), io(1, 2)]);
    assert.deepEqual([...table.source], [1, 2, 0]);
  });

  test('a read is asked for its features before its own submit, and only ever sees completed latencies', () => {
    const seen: string[] = [];
    const extractor: CausalFeatureExtractor = {
      names: ['x'],
      featuresAt(timeUs, _size, _read, out, offset) {
        seen.push(`f@${timeUs}`);
        out[offset] = timeUs;
        return true;
      },
      onSubmit(i) {
        seen.push(`s${i}`);
      },
      onComplete(i, timeUs, latencyUs) {
        seen.push(`c${i}:${latencyUs}@${timeUs}`);
      },
    };
    const table = ioTableFromRecords([io(0, 500), io(0.1, 100, false), io(0.2, 100)]);
    const set = extractCausal(table, extractor);
    assert.deepEqual(seen, ['f@0', 's0', 's1', 'c1:100@200', 'f@200', 's2', 'c2:100@300', 'c0:500@500']);
    // Writes are submitted and completed but get no vector.
    assert.deepEqual([...set.rows], [0, 2]);
  });
});
