import { ShmArena } from '../../shm/arena.js';
import { HostLink } from './link.js';

/**
 * `lake backends`' adapter detection, run as a child process by detect.ts: it starts Dawn on a GPU thread,
 * asks for an adapter, closes, and prints the reply as one JSON line. A process of its own keeps what Dawn
 * and Mesa print on stderr out of the command's output, and a crash of the runtime out of the command.
 */
const timeoutMs = Number(process.argv[2] ?? '20000');
const link = new HostLink(ShmArena.create({ bytes: 4096 }).buffer);
const reply = link.call({ op: 'init' }, timeoutMs);
link.close(timeoutMs);
process.stdout.write(`${JSON.stringify(reply)}\n`);
