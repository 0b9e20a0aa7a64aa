import { workerData } from 'node:worker_threads';
import { CaptureRing } from '../../lake/registry/capture-ring.js';
import { captureCheckEntry } from './capture-check.js';
import { PRODUCER_GO, PRODUCER_STOP, type ProducerData, producerWord } from './producer-protocol.js';

/** A capture producer thread (see producer-protocol.ts). */
const data = workerData as ProducerData;
const control = new Int32Array(data.control);
const ring = CaptureRing.attach(data.ring);
const limit = data.count > 0 ? data.count : Number.POSITIVE_INFINITY;
Atomics.store(control, producerWord(data.producer, 'ready'), 1);
Atomics.notify(control, producerWord(data.producer, 'ready'));
while (Atomics.load(control, PRODUCER_GO) === 0) Atomics.wait(control, PRODUCER_GO, 0, 100);
let seq = 0;
let retries = 0;
while (seq < limit && Atomics.load(control, PRODUCER_STOP) === 0) {
  if (captureCheckEntry(ring, data.producer, seq)) {
    seq++;
    if ((seq & 1023) === 0) Atomics.store(control, producerWord(data.producer, 'captured'), seq);
  } else {
    retries++;
  }
}
Atomics.store(control, producerWord(data.producer, 'captured'), seq);
Atomics.store(control, producerWord(data.producer, 'retries'), retries);
Atomics.store(control, producerWord(data.producer, 'ready'), 2);
Atomics.notify(control, producerWord(data.producer, 'ready'));
