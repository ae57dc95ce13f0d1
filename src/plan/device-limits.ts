/**
 * The device limits a program is generated against (a subset of `GPUSupportedLimits`): the
 * binding and buffer sizes that bound the chunk, and the compute limits that bound the
 * matmul tiles.
 */
export interface DeviceLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxComputeWorkgroupSizeY: number;
  readonly maxComputeWorkgroupStorageSize: number;
}

/** WebGPU's default (guaranteed) compute limits: tiles chosen against these run on any device. */
export const PORTABLE_COMPUTE_LIMITS = {
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupStorageSize: 16384,
} as const;

/**
 * Limits `projc plan` assumes without a device: a large discrete GPU's (maxBufferSize and
 * maxStorageBufferBindingSize of 4 GiB − 4, as Dawn reports on Vulkan for H100-class parts),
 * with the portable compute limits.
 */
export const PLAN_LIMITS: DeviceLimits = {
  maxStorageBufferBindingSize: 2 ** 32 - 4,
  maxBufferSize: 2 ** 32 - 4,
  ...PORTABLE_COMPUTE_LIMITS,
};
