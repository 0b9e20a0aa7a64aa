/**
 * The LinnOS feature vector: 31 decimal digits per read, built from what the device knows at the read's
 * submission. Layout (REFERENCE.md, LinnOS 3):
 *
 *   [pend_h4 pend_h3 pend_h2 pend_h1 | pend_now | lat_h4 lat_h3 lat_h2 lat_h1]
 *    3 digits each, oldest..newest    3 digits   4 digits each, oldest..newest
 *
 * pend_hK is the pending-at-issue (4 KiB pages, including itself) of the K-th most recent completed read,
 * pend_now the pages pending now including the arriving read, lat_hK the latency in us of the K-th most recent
 * completed read. Pending values are capped at 999, latencies rounded down and capped at 9999, then written
 * most significant digit first and zero-padded.
 */
import { type DeviceView, pagesOf } from '../array/device-state.js';

/** The feature schema name model files record for models that take these vectors. */
export const LINNOS_FEATURE_SCHEMA = 'linnos-digits-31';
/** Digits per LinnOS vector. */
export const LINNOS_FEATURES = 31;
/** Completed reads a vector looks back on. */
export const LINNOS_HISTORY = 4;
export const PENDING_DIGITS = 3;
export const LATENCY_DIGITS = 4;
export const PENDING_CAP = 999;
export const LATENCY_CAP = 9999;

/** Offset of pend_now in the vector. */
export const PEND_NOW_OFFSET = LINNOS_HISTORY * PENDING_DIGITS;
/** Offset of lat_h4 (the oldest latency) in the vector. */
export const LATENCY_OFFSET = PEND_NOW_OFFSET + PENDING_DIGITS;

export type DigitSink = Uint8Array | Int32Array;

/**
 * Write `value` as `width` decimal digits (most significant first) at out[at..at+width). Values are rounded
 * down, negative values (and NaN) become 0 and values above `cap` become `cap`.
 */
export function writeDigits(value: number, width: number, cap: number, out: DigitSink, at: number): void {
  let v = value > 0 ? Math.floor(value) : 0; // NaN > 0 is false
  if (v > cap) v = cap;
  for (let k = width - 1; k >= 0; k--) {
    const q = Math.floor(v / 10);
    out[at + k] = v - q * 10;
    v = q;
  }
}

/**
 * Encode one vector from raw values (the 9 integer columns of LinnOS's raw vector files), oldest first.
 * Caps and rounds as `writeDigits` does.
 */
export function encodeLinnosVector(
  pendH4: number,
  pendH3: number,
  pendH2: number,
  pendH1: number,
  pendNow: number,
  latH4: number,
  latH3: number,
  latH2: number,
  latH1: number,
  out: DigitSink,
  offset = 0,
): void {
  writeDigits(pendH4, PENDING_DIGITS, PENDING_CAP, out, offset);
  writeDigits(pendH3, PENDING_DIGITS, PENDING_CAP, out, offset + 3);
  writeDigits(pendH2, PENDING_DIGITS, PENDING_CAP, out, offset + 6);
  writeDigits(pendH1, PENDING_DIGITS, PENDING_CAP, out, offset + 9);
  writeDigits(pendNow, PENDING_DIGITS, PENDING_CAP, out, offset + PEND_NOW_OFFSET);
  writeDigits(latH4, LATENCY_DIGITS, LATENCY_CAP, out, offset + LATENCY_OFFSET);
  writeDigits(latH3, LATENCY_DIGITS, LATENCY_CAP, out, offset + LATENCY_OFFSET + 4);
  writeDigits(latH2, LATENCY_DIGITS, LATENCY_CAP, out, offset + LATENCY_OFFSET + 8);
  writeDigits(latH1, LATENCY_DIGITS, LATENCY_CAP, out, offset + LATENCY_OFFSET + 12);
}

/**
 * The LinnOS vector for a read of `arrivingBytes` about to be submitted to the device behind `view`.
 *
 * Convention: call this BEFORE the arriving I/O is submitted (before `DeviceState.submit`), so
 * `view.pendingPages` does not include it yet; pend_now adds `pagesOf(arrivingBytes)` itself. The array
 * engine calls admission (and so this) before submitting, and the offline extractor does the same.
 *
 * Returns false, writing nothing, until 4 reads have completed on the device. Otherwise writes 31 digits at
 * out[offset..offset+31) and returns true. Allocates nothing (it sits on the per-read hot path).
 */
export function linnosFeatures(view: DeviceView, arrivingBytes: number, out: DigitSink, offset = 0): boolean {
  if (view.completedReads < LINNOS_HISTORY) return false;
  // k = 3 is the oldest of the last four completed reads; it goes first.
  for (let slot = 0; slot < LINNOS_HISTORY; slot++) {
    const k = LINNOS_HISTORY - 1 - slot;
    writeDigits(
      view.recentPendingAtIssue(k),
      PENDING_DIGITS,
      PENDING_CAP,
      out,
      offset + slot * PENDING_DIGITS,
    );
    writeDigits(
      view.recentLatencyUs(k),
      LATENCY_DIGITS,
      LATENCY_CAP,
      out,
      offset + LATENCY_OFFSET + slot * LATENCY_DIGITS,
    );
  }
  writeDigits(
    view.pendingPages + pagesOf(arrivingBytes),
    PENDING_DIGITS,
    PENDING_CAP,
    out,
    offset + PEND_NOW_OFFSET,
  );
  return true;
}

/**
 * Decode a vector back into its 9 capped values, oldest first:
 * [pend_h4, pend_h3, pend_h2, pend_h1, pend_now, lat_h4, lat_h3, lat_h2, lat_h1]. For tests and reports.
 */
export function decodeLinnosVector(vector: ArrayLike<number>, offset = 0): number[] {
  const values: number[] = [];
  const read = (at: number, width: number): number => {
    let v = 0;
    for (let k = 0; k < width; k++) v = v * 10 + vector[at + k]!;
    return v;
  };
  for (let slot = 0; slot <= LINNOS_HISTORY; slot++) values.push(read(offset + slot * 3, PENDING_DIGITS));
  for (let slot = 0; slot < LINNOS_HISTORY; slot++) {
    values.push(read(offset + LATENCY_OFFSET + slot * LATENCY_DIGITS, LATENCY_DIGITS));
  }
  return values;
}
