import { workerData } from 'node:worker_threads';
import { ShmArena } from '../shm/arena.js';
import { loadBackendCatalog } from './backend-catalog.js';
import { serve } from './daemon.js';
import type { DaemonWorkerData } from './protocol.js';

/** lakeD's thread: attach the arena, open the backends, serve the channel until shutdown. */
const data = workerData as DaemonWorkerData;
const backends =
  data.backendCatalog === undefined ? undefined : await loadBackendCatalog(data.backendCatalog);
serve(data.channel, ShmArena.attach(data.arena), {
  spinMicros: data.spinMicros,
  ...(backends !== undefined ? { backends } : {}),
});
