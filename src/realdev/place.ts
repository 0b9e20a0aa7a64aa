/**
 * Where a trace I/O lands on a real device. O_DIRECT needs offsets and lengths in whole logical blocks, and
 * a trace may name offsets beyond the device (LinnOS's replayer takes them modulo the drive size), so: the
 * size is rounded up to whole blocks (at least one block, at most the device), the offset is taken modulo
 * the capacity and rounded down to a block, and an I/O that would run past the end is moved back to end
 * there. Deterministic, so a replay touches the same blocks every time.
 */

/** Bytes actually transferred for a trace I/O of `size` bytes. */
export function placedSize(size: number, blockBytes: number, capacityBytes: number): number {
  const blocks = Math.max(1, Math.ceil(size / blockBytes));
  return Math.min(blocks * blockBytes, capacityBytes);
}

/** Device offset for a trace offset, given the placed size (from placedSize). */
export function placedOffset(
  offset: number,
  size: number,
  blockBytes: number,
  capacityBytes: number,
): number {
  let o = offset % capacityBytes;
  o -= o % blockBytes;
  if (o + size > capacityBytes) o = capacityBytes - size;
  return o;
}
