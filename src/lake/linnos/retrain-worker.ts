/**
 * The background retrainer's thread: each message is one device's retrain (src/linnos/retrain.ts); the
 * answer carries the same id and either the outcome (plain data: the dense model's typed arrays are cloned
 * back) or the error as { code, message }, rebuilt by code on the other side.
 */
import { parentPort } from 'node:worker_threads';
import { LakeError } from '../../errors.js';
import { retrainDevice } from '../../linnos/retrain.js';
import type { RetrainReply, RetrainRequest } from './retrain-trainer.js';

const port = parentPort;
if (port === null) throw new LakeError('LAKE_E_INTERNAL', 'retrain-worker runs only as a worker thread');
port.on('message', (request: RetrainRequest) => {
  let reply: RetrainReply;
  try {
    reply = { id: request.id, outcome: retrainDevice(request.data, request.settings) };
  } catch (error) {
    reply = {
      id: request.id,
      error: {
        code: error instanceof LakeError ? error.code : 'LAKE_E_INTERNAL',
        message: error instanceof Error ? error.message : String(error),
      },
    };
  }
  port.postMessage(reply);
});
