import type { TraceRecord } from './types.js';

/**
 * Merge arrival-ordered streams into one arrival-ordered stream, pulling lazily. Ties go to the lower
 * stream index. With `tagDevice`, each record is copied with its stream's index as device (LinnOS's
 * evaluation: each device replays its own trace); without it records pass through unchanged.
 */
export function* mergeByArrival(
  streams: readonly Iterable<TraceRecord>[],
  options: { tagDevice?: boolean } = {},
): Generator<TraceRecord> {
  const tag = options.tagDevice === true;
  const iterators = streams.map((s) => s[Symbol.iterator]());
  const heads: (TraceRecord | undefined)[] = iterators.map((it) => {
    const r = it.next();
    return r.done ? undefined : r.value;
  });
  for (;;) {
    let best = -1;
    let bestMs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h !== undefined && h.arrivalMs < bestMs) {
        best = i;
        bestMs = h.arrivalMs;
      }
    }
    if (best < 0) return;
    const head = heads[best]!;
    const r = iterators[best]!.next();
    heads[best] = r.done ? undefined : r.value;
    yield tag ? { ...head, device: best } : head;
  }
}
