import { workerData } from 'node:worker_threads';
import { ShmArena } from '../shm/arena.js';
import { serve } from './daemon.js';
import type { DaemonWorkerData } from './protocol.js';

/** lakeD's thread: attach the arena, serve the channel until shutdown. */
const data = workerData as DaemonWorkerData;
serve(data.channel, ShmArena.attach(data.arena), { spinMicros: data.spinMicros });
