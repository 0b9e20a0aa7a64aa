import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import {
  countBatches,
  createProgress,
  formatProgressLine,
  formatSeconds,
} from '../../src/report/progress.js';

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

/** The last line drawn: cli-progress rewrites one line with cursor moves, so split on them. */
function lastLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal control sequences are what is stripped
  const lines = text.split(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]|\r|\n/).filter((l) => l.trim() !== '');
  return lines.at(-1) ?? '';
}

test('draws a bar on a terminal and finishes at the total', () => {
  const stream = captureStream(true);
  const progress = createProgress({ label: 'replay baseline', total: 1000, stream });
  for (let i = 0; i < 1000; i++) progress.increment();
  progress.stop();
  progress.stop();
  assert.match(lastLine(stream.text()), /^replay baseline \[#{30}\] 100% \| 1000\/1000 \| 0:00 \| ETA 0:00$/);
});

test('complete() ends at 100% when the total was an overestimate (the simulate bar used to stop at 99%)', () => {
  const stream = captureStream(true);
  // simulate estimates the I/Os of a generated workload from its mean rate; the run made fewer.
  const progress = createProgress({ label: 'replay baseline', total: 1000, unit: 'I/Os', stream });
  progress.update(987);
  progress.complete();
  const line = lastLine(stream.text());
  assert.match(line, /100% \| 987\/987 I\/Os/);
  assert.doesNotMatch(line, /1000/, 'the estimate is corrected, not left as the total');
});

test('complete() also settles a count that ran past its estimate', () => {
  const stream = captureStream(true);
  const progress = createProgress({ label: 'x', total: 10, stream });
  progress.update(12);
  progress.complete();
  assert.match(lastLine(stream.text()), /100% \| 12\/12/);
});

test('stop() shows where the work got to: an interrupted run does not claim 100%', () => {
  const stream = captureStream(true);
  const progress = createProgress({ label: 'train', total: 10, stream });
  progress.update(7);
  progress.update(3);
  progress.stop();
  assert.match(lastLine(stream.text()), /30% \| 3\/10/);
});

test('setTotal corrects the estimate on the way', () => {
  const stream = captureStream(true);
  const progress = createProgress({ label: 'x', total: 100, stream });
  progress.update(50);
  progress.setTotal(200);
  progress.stop();
  assert.match(lastLine(stream.text()), /25% \| 50\/200/);
});

test('without a total: a running count, or a status line whose label is the stage', () => {
  const counter = captureStream(true);
  const reading = createProgress({ label: 'read t.trace', unit: 'records', stream: counter });
  for (let i = 0; i < 5; i++) reading.increment(4096);
  reading.complete();
  assert.equal(lastLine(counter.text()), 'read t.trace 20480 records | 0:00');

  const status = captureStream(true);
  const stages = createProgress({ label: 'eval: loading', stream: status });
  stages.setLabel('eval lake (causal): training on 1500 reads');
  assert.equal(lastLine(status.text()), 'eval lake (causal): training on 1500 reads | 0:00');
  stages.complete();
});

test('showAfterMs: work that ends sooner draws nothing; longer work appears at an update and ends drawn', () => {
  let clock = 0;
  const now = (): number => clock;
  const short = captureStream(true);
  const quick = createProgress({ label: 'q', unit: 'records', stream: short, showAfterMs: 1000, now });
  quick.increment(5000);
  clock = 999;
  quick.complete();
  assert.equal(short.text(), '');

  clock = 0;
  const long = captureStream(true);
  const slow = createProgress({ label: 's', unit: 'records', stream: long, showAfterMs: 1000, now });
  slow.increment(1000);
  assert.equal(long.text(), '', 'not before the delay');
  clock = 1500;
  slow.increment(1000);
  assert.match(long.text(), /s 2000 records/);
  slow.increment(10);
  clock = 4000;
  slow.complete();
  assert.equal(
    lastLine(long.text()),
    's 2010 records | 0:04',
    'time counts from creation, not the first draw',
  );

  // No update after the delay: the final line is still drawn at the end.
  clock = 0;
  const late = captureStream(true);
  const quiet = createProgress({ label: 'l', total: 4, stream: late, showAfterMs: 1000, now });
  quiet.update(4);
  clock = 3000;
  quiet.complete();
  assert.match(lastLine(late.text()), /^l \[#+\] 100% \| 4\/4/);
});

test('since: a later stage counts showAfterMs from the command start, so it shows at once after long reading', () => {
  let clock = 5000;
  const now = (): number => clock;
  const stream = captureStream(true);
  const stages = createProgress({ label: 'label', stream, showAfterMs: 1000, since: 2000, now });
  stages.setLabel('label device 0: inflection point of 1800720 reads');
  assert.equal(lastLine(stream.text()), 'label device 0: inflection point of 1800720 reads | 0:03');
  clock = 9000;
  stages.complete();
  assert.equal(lastLine(stream.text()), 'label device 0: inflection point of 1800720 reads | 0:07');
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
    progress.setLabel('y');
    progress.complete();
    assert.equal(stream.text(), '');
  }
});

test('rejects a bad total', () => {
  assert.throws(() => createProgress({ label: 'x', total: -1, quiet: true }), /progress total/);
  assert.throws(() => createProgress({ label: 'x', total: Number.NaN, quiet: true }), /progress total/);
});

test('countBatches passes batches through, counts their items and completes', async () => {
  const stream = captureStream(true);
  async function* batches(): AsyncGenerator<number[]> {
    yield [1, 2, 3];
    yield [4, 5];
  }
  const seen: number[] = [];
  const progress = createProgress({ label: 'read', unit: 'records', stream });
  for await (const batch of countBatches(batches(), progress)) seen.push(...batch);
  assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  assert.equal(lastLine(stream.text()), 'read 5 records | 0:00');
});

test('line format: label, bar, percentage, counts, time and ETA', () => {
  assert.equal(
    formatProgressLine(
      { label: 'train nn', value: 3, total: 15, unit: 'epochs', elapsedS: 75, etaS: 300 },
      10,
    ),
    'train nn [##........] 20% | 3/15 epochs | 1:15 | ETA 5:00',
  );
  assert.equal(
    formatProgressLine({ label: 'a', value: 0, total: 0, elapsedS: 0 }, 4),
    'a [####] 100% | 0/0 | 0:00 | ETA 0:00',
  );
  assert.equal(formatSeconds(3725), '1:02:05');
  assert.equal(formatSeconds(Number.POSITIVE_INFINITY), '-');
});
