// g ← dy · g in place on the device, for the gradients a projc call left in TF.js tensors:
// the backward of a scalar loss scales them by TF.js's cotangent without a new tensor.
import { ShaderStage, BufferUsage } from '../runtime/usage.ts';

const WG = 64;
/** Workgroups of one dispatch; the kernel loops over what they do not cover. */
const MAX_GROUPS = 4096;

const CODE = `@group(0) @binding(0) var<storage, read_write> g: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<uniform> n: vec4<u32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>) {
  let s = dy[0];
  for (var i = gid.x; i < n.x; i += ng.x * ${WG}u) { g[i] = s * g[i]; }
}
`;

const pipelines = new WeakMap<GPUDevice, GPUComputePipeline>();

function pipelineFor(device: GPUDevice): GPUComputePipeline {
  let p = pipelines.get(device);
  if (!p) {
    const layout = device.createBindGroupLayout({
      label: 'scale',
      entries: [
        { binding: 0, visibility: ShaderStage.COMPUTE, buffer: { type: 'storage' } },
        { binding: 1, visibility: ShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
        { binding: 2, visibility: ShaderStage.COMPUTE, buffer: { type: 'uniform' } },
      ],
    });
    p = device.createComputePipeline({
      label: 'scale',
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: {
        module: device.createShaderModule({ label: 'scale', code: CODE }),
        entryPoint: 'main',
      },
    });
    pipelines.set(device, p);
  }
  return p;
}

/**
 * Submits `g[i] ← dy[0] · g[i]` for each of `grads` (f32 buffers of `count` elements).
 * Queue order makes it see dy and the gradients written, and what follows see it done.
 */
export function scaleInPlace(
  device: GPUDevice,
  dy: GPUBuffer,
  grads: readonly { readonly buffer: GPUBuffer; readonly count: number }[],
): void {
  const pipeline = pipelineFor(device);
  const enc = device.createCommandEncoder({ label: 'projc scale' });
  const uniforms: GPUBuffer[] = [];
  for (const g of grads) {
    if (g.count === 0) continue;
    const u = device.createBuffer({ size: 16, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
    device.queue.writeBuffer(u, 0, Uint32Array.of(g.count, 0, 0, 0));
    uniforms.push(u);
    const pass = enc.beginComputePass({ label: 'scale' });
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: g.buffer } },
          { binding: 1, resource: { buffer: dy } },
          { binding: 2, resource: { buffer: u } },
        ],
      }),
    );
    pass.dispatchWorkgroups(Math.min(MAX_GROUPS, Math.ceil(g.count / WG)));
    pass.end();
  }
  device.queue.submit([enc.finish()]);
  // Freed by the device once the submitted work is done.
  for (const u of uniforms) u.destroy();
}
