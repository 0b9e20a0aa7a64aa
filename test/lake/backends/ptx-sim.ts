/**
 * A PTX interpreter for tests: runs the PTX text lake's CUDA backend hands the driver (the subset
 * src/lake/backends/cuda/ptx.ts generates) on the CPU, SIMT per block, checking what a GPU would fault on
 * or leave undefined: global accesses outside every allocation, shared accesses beyond the launch's
 * shared bytes, misaligned accesses, registers read before written, shared bytes read before any thread
 * of the block wrote them, shared-memory races between barriers, bar.sync reached at different sites,
 * shuffles whose lanes do not meet, runaway loops. So the fake driver can execute the kernels themselves
 * rather than a JS re-implementation of their arithmetic.
 */
export { PtxFault, type PtxFaultKind } from './ptx-sim/fault.js';
export {
  type KernelArgValue,
  type LaunchOptions,
  type LaunchReport,
  PtxProgram,
  ptxProgram,
} from './ptx-sim/launch.js';
export { type PtxModule, parsePtx } from './ptx-sim/parse.js';
export type { GlobalRegion } from './ptx-sim/state.js';
