/**
 * The part of the WebGPU API (as the `webgpu` package, Dawn's node binding, exposes it) that lake uses, typed
 * here so that lake type-checks without the optional package or the global @webgpu/types declarations.
 * Usage and map-mode numbers are fixed by the WebGPU specification (GPUBufferUsage, GPUMapMode,
 * GPUShaderStage); Node has no globals for them.
 */
export const BUFFER_MAP_READ = 0x0001;
export const BUFFER_COPY_SRC = 0x0004;
export const BUFFER_COPY_DST = 0x0008;
export const BUFFER_UNIFORM = 0x0040;
export const BUFFER_STORAGE = 0x0080;
export const MAP_READ = 0x0001;
export const STAGE_COMPUTE = 0x4;

export interface DawnModule {
  create(flags: string[]): DawnGpu;
}

export interface DawnGpu {
  requestAdapter(options?: {
    powerPreference?: 'low-power' | 'high-performance';
    featureLevel?: 'core' | 'compatibility';
  }): Promise<DawnAdapter | null>;
}

export interface DawnAdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly isFallbackAdapter?: boolean;
}

export interface DawnLimits {
  readonly maxStorageBuffersPerShaderStage: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;
}

export interface DawnAdapter {
  readonly info: DawnAdapterInfo;
  readonly limits: DawnLimits;
  requestDevice(descriptor?: { requiredLimits?: Record<string, number> }): Promise<DawnDevice>;
}

export interface DawnBuffer {
  readonly size: number;
  mapAsync(mode: number, offset?: number, size?: number): Promise<void>;
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}

export type DawnBindGroupLayout = object;
export type DawnPipelineLayout = object;
export type DawnBindGroup = object;
export type DawnShaderModule = object;
export type DawnComputePipeline = object;
export type DawnCommandBuffer = object;

export interface DawnComputePass {
  setPipeline(pipeline: DawnComputePipeline): void;
  setBindGroup(index: number, group: DawnBindGroup): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}

export interface DawnCommandEncoder {
  beginComputePass(): DawnComputePass;
  copyBufferToBuffer(
    source: DawnBuffer,
    sourceOffset: number,
    destination: DawnBuffer,
    destinationOffset: number,
    size: number,
  ): void;
  finish(): DawnCommandBuffer;
}

export interface DawnQueue {
  writeBuffer(
    buffer: DawnBuffer,
    offset: number,
    data: ArrayBufferView,
    dataOffset?: number,
    size?: number,
  ): void;
  submit(buffers: DawnCommandBuffer[]): void;
}

export interface DawnError {
  readonly message: string;
}

export interface DawnDeviceLostInfo {
  readonly reason: string;
  readonly message: string;
}

export type DawnBindingResource = { buffer: DawnBuffer; offset?: number; size?: number };

export interface DawnDevice {
  readonly queue: DawnQueue;
  readonly limits: DawnLimits;
  readonly lost: Promise<DawnDeviceLostInfo>;
  createBuffer(descriptor: { size: number; usage: number; label?: string }): DawnBuffer;
  createShaderModule(descriptor: { code: string; label?: string }): DawnShaderModule;
  createBindGroupLayout(descriptor: {
    entries: {
      binding: number;
      visibility: number;
      buffer: { type: 'uniform' | 'storage' | 'read-only-storage' };
    }[];
  }): DawnBindGroupLayout;
  createPipelineLayout(descriptor: { bindGroupLayouts: DawnBindGroupLayout[] }): DawnPipelineLayout;
  createComputePipeline(descriptor: {
    layout: DawnPipelineLayout;
    compute: { module: DawnShaderModule; entryPoint: string };
  }): DawnComputePipeline;
  createBindGroup(descriptor: {
    layout: DawnBindGroupLayout;
    entries: { binding: number; resource: DawnBindingResource }[];
  }): DawnBindGroup;
  createCommandEncoder(): DawnCommandEncoder;
  pushErrorScope(filter: 'validation' | 'out-of-memory' | 'internal'): void;
  popErrorScope(): Promise<DawnError | null>;
  destroy(): void;
}
