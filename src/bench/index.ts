/**
 * The benchmarks' public API: each suite measures one part of lake (the simulator, inference, training,
 * LAKE's remoting, registry, placement policy, soak and user policies, real-device replay, prediction on
 * recorded traces). src/bench imports from every concern; no runtime module imports src/bench.
 */

export type { BenchEnvironment, BenchResult, BenchSuite } from './harness.js';
export { benchEnvironment, sampleCount } from './harness.js';
export type { InferenceBenchOptions, InferenceBenchSuite } from './inference.js';
export { benchInference } from './inference.js';
export type {
  ContentionBench,
  ContentionBenchOptions,
  CrossoverBench,
  CrossoverBenchOptions,
  CrossoverCurve,
} from './lake-policy.js';
export {
  benchContention,
  benchCrossover,
  contentionSuite,
  contentionSuiteOf,
  crossoverPlotSpec,
  crossoverSuite,
  crossoverSuiteOf,
  crossoverSvg,
  crossoverTable,
} from './lake-policy.js';
export type { RegistryBench } from './lake-registry.js';
export { benchRegistry, registrySuite } from './lake-registry.js';
export type { RemotingBench, TimingSummary } from './lake-remoting.js';
export { benchRemoting, remotingSuite } from './lake-remoting.js';
export type { SoakOptions, SoakResult, SoakSample, SoakSlopes } from './lake-soak.js';
export { benchSoak, soakSuite, soakSuiteOf } from './lake-soak.js';
export type { CallTimes, UserPolicyCallBench } from './lake-user-policy.js';
export { benchUserPolicyCall, userPolicySuite } from './lake-user-policy.js';
export { benchPrediction, benchTable } from './prediction.js';
export type { ReplayOverheadOptions, ReplayOverheadResult } from './replay-overhead.js';
export { benchReplayOverhead, replayOverheadSuite } from './replay-overhead.js';
export { benchSimulator, memorySuite } from './simulator.js';
export type { TrainingBenchOptions, TrainingBenchResult } from './training.js';
export { benchTraining, syntheticLinnosData, trainingBenchSuite } from './training.js';
