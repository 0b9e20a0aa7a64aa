import { LakeError } from '../../../../src/errors.js';

/**
 * What the PTX interpreter found wrong: the text did not parse or uses something it does not implement
 * ('syntax', 'unsupported'), or a launch did something a GPU would fault on or leave undefined ('bounds',
 * 'misaligned', 'uninitialised', 'race', 'shuffle', 'barrier', 'steps', 'launch'). The message names
 * the PTX line and, for execution faults, the block and thread.
 */
export type PtxFaultKind =
  | 'syntax'
  | 'unsupported'
  | 'launch'
  | 'bounds'
  | 'misaligned'
  | 'uninitialised'
  | 'race'
  | 'shuffle'
  | 'barrier'
  | 'steps';

export class PtxFault extends LakeError {
  readonly kind: PtxFaultKind;
  /** The 1-based PTX line at fault (0 when the fault has no single line, e.g. a launch shape). */
  readonly line: number;

  constructor(kind: PtxFaultKind, line: number, message: string) {
    super(kind === 'syntax' || kind === 'unsupported' ? 'LAKE_E_USAGE' : 'LAKE_E_INTERNAL', message);
    this.name = 'PtxFault';
    this.kind = kind;
    this.line = line;
  }
}
