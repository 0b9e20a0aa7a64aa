import { LakeError, toError } from '../../errors.js';
import { openDevices } from '../backends/catalog.js';
import type { ComputeBackend } from '../backends/types.js';
import type { ShmArena } from '../shm/arena.js';
import { Channel } from './channel.js';
import { CommandExecutor } from './executor.js';
import {
  Api,
  C_BUSY,
  C_BUSY_MICROS,
  C_CLIENT_WAITING,
  C_COMMANDS_DONE,
  C_DAEMON_SLEEPING,
  C_DAEMON_STATE,
  C_DOORBELL,
  C_HEARTBEAT,
  DaemonState,
  IDLE_WAIT_MS,
  RING_SLOTS,
  S_API,
  S_SEQ,
  S_STATE,
  S_STATUS,
  SlotState,
  STATUS_OK,
  statusOf,
} from './protocol.js';

export interface ServeOptions {
  /** Spin-poll the ring this long after each command before sleeping; 0 sleeps at once. */
  spinMicros: number;
  /** The backends to open (default: lake's catalog). */
  backends?: readonly ComputeBackend[];
}

/**
 * lakeD's loop: serve the ring in sequence order until a shutdown command. After each command it keeps
 * polling the next slot for `spinMicros` (so back-to-back calls never pay a wake-up), then sleeps on the
 * doorbell in IDLE_WAIT_MS slices, bumping the heartbeat each time it wakes. A command's error becomes its
 * slot's status and text: sync errors reach the caller, never dropped.
 */
export function serve(channelBuffer: SharedArrayBuffer, arena: ShmArena, options: ServeOptions): void {
  const channel = new Channel(channelBuffer);
  try {
    serveLoop(channel, arena, options);
  } catch (error) {
    // Tell the client at once (it may be blocked waiting on a slot), then die as a crash should.
    Atomics.store(channel.words, C_DAEMON_STATE, DaemonState.crashed);
    Atomics.notify(channel.words, C_DAEMON_STATE);
    throw error;
  }
}

function serveLoop(channel: Channel, arena: ShmArena, options: ServeOptions): void {
  const words = channel.words;
  const beat = (): void => {
    Atomics.add(words, C_HEARTBEAT, 1);
  };
  const devices = openDevices(arena, undefined, { onLakeD: true, beat }, options.backends);
  const executor = new CommandExecutor(arena, devices, {
    reportsFaults: true,
    beat,
    hang: () => {
      // Sleep forever without beating: only the client's watchdog (terminate) ends this.
      const never = new Int32Array(new SharedArrayBuffer(4));
      for (;;) Atomics.wait(never, 0, 0);
    },
    crash: () => {
      throw new LakeError('LAKE_E_WORKER_CRASH', 'lakeD crashed on request (debugCrash)');
    },
  });
  const spinMs = options.spinMicros / 1000;
  let next = 0;
  let lastWork = performance.now();
  beat();
  Atomics.store(words, C_DAEMON_STATE, DaemonState.ready);
  for (;;) {
    const slot = next % RING_SLOTS;
    const base = channel.slotWord(slot);
    if (Atomics.load(words, base + S_STATE) === SlotState.submitted) {
      if (words[base + S_SEQ] !== (next | 0)) {
        throw new LakeError(
          'LAKE_E_INTERNAL',
          `lakeD: slot ${slot} holds seq ${words[base + S_SEQ]}, expected ${next | 0}`,
        );
      }
      const api = words[base + S_API]!;
      if (api === Api.shutdown) {
        Atomics.store(words, base + S_STATE, SlotState.done);
        break;
      }
      Atomics.store(words, base + S_STATE, SlotState.running);
      Atomics.store(words, C_BUSY, api);
      const started = performance.now();
      let status = STATUS_OK;
      try {
        executor.execute(channel.io(slot));
      } catch (thrown) {
        if (api === Api.debugCrash) throw thrown;
        const error = toError(thrown);
        status = statusOf(error instanceof LakeError ? error.code : 'LAKE_E_INTERNAL');
        channel.writeText(slot, error.message);
      }
      const finished = performance.now();
      words[base + S_STATUS] = status;
      Atomics.store(
        words,
        C_BUSY_MICROS,
        (Atomics.load(words, C_BUSY_MICROS) + Math.round((finished - started) * 1000)) | 0,
      );
      Atomics.store(words, C_BUSY, 0);
      Atomics.add(words, C_COMMANDS_DONE, 1);
      Atomics.store(words, base + S_STATE, SlotState.done);
      if (Atomics.load(words, C_CLIENT_WAITING) !== 0) Atomics.notify(words, base + S_STATE);
      next++;
      lastWork = finished;
      continue;
    }
    if (spinMs > 0 && performance.now() - lastWork < spinMs) continue;
    // Sleep: announce it, then re-check the slot, so a command published meanwhile is never missed.
    Atomics.store(words, C_DAEMON_SLEEPING, 1);
    const bell = Atomics.load(words, C_DOORBELL);
    if (Atomics.load(words, base + S_STATE) !== SlotState.submitted)
      Atomics.wait(words, C_DOORBELL, bell, IDLE_WAIT_MS);
    Atomics.store(words, C_DAEMON_SLEEPING, 0);
    beat();
    lastWork = performance.now();
  }
  executor.close();
  Atomics.store(words, C_DAEMON_STATE, DaemonState.stopped);
}
