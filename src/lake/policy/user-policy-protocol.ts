import type { PlacementInput } from './placement.js';

/**
 * How the main thread asks a user policy's thread for a placement, synchronously, through one
 * SharedArrayBuffer: the caller writes the input, moves the state word to `requested` and waits
 * (Atomics.wait, with a timeout: the budget); the policy's thread moves it to `running` when it picks the
 * call up and to `answered` with the answer written. No message per call (a message needs the event loop,
 * which a replay never yields to), and the caller can walk away from a call that does not end.
 */
export const POLICY_LAYOUT = {
  /** Int32 words at the start: the state, the answer's kind and byte length, the input JSON's length. */
  state: 0,
  answerKind: 1,
  answerLength: 2,
  inputLength: 3,
  words: 4,
  /** Float64 scalars of the input: batchSize, interArrivalUs, utilisation, inlineUs. */
  scalarsOffset: 16,
  scalars: 4,
  /** The input's model name and backend list, as JSON. */
  inputOffset: 48,
  inputBytes: 16_384,
  /** The answer: a backend name, or the description of what the policy returned or threw. */
  answerOffset: 48 + 16_384,
  answerBytes: 1024,
  totalBytes: 48 + 16_384 + 1024,
} as const;

export const PolicyState = {
  /** Nothing asked yet, or the last answer has been read. */
  idle: 0,
  requested: 1,
  /** The policy's thread is running the user's function on the input. */
  running: 2,
  answered: 3,
  /** The policy's thread leaves its loop. */
  stop: 4,
} as const;

export const AnswerKind = {
  /** The function returned a string: the text. */
  string: 1,
  /** It returned something else: the text describes it (e.g. `42`, `a promise (...)`). */
  described: 2,
  /** It threw: the text is the message. */
  threw: 3,
} as const;

/** The caller's side of the buffer. */
export class PolicyChannel {
  readonly buffer = new SharedArrayBuffer(POLICY_LAYOUT.totalBytes);
  readonly words = new Int32Array(this.buffer, 0, POLICY_LAYOUT.words);
  readonly #scalars = new Float64Array(this.buffer, POLICY_LAYOUT.scalarsOffset, POLICY_LAYOUT.scalars);
  readonly #input = new Uint8Array(this.buffer, POLICY_LAYOUT.inputOffset, POLICY_LAYOUT.inputBytes);
  readonly #answer = new Uint8Array(this.buffer, POLICY_LAYOUT.answerOffset, POLICY_LAYOUT.answerBytes);
  readonly #encoder = new TextEncoder();
  readonly #decoder = new TextDecoder();

  /** The input: numbers as they are (Infinity included), the model and backends as JSON. */
  writeInput(input: PlacementInput): void {
    const s = this.#scalars;
    s[0] = input.batchSize;
    s[1] = input.interArrivalUs;
    s[2] = input.utilisation;
    s[3] = input.inlineUs;
    const json = JSON.stringify({ model: input.model, backends: input.backends });
    const { read, written } = this.#encoder.encodeInto(json, this.#input);
    if (read < json.length)
      throw new RangeError(
        `a placement input of ${json.length} characters does not fit ${POLICY_LAYOUT.inputBytes} bytes`,
      );
    this.words[POLICY_LAYOUT.inputLength] = written;
  }

  readAnswer(): { kind: number; text: string } {
    const length = this.words[POLICY_LAYOUT.answerLength]!;
    return {
      kind: this.words[POLICY_LAYOUT.answerKind]!,
      text: this.#decoder.decode(this.#answer.slice(0, length)),
    };
  }
}

/** What the policy's thread is started with. */
export interface PolicyWorkerData {
  /** file: URL of the user's module. */
  url: string;
  buffer: SharedArrayBuffer;
  /** How long the thread polls for the next request after an answer before it sleeps, us. */
  spinMicros: number;
}

/** Messages the policy's thread posts while it loads the module (per call it uses the buffer only). */
export type PolicyWorkerMessage =
  /** Booted; importing the module now (the load budget starts). `task`: its /proc/self/task id. */
  | { type: 'importing'; task: string | null }
  | { type: 'loaded' }
  | { type: 'load-failed'; message: string }
  | { type: 'no-function'; exports: string[] };
