import { workerData } from 'node:worker_threads';
import { ShmArena } from '../../shm/arena.js';
import { GpuHost } from './gpu-host.js';
import { CTL_EXITED, CTL_REPLIES, type HostRequest, type HostWorkerData } from './protocol.js';

/**
 * The GPU thread: the one thread where Dawn lives (see gpu-host.ts for why). It serves one request at a
 * time from its device's port, posts the reply, then bumps and notifies the shared reply counter, on which
 * the device (lakeD's thread, which never yields to its event loop) sleeps with Atomics.wait.
 */
const data = workerData as HostWorkerData;
const control = new Int32Array(data.control);
const host = new GpuHost(ShmArena.attach(data.arena));

function answered(): void {
  Atomics.add(control, CTL_REPLIES, 1);
  Atomics.notify(control, CTL_REPLIES);
}

// Whatever ends this thread (close, an injected exit, an uncaught error), the device learns it at once
// instead of waiting out its timeout.
process.on('exit', () => {
  Atomics.store(control, CTL_EXITED, 1);
  answered();
});

/** Set by an injected hang: requests are taken and never answered, as by a GPU that stopped. */
let hung = false;

data.port.on('message', (request: HostRequest) => {
  if (hung) return;
  void host.handle(request).then((reply) => {
    data.port.postMessage(reply);
    answered();
    if (request.op === 'close') data.port.close();
    // An injected "Dawn gone mid-run": the thread ends after answering, as a crash of the runtime would.
    if (request.op === 'fault' && request.kind === 'thread-exit') process.exit(1);
    if (request.op === 'fault' && request.kind === 'hang') hung = true;
  });
});
