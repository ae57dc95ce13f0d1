/** The device limits a plan is chosen against (a subset of `GPUSupportedLimits`). */
export interface DeviceLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
}

/**
 * Limits `projc plan` assumes without a device: a large discrete GPU's (maxBufferSize and
 * maxStorageBufferBindingSize of 4 GiB − 4, as Dawn reports on Vulkan for H100-class parts).
 */
export const PLAN_LIMITS: DeviceLimits = {
  maxStorageBufferBindingSize: 2 ** 32 - 4,
  maxBufferSize: 2 ** 32 - 4,
};
