import { MessageChannel, type MessagePort, receiveMessageOnPort, type Worker } from 'node:worker_threads';
import { spawnWorker } from '../../spawn-worker.js';
import {
  CTL_EXITED,
  CTL_REPLIES,
  CTL_WORDS,
  type HostReply,
  type HostRequest,
  type HostWorkerData,
} from './protocol.js';

/** The slice of one wait on the reply word: short, so that a GPU thread that died is noticed soon. */
const WAIT_SLICE_MS = 50;

/**
 * The device's end of its GPU thread: synchronous calls over a MessagePort, for a caller that cannot await
 * (lakeD's loop). A call that the thread does not answer in time, or after the thread exited, is a failed
 * reply, never a hang and never an exception: the device turns it into a fault and finishes on the CPU.
 */
export class HostLink {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #control: Int32Array;
  #gone: string | undefined;

  constructor(arena: SharedArrayBuffer) {
    const channel = new MessageChannel();
    const control = new SharedArrayBuffer(4 * CTL_WORDS);
    const data: HostWorkerData = { arena, control, port: channel.port2 };
    this.#control = new Int32Array(control);
    this.#port = channel.port1;
    // spawnWorker unrefs the thread: an open device never keeps the process alive on its own. Started from
    // lakeD's thread, it is lakeD's child: when lakeD crashes or is terminated, Node ends it too.
    this.#worker = spawnWorker(new URL('./', import.meta.url), 'host', {
      workerData: data,
      transferList: [channel.port2],
      name: 'lake GPU (Dawn)',
    });
    this.#port.unref();
  }

  /**
   * Sends one request and sleeps until its reply, the thread's exit or `timeoutMs`, calling `beat` every
   * slice (lakeD's heartbeat: a long batch is work, not a hang; a GPU thread that never answers is the
   * timeout's business, and becomes a fault).
   */
  call(request: HostRequest, timeoutMs: number, beat?: () => void): HostReply {
    if (this.#gone !== undefined) return { ok: false, message: this.#gone };
    const seen = Atomics.load(this.#control, CTL_REPLIES);
    this.#port.postMessage(request);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const received = receiveMessageOnPort(this.#port);
      if (received !== undefined) return received.message as HostReply;
      if (Atomics.load(this.#control, CTL_EXITED) !== 0) {
        this.#gone = `the GPU thread exited during '${request.op}'`;
        return { ok: false, message: this.#gone };
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        this.#gone = `the GPU thread did not answer '${request.op}' within ${timeoutMs} ms`;
        void this.#worker.terminate().catch(() => {});
        return { ok: false, message: this.#gone };
      }
      Atomics.wait(this.#control, CTL_REPLIES, seen, Math.min(left, WAIT_SLICE_MS));
      beat?.();
    }
  }

  /** Asks the thread to destroy its device and end; stops it whatever it answers. */
  close(timeoutMs: number): void {
    if (this.#gone === undefined) this.call({ op: 'close' }, timeoutMs);
    this.#gone ??= 'the GPU thread was closed';
    this.#port.close();
    void this.#worker.terminate().catch(() => {});
  }
}
