// WebGPU's flag constants as plain numbers. @webgpu/types declares `GPUBufferUsage` and
// `GPUMapMode` as globals, but in Node they only exist once device.ts has installed Dawn's
// `globals`, and not at all for a device a caller made from Dawn without them. The values
// are fixed by the WebGPU spec, so the runtime uses these instead.

/** `GPUBufferUsage` flag values (WebGPU §5.1). */
export const BufferUsage = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  INDEX: 0x0010,
  VERTEX: 0x0020,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  INDIRECT: 0x0100,
  QUERY_RESOLVE: 0x0200,
} as const satisfies Record<string, GPUBufferUsageFlags>;

/** `GPUMapMode` flag values. */
export const MapMode = {
  READ: 0x0001,
  WRITE: 0x0002,
} as const satisfies Record<string, GPUMapModeFlags>;

/** `GPUShaderStage` flag values. */
export const ShaderStage = {
  VERTEX: 0x1,
  FRAGMENT: 0x2,
  COMPUTE: 0x4,
} as const satisfies Record<string, GPUShaderStageFlags>;
