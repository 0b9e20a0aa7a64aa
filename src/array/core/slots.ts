/**
 * Struct-of-arrays storage for the replay engines: per application I/O and per device try they keep typed
 * columns indexed by a slot number, so the hot path allocates no objects. A slot is reused once freed.
 */

/** A column copied into a larger one of the same kind (the old values kept, the new ones 0). */
export function grown<T extends Float64Array | Int32Array | Uint8Array>(column: T, length: number): T {
  const bigger = new (column.constructor as new (length: number) => T)(length);
  bigger.set(column);
  return bigger;
}

/**
 * Hands out slot numbers: freed ones first (last freed, first reused), then new ones. When the slots run out
 * the capacity doubles and `grow` is told the new capacity, to grow the columns the slots index.
 */
export class SlotPool {
  capacity = 0;
  readonly #minCapacity: number;
  readonly #free: number[] = [];
  #next = 0;

  constructor(minCapacity: number) {
    this.#minCapacity = minCapacity;
  }

  alloc(grow: (capacity: number) => void): number {
    const slot = this.#free.pop();
    if (slot !== undefined) return slot;
    if (this.#next === this.capacity) {
      this.capacity = Math.max(this.#minCapacity, this.capacity * 2);
      grow(this.capacity);
    }
    return this.#next++;
  }

  release(slot: number): void {
    this.#free.push(slot);
  }
}
