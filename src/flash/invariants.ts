/**
 * A full consistency check of a simulated SSD's mapping structures, for tests and debugging (O(pages)):
 * - l2p and p2l are inverse on valid pages: no two LPNs map to one PPN, every valid PPN belongs to the LPN
 *   that maps to it;
 * - every block's valid count equals its valid pages, no page past its write pointer is valid;
 * - free blocks are empty and listed once in their group's free pool, each group has at most one open block;
 * - an LPN whose newest data is dirty in the write buffer has no flash copy.
 * Throws a LakeError (LAKE_E_INTERNAL) listing the first problems found.
 */
import { LakeError } from '../errors.js';
import { flashInternals, type SimulatedSsd } from './simulated-ssd.js';

const MAX_REPORTED = 10;

export function checkFlashInvariants(device: SimulatedSsd): void {
  const { config, ftl, buffer } = device[flashInternals]();
  const problems: string[] = [];
  const report = (problem: string): void => {
    if (problems.length < MAX_REPORTED) problems.push(problem);
  };
  const { l2p, p2l } = ftl;
  let mapped = 0;
  for (let lpn = 0; lpn < l2p.length; lpn++) {
    const ppn = l2p[lpn]!;
    if (ppn < 0) continue;
    mapped++;
    if (ppn >= p2l.length) report(`lpn ${lpn} maps to ppn ${ppn} beyond the device`);
    else if (ftl.ownerOf(ppn) !== lpn) {
      report(`lpn ${lpn} maps to ppn ${ppn}, which belongs to lpn ${ftl.ownerOf(ppn)}`);
    }
    if (buffer.capacity > 0 && buffer.isDirty(lpn))
      report(`lpn ${lpn} is dirty in the buffer but mapped to ppn ${ppn}`);
  }
  let valid = 0;
  const pagesPerLine = config.pagesPerBlock * config.unitsPerGroup;
  const blocks = config.groups * config.blocksPerLun;
  for (let block = 0; block < blocks; block++) {
    let count = 0;
    const written = ftl.blockWritten[block]!;
    for (let p = 0; p < pagesPerLine; p++) {
      const ppn = block * pagesPerLine + p;
      const lpn = ftl.ownerOf(ppn);
      if (lpn < 0) continue;
      count++;
      if (p >= written) report(`ppn ${ppn} is valid past its block's write pointer ${written}`);
      if (lpn >= l2p.length || l2p[lpn] !== ppn)
        report(`ppn ${ppn} holds lpn ${lpn}, which maps to ${l2p[lpn]}`);
    }
    valid += count;
    if (ftl.blockValid[block] !== count) {
      report(`block ${block} counts ${ftl.blockValid[block]} valid pages but holds ${count}`);
    }
    if (ftl.blockState[block] === 0 && (written !== 0 || count !== 0)) {
      report(`free block ${block} has ${written} pages written, ${count} valid`);
    }
  }
  if (valid !== mapped) report(`${mapped} LPNs are mapped but ${valid} physical pages are valid`);
  for (let g = 0; g < config.groups; g++) {
    const free = ftl.freeCount[g]!;
    if (free < 0 || free > config.blocksPerLun) report(`group ${g} has ${free} free blocks`);
    const seen = new Set<number>();
    for (let i = 0; i < free; i++) {
      const b = ftl.freeStack[g * config.blocksPerLun + i]!;
      if (seen.has(b)) report(`group ${g} lists free block ${b} twice`);
      seen.add(b);
      if (ftl.blockState[g * config.blocksPerLun + b] !== 0)
        report(`group ${g} lists block ${b} as free but it is not`);
    }
    let open = 0;
    let freeState = 0;
    for (let b = 0; b < config.blocksPerLun; b++) {
      const state = ftl.blockState[g * config.blocksPerLun + b];
      if (state === 1) open++;
      if (state === 0) freeState++;
    }
    if (open > 1) report(`group ${g} has ${open} open blocks`);
    if (freeState !== free) report(`group ${g} has ${freeState} free blocks but its pool lists ${free}`);
  }
  if (problems.length > 0) {
    throw new LakeError('LAKE_E_INTERNAL', `flash device ${device.name}: ${problems.join('; ')}`);
  }
}
