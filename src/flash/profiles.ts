/**
 * NAND timing profiles. Read and program times are per page and depend on the page's type within its block
 * (lower / upper / extra for MLC and TLC); a page's type is its index within the block modulo the number of
 * types, a simplification of the real word-line pairing that keeps the mix of fast and slow pages right.
 * Figures are those of FEMU's black-box SSD and the MLC/TLC tables in REFERENCE.md ("Flash timing for a
 * simulator").
 */
export type FlashProfileName = 'femu' | 'mlc' | 'tlc';
export const flashProfileNames: readonly FlashProfileName[] = ['femu', 'mlc', 'tlc'];

export interface FlashProfile {
  readonly name: string;
  /** Page read (array to register) time in us, per page type. */
  readonly readUs: readonly number[];
  /** Page program time in us, per page type (same length as readUs). */
  readonly programUs: readonly number[];
  /** Block erase time in us. */
  readonly eraseUs: number;
}

export const flashProfiles: Readonly<Record<FlashProfileName, FlashProfile>> = {
  femu: { name: 'femu', readUs: [40], programUs: [200], eraseUs: 2000 },
  mlc: { name: 'mlc', readUs: [48, 64], programUs: [850, 2300], eraseUs: 3000 },
  tlc: { name: 'tlc', readUs: [56.5, 77.5, 106], programUs: [820, 2230, 5730], eraseUs: 3000 },
};
