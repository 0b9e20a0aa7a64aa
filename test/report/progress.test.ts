import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createProgress } from '../../src/report/progress.js';

/** A stream that records what is written; `isTTY` decides whether it passes for a terminal. */
function captureStream(isTTY: boolean): Writable & { isTTY: boolean; columns: number; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  return Object.assign(stream, { isTTY, columns: 120, text: () => chunks.join('') });
}

test('draws a bar on a terminal and finishes at the total', () => {
  const stream = captureStream(true);
  const progress = createProgress({ label: 'replay baseline', total: 1000, stream });
  for (let i = 0; i < 1000; i++) progress.increment();
  progress.stop();
  progress.stop();
  const text = stream.text();
  assert.match(text, /replay baseline \[/);
  assert.match(text, /100% \| 1000\/1000/);
});

test('update sets the absolute count, going back too', () => {
  const stream = captureStream(true);
  const progress = createProgress({ label: 'train', total: 10, stream });
  progress.update(7);
  progress.update(3);
  progress.stop();
  assert.match(stream.text(), /30% \| 3\/10/);
});

test('writes nothing when quiet or when the stream is not a terminal', () => {
  for (const [quiet, isTTY] of [
    [true, true],
    [false, false],
  ] as const) {
    const stream = captureStream(isTTY);
    const progress = createProgress({ label: 'x', total: 5, quiet, stream });
    progress.update(3);
    progress.increment(2);
    progress.stop();
    assert.equal(stream.text(), '');
  }
});

test('rejects a bad total', () => {
  assert.throws(() => createProgress({ label: 'x', total: -1, quiet: true }), /options.total/);
  assert.throws(() => createProgress({ label: 'x', total: Number.NaN, quiet: true }), /options.total/);
});
