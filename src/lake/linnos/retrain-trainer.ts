/**
 * LinnOS's online retrains off the serving thread (LAKE's point: the latency-critical path hands learning
 * to a background context): a BackgroundTrainer (src/linnos/online.ts) over one worker thread. Jobs queue in
 * the worker in order; each answer calls its job's `done` on the serving thread's event loop, between two
 * I/O batches, never inside a read's admission. The worker is started by `start` (when the policy is built,
 * so the first retrain does not wait for it to load) or by the first job, and terminated by `close` (it is
 * unref'd meanwhile: it never keeps the process alive). A job still running at close is
 * answered with an error.
 */
import type { Worker } from 'node:worker_threads';
import { LakeError, type LakeErrorCode } from '../../errors.js';
import type { BackgroundTrainer } from '../../linnos/online.js';
import type { RetrainData, RetrainOutcome, RetrainSettings } from '../../linnos/retrain.js';
import { spawnWorker } from '../spawn-worker.js';

export interface RetrainRequest {
  id: number;
  data: RetrainData;
  settings: RetrainSettings;
}

export type RetrainReply =
  | { id: number; outcome: RetrainOutcome; error?: undefined }
  | { id: number; error: { code: LakeErrorCode; message: string } };

type Done = (result: RetrainOutcome | Error) => void;

export class WorkerTrainer implements BackgroundTrainer {
  #worker: Worker | undefined;
  readonly #jobs = new Map<number, Done>();
  #nextId = 0;
  #closed = false;
  /** Jobs handed to the worker, and whether a worker thread was started and has exited. */
  jobs = 0;
  started = false;
  exited = false;

  /** Starts the worker now (it loads its modules while the replay runs), not at the first retrain. */
  start(): void {
    if (!this.#closed) this.#spawned();
  }

  train(data: RetrainData, settings: RetrainSettings, done: Done): void {
    if (this.#closed) {
      done(new LakeError('LAKE_E_INTERNAL', 'retrain worker is closed'));
      return;
    }
    const id = this.#nextId++;
    this.#jobs.set(id, done);
    this.jobs++;
    const request: RetrainRequest = { id, data, settings };
    // The trace buffers were copied for this job (plain ArrayBuffers, never shared): hand them over rather
    // than copying again.
    const buffers = [
      data.vectors.buffer,
      data.latencyUs.buffer,
      data.copies.buffer,
      ...(data.otherLatencyUs ?? []).map((l) => l.buffer),
    ] as ArrayBuffer[];
    this.#spawned().postMessage(request, buffers);
  }

  #spawned(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = spawnWorker(new URL('./', import.meta.url), 'retrain-worker', { name: 'lake-retrain' });
    this.started = true;
    worker.on('message', (reply: RetrainReply) => {
      const done = this.#jobs.get(reply.id);
      if (done === undefined) return;
      this.#jobs.delete(reply.id);
      if (reply.error !== undefined) done(new LakeError(reply.error.code, reply.error.message));
      else done(reply.outcome);
    });
    worker.on('error', (error: Error) => this.#failAll(`retrain worker error: ${error.message}`));
    worker.on('exit', (code: number) => {
      this.exited = true;
      this.#worker = undefined;
      this.#failAll(`retrain worker exited with code ${code}`);
    });
    this.#worker = worker;
    return worker;
  }

  #failAll(message: string): void {
    const jobs = [...this.#jobs.values()];
    this.#jobs.clear();
    for (const done of jobs) done(new LakeError('LAKE_E_WORKER_CRASH', message));
  }

  /** Terminates the worker (waiting for it to exit); later jobs fail at once. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    if (worker !== undefined) await worker.terminate();
    // terminate() resolves once the thread has stopped.
    this.exited = this.started;
    this.#failAll('retrain worker closed');
  }
}
