import { LakeError } from '../../errors.js';
import {
  ARG_COUNT,
  ARG_OFFSET,
  CHANNEL_BYTES,
  RESULT_COUNT,
  RESULT_OFFSET,
  RING_SLOTS,
  S_API,
  S_STREAM,
  S_TEXT_LENGTH,
  SLOT_BYTES,
  SLOTS_OFFSET,
  TEXT_BYTES,
  TEXT_OFFSET,
} from './protocol.js';

/** One command as the executor sees it, wherever it lives (a ring slot, or a local copy when inline). */
export interface CommandIo {
  readonly api: number;
  readonly stream: number;
  /** ARG_COUNT argument words. */
  readonly args: Float64Array;
  /** RESULT_COUNT result words. */
  readonly result: Float64Array;
  readText(): string;
  writeText(text: string): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Typed views of a command channel (protocol.ts) shared by lakeLib and lakeD. `words` covers the whole
 * buffer, so a slot's Int32 word w is words[slotWord(s) + w]; args and results are views made once.
 */
export class Channel {
  readonly buffer: SharedArrayBuffer;
  readonly words: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #args: Float64Array[] = [];
  readonly #results: Float64Array[] = [];

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(CHANNEL_BYTES)) {
    if (buffer.byteLength !== CHANNEL_BYTES) {
      throw new LakeError(
        'LAKE_E_INTERNAL',
        `a command channel is ${CHANNEL_BYTES} bytes, got ${buffer.byteLength}`,
      );
    }
    this.buffer = buffer;
    this.words = new Int32Array(buffer);
    this.#bytes = new Uint8Array(buffer);
    for (let s = 0; s < RING_SLOTS; s++) {
      const base = SLOTS_OFFSET + s * SLOT_BYTES;
      this.#args.push(new Float64Array(buffer, base + ARG_OFFSET, ARG_COUNT));
      this.#results.push(new Float64Array(buffer, base + RESULT_OFFSET, RESULT_COUNT));
    }
  }

  /** Index in `words` of slot s's first word. */
  slotWord(slot: number): number {
    return (SLOTS_OFFSET + slot * SLOT_BYTES) >> 2;
  }

  args(slot: number): Float64Array {
    return this.#args[slot]!;
  }

  result(slot: number): Float64Array {
    return this.#results[slot]!;
  }

  readText(slot: number): string {
    const length = this.words[this.slotWord(slot) + S_TEXT_LENGTH]!;
    if (length <= 0) return '';
    const start = TEXT_OFFSET + slot * TEXT_BYTES;
    // TextDecoder refuses views of shared memory: decode a copy.
    return decoder.decode(this.#bytes.slice(start, start + Math.min(length, TEXT_BYTES)));
  }

  /** Writes text into the slot, cut to TEXT_BYTES on a character boundary. */
  writeText(slot: number, text: string): void {
    const start = TEXT_OFFSET + slot * TEXT_BYTES;
    const encoded = encoder.encode(text);
    let length = Math.min(encoded.length, TEXT_BYTES);
    while (length < encoded.length && length > 0 && (encoded[length]! & 0xc0) === 0x80) length--;
    this.#bytes.set(encoded.subarray(0, length), start);
    this.words[this.slotWord(slot) + S_TEXT_LENGTH] = length;
  }

  /** A CommandIo over slot s. */
  io(slot: number): CommandIo {
    const words = this.words;
    const base = this.slotWord(slot);
    return {
      api: words[base + S_API]!,
      stream: words[base + S_STREAM]!,
      args: this.args(slot),
      result: this.result(slot),
      readText: () => this.readText(slot),
      writeText: (text) => this.writeText(slot, text),
    };
  }
}

/** A command held in local memory: what lakeLib runs inline. */
export class LocalCommand implements CommandIo {
  readonly api: number;
  readonly stream: number;
  readonly args = new Float64Array(ARG_COUNT);
  readonly result = new Float64Array(RESULT_COUNT);
  text: string;

  constructor(api: number, stream: number, text = '') {
    this.api = api;
    this.stream = stream;
    this.text = text;
  }

  readText(): string {
    return this.text;
  }

  writeText(text: string): void {
    this.text = text;
  }
}
