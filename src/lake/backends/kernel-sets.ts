import { LakeError } from '../../errors.js';

/**
 * The kernel sets a module can hold: plain data shared by lakeLib (to name functions and check launches)
 * and every backend (which implements them). A module is one kernel set bound to one model image.
 */
export type KernelSetName = 'linnos' | 'dense-f32';
export type KernelParamKind = 'ptr' | 'scalar';

export interface KernelParam {
  readonly name: string;
  readonly kind: KernelParamKind;
}

export interface KernelFunctionSpec {
  readonly name: string;
  readonly params: readonly KernelParam[];
  readonly description: string;
}

export interface KernelSetSpec {
  readonly name: KernelSetName;
  /** Its number on the wire (protocol.ts carries numbers, not names). */
  readonly id: number;
  readonly description: string;
  readonly functions: readonly KernelFunctionSpec[];
}

const batchIn = { name: 'xs', kind: 'ptr' } as const;
const count = { name: 'n', kind: 'scalar' } as const;

export const KERNEL_SETS: readonly KernelSetSpec[] = [
  {
    name: 'linnos',
    id: 1,
    description: 'LinnOS forward (31-256-2, NN+1, NN+2): digit vectors (u8) to decisions or logits',
    functions: [
      {
        name: 'predict',
        params: [batchIn, { name: 'decisions', kind: 'ptr' }, count],
        description: 'n vectors of u8 digits -> n u8 decisions (1 = slow)',
      },
      {
        name: 'scores',
        params: [batchIn, { name: 'logits', kind: 'ptr' }, count],
        description: 'n vectors of u8 digits -> n x 2 f32 logits',
      },
    ],
  },
  {
    name: 'dense-f32',
    id: 2,
    description: 'dense forward in f32 over a batch (ReLU between layers, linear last layer)',
    functions: [
      {
        name: 'forward',
        params: [batchIn, { name: 'ys', kind: 'ptr' }, count],
        description: 'n x inputs f32 -> n x outputs f32',
      },
    ],
  },
];

export function kernelSetByName(name: string): KernelSetSpec {
  const set = KERNEL_SETS.find((s) => s.name === name);
  if (set === undefined) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `unknown kernel set '${name}' (have ${KERNEL_SETS.map((s) => s.name).join(', ')})`,
    );
  }
  return set;
}

export function kernelSetById(id: number): KernelSetSpec {
  const set = KERNEL_SETS.find((s) => s.id === id);
  if (set === undefined) throw new LakeError('LAKE_E_USAGE', `unknown kernel set id ${id}`);
  return set;
}
