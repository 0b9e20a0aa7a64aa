/** A short printable description of a simulated SSD's geometry, timing and policies. */
import { type FlashConfig, type FlashOptions, resolveFlashConfig } from './options.js';

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}

function times(values: readonly number[]): string {
  return values.map((v) => `${v}`).join('/');
}

function percent(f: number): string {
  return `${Math.round(f * 1000) / 10}%`;
}

export function describeConfig(c: FlashConfig): string {
  const p = c.profile;
  const raw = c.physicalPages * c.pageBytes;
  const lines = [
    `${c.name}: ${p.name} flash, ${c.channels} ch x ${c.lunsPerChannel} LUN x ${c.blocksPerLun} blocks x ` +
      `${c.pagesPerBlock} pages x ${bytes(c.pageBytes)} = ${bytes(raw)} raw, ${bytes(c.capacityBytes)} exported ` +
      `(over-provisioning ${percent(c.overProvisioning)})`,
    `  timing: read ${times(p.readUs)} us, program ${times(p.programUs)} us, erase ${p.eraseUs} us` +
      (c.transferUs > 0 ? `, transfer ${c.transferUs} us/page` : '') +
      `; a command holds its LUN until done (FEMU model)`,
    c.bufferPages > 0
      ? `  write buffer: ${bytes(c.bufferPages * c.pageBytes)}, flush every ${c.flushPages} pages, ` +
        `${c.bufferLatencyUs} us DRAM latency`
      : '  write buffer: none (write-through)',
    `  GC: per ${c.gcUnit === 'lun' ? 'LUN (copyback, per-LUN erase)' : 'line (erases the whole line on all LUNs)'}, ` +
      `greedy, background < ${c.gcFreeBlocks} free ${c.gcUnit === 'lun' ? 'blocks per LUN' : 'lines'}` +
      `${c.idleBackgroundGc ? ' (idle priority)' : ''}, foreground < ${c.gcForegroundFreeBlocks}`,
    `  reads: priority ${c.readPriority ? 'on' : 'off'}, suspension ` +
      (c.suspension ? `on (${c.suspendLatencyUs} us, up to ${c.maxSuspendsPerOp} per op)` : 'off') +
      `; slow above ${c.slowReadMultiple * c.nominalReadUs} us`,
    c.precondition === false
      ? '  preconditioning: none (fresh device)'
      : `  preconditioning: fill ${percent(c.precondition.fill)}, random overwrites ` +
        `${percent(c.precondition.randomOverwrites)} of capacity (seed ${c.seed})`,
  ];
  return lines.join('\n');
}

export function describeFlash(options: FlashOptions = {}): string {
  return describeConfig(resolveFlashConfig(options));
}
