import type { Command } from 'commander';
import { registerBackends } from './backends.js';
import { registerBench } from './bench.js';
import { registerCluster } from './cluster.js';
import { registerConvert } from './convert.js';
import { registerDemo } from './demo.js';
import { registerEval } from './eval.js';
import { registerFeatures } from './features.js';
import { registerLabel } from './label.js';
import { registerPredict } from './predict.js';
import { registerRecord } from './record.js';
import { registerReplay } from './replay.js';
import { registerSimulate } from './simulate.js';
import { registerStats } from './stats.js';
import { registerSynth } from './synth.js';
import { registerTrain } from './train.js';

/** Every CLI command registers itself on the program; one file per command in this folder. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [
  registerDemo,
  registerSimulate,
  registerStats,
  registerSynth,
  registerFeatures,
  registerLabel,
  registerTrain,
  registerEval,
  registerPredict,
  registerReplay,
  registerRecord,
  registerConvert,
  registerBackends,
  registerBench,
  registerCluster,
];
