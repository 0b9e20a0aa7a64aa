import type { Device, SubmitResult } from '../../src/flash/types.js';

/** A single-queue FIFO device with a fixed service time per I/O: enough to check the engine exactly. */
export class QueueDevice implements Device {
  readonly name: string;
  readonly capacityBytes = 1 << 30;
  #freeAt = 0;
  readonly serviceUs: number;
  submitted = 0;
  constructor(name: string, serviceUs: number) {
    this.name = name;
    this.serviceUs = serviceUs;
  }
  submit(_read: boolean, _offset: number, _size: number, nowUs: number): SubmitResult {
    this.submitted++;
    this.#freeAt = Math.max(nowUs, this.#freeAt) + this.serviceUs;
    return { completeUs: this.#freeAt, cause: 'none' };
  }
  peekRead(_offset: number, _size: number, nowUs: number): number {
    return Math.max(nowUs, this.#freeAt) + this.serviceUs;
  }
}
