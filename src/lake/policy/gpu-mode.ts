import { LakeError } from '../../errors.js';

/**
 * How lake shares a GPU with other jobs on it.
 * - 'yield' (LAKE's rule, the default): lake's kernels run on a normal-priority stream, and while another
 *   process keeps the GPU over 70% busy the contention policy sends batches to the CPU instead.
 * - 'priority': lake's kernels run on the highest-priority stream the device offers
 *   (cuStreamCreateWithPriority), so the GPU's scheduler serves them before the other job's queued work,
 *   and the policy keeps GPU batches on the GPU however busy others keep it (lakeD's own load still counts).
 *   LAKE's reviewers called always yielding "not globally optimal": this trades some of the other job's
 *   throughput for lake's read latency; measure both sides before choosing it.
 */
export type GpuSharingMode = 'yield' | 'priority';

export const GPU_SHARING_MODES: readonly GpuSharingMode[] = ['yield', 'priority'];

/** The backends whose devices open a high-priority stream in 'priority' mode (CUDA streams have priorities). */
export const PRIORITY_STREAM_BACKENDS: readonly string[] = ['cuda'];

/** The environment variable that selects the mode for lakeD's devices and the contention policy. */
export const GPU_MODE_ENV = 'LAKE_GPU_MODE';

/** A mode from text (a flag or the environment), refused with the source named when it is not one. */
export function parseGpuSharingMode(text: string, source: string): GpuSharingMode {
  const mode = GPU_SHARING_MODES.find((m) => m === text);
  if (mode === undefined) {
    throw new LakeError(
      'LAKE_E_USAGE',
      `${source} must be one of ${GPU_SHARING_MODES.join(', ')}, got "${text}"`,
    );
  }
  return mode;
}

/**
 * The mode in force: LAKE_GPU_MODE when set (lakeD's worker thread inherits the environment, so its CUDA
 * device and the policy on the caller's thread agree), else 'yield'.
 */
export function gpuSharingModeFromEnv(env: NodeJS.ProcessEnv = process.env): GpuSharingMode {
  const text = env[GPU_MODE_ENV];
  return text === undefined || text === '' ? 'yield' : parseGpuSharingMode(text, GPU_MODE_ENV);
}
