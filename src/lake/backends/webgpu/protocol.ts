import type { MessagePort } from 'node:worker_threads';

/**
 * The messages between a WebGPU device (on lakeD's thread) and its GPU thread, the one thread where Dawn
 * lives. lakeD's thread never yields to its event loop, so it cannot await Dawn's promises: it posts a
 * request on a MessagePort, sleeps on a shared word, and takes the reply with receiveMessageOnPort.
 */

/** Control words shared with the GPU thread (Int32Array over a SharedArrayBuffer). */
export const CTL_REPLIES = 0;
/** Set to 1 by the GPU thread as it exits, for whatever reason. */
export const CTL_EXITED = 1;
export const CTL_WORDS = 2;

/** A LinnOS model as the int16 plan of the cpu-wasm kernel (int16-plan.ts), widened to i32 for WGSL. */
export interface LinnosProgram {
  readonly kind: 'linnos';
  /** Digits per vector. */
  readonly inputs: number;
  /** Padded width of layer 0. */
  readonly width0: number;
  readonly table: Int32Array;
  readonly bias0: Int32Array;
  readonly hidden: readonly {
    readonly inputs: number;
    readonly outputs: number;
    readonly shift: number;
    readonly weights: Int32Array;
    readonly bias: Int32Array;
  }[];
  readonly outputInputs: number;
  /** [2][outputInputs], class-major. */
  readonly outputWeights: Int32Array;
  readonly outputBias: Int32Array;
  /** logit = raw output / outputScale (the cpu-wasm predictor's rawScale). */
  readonly outputScale: number;
}

export interface DenseProgram {
  readonly kind: 'dense-f32';
  readonly layers: readonly {
    readonly inputs: number;
    readonly outputs: number;
    readonly weights: Float32Array;
    readonly bias: Float32Array;
  }[];
}

export type GpuProgram = LinnosProgram | DenseProgram;

/** A range of lakeShm that changed on the host side; its mirror is refreshed before the next dispatch. */
export type DirtyRange = readonly [ptr: number, bytes: number];

/** Injected faults (tests): Dawn's device lost, the GPU thread gone, the GPU thread never answering. */
export type FaultKind = 'device-lost' | 'thread-exit' | 'hang';

export type HostRequest =
  | { readonly op: 'init' }
  | { readonly op: 'adopt'; readonly ptr: number; readonly bytes: number }
  | { readonly op: 'release'; readonly ptr: number }
  | { readonly op: 'load'; readonly id: number; readonly program: GpuProgram }
  | { readonly op: 'unload'; readonly id: number }
  | {
      readonly op: 'run';
      readonly id: number;
      /** linnos: 0 decisions (u8), 1 logits (f32 pairs); dense-f32: 0 outputs (f32). */
      readonly fn: number;
      readonly xs: number;
      readonly out: number;
      readonly n: number;
      readonly dirty: readonly DirtyRange[];
    }
  | { readonly op: 'flush'; readonly dirty: readonly DirtyRange[] }
  | { readonly op: 'fault'; readonly kind: FaultKind }
  | { readonly op: 'close' };

/** What Dawn chose, for `lake backends` and DeviceInfo. */
export interface AdapterSummary {
  /** 'default' (Vulkan, Metal or D3D12, whatever Dawn prefers here) or 'opengles'. */
  readonly backend: string;
  readonly featureLevel: 'core' | 'compatibility';
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** A CPU rasteriser (llvmpipe, lavapipe, SwiftShader): correct, never fast. */
  readonly software: boolean;
}

export type HostReply =
  | { readonly ok: true; readonly adapter?: AdapterSummary; readonly gpuMicros?: number }
  | { readonly ok: false; readonly message: string };

export interface HostWorkerData {
  readonly arena: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly port: MessagePort;
}
