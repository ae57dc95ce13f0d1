// Runs on whatever adapter acquireDevice finds: a real GPU, or Mesa's llvmpipe on the CPU
// (CI). No adapter is a failure with DeviceUnavailableError's message, never a skip.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkWgsl } from '../../src/runtime/compile-check.ts';
import {
  acquireDevice,
  DeviceLostError,
  DeviceUnavailableError,
  type AcquiredDevice,
} from '../../src/runtime/device.ts';

let gpu: AcquiredDevice;

beforeAll(async () => {
  gpu = await acquireDevice();
  console.log(`[webgpu] ${gpu.adapterInfo}`);
  console.log(`[webgpu] features: ${[...gpu.features].join(', ') || '(none)'}`);
  console.log(`[webgpu] limits: ${JSON.stringify(gpu.limits)}`);
});

afterAll(() => gpu?.release());

const ADD_WGSL = /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x < params.n) {
    c[gid.x] = a[gid.x] + b[gid.x];
  }
}
`;

async function addOnGpu(
  device: GPUDevice,
  a: Float32Array<ArrayBuffer>,
  b: Float32Array<ArrayBuffer>,
) {
  const n = a.length;
  const bytes = n * 4;
  const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const bufA = device.createBuffer({ size: bytes, usage: storage });
  const bufB = device.createBuffer({ size: bytes, usage: storage });
  const bufC = device.createBuffer({ size: bytes, usage: storage });
  const params = device.createBuffer({
    size: 16,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  const staging = device.createBuffer({
    size: bytes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(bufA, 0, a);
  device.queue.writeBuffer(bufB, 0, b);
  device.queue.writeBuffer(params, 0, new Uint32Array([n, 0, 0, 0]));

  const module = device.createShaderModule({ code: ADD_WGSL, label: 'add' });
  const pipeline = await device.createComputePipelineAsync({
    layout: 'auto',
    compute: { module, entryPoint: 'main' },
  });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [bufA, bufB, bufC, params].map((buffer, binding) => ({
      binding,
      resource: { buffer },
    })),
  });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(Math.ceil(n / 64));
  pass.end();
  encoder.copyBufferToBuffer(bufC, 0, staging, 0, bytes);
  device.queue.submit([encoder.finish()]);

  await staging.mapAsync(GPUMapMode.READ);
  // Copy out: the mapped ArrayBuffer is detached by unmap().
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  for (const buf of [bufA, bufB, bufC, params, staging]) buf.destroy();
  return out;
}

describe('acquireDevice', () => {
  it('requests the adapter limits, not the small defaults', () => {
    expect(gpu.limits).toEqual(gpu.adapterLimits);
    // Core defaults are 8 / 256 / 16 KiB; compatibility defaults are lower (128
    // invocations). llvmpipe offers 16 / 1024 / 32 KiB.
    expect(gpu.limits.maxStorageBuffersPerShaderStage).toBeGreaterThanOrEqual(8);
    expect(gpu.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
    expect(gpu.limits.maxComputeWorkgroupSizeX).toBeGreaterThanOrEqual(256);
    expect(gpu.limits.maxComputeWorkgroupStorageSize).toBeGreaterThanOrEqual(16384);
    expect(gpu.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(gpu.limits.maxBufferSize).toBeGreaterThanOrEqual(256 * 2 ** 20);
    expect(gpu.device.limits.maxComputeInvocationsPerWorkgroup).toBe(
      gpu.limits.maxComputeInvocationsPerWorkgroup,
    );
  });

  it('runs a compute shader end to end (c = a + b, n = 1000)', async () => {
    const n = 1000;
    const a = Float32Array.from({ length: n }, (_, i) => i * 0.5);
    const b = Float32Array.from({ length: n }, (_, i) => 1000 - i);
    const c = await addOnGpu(gpu.device, a, b);
    expect(c.length).toBe(n);
    for (let i = 0; i < n; i++) expect(c[i]).toBe(Math.fround((a[i] ?? 0) + (b[i] ?? 0)));
    gpu.throwIfLost();
  });

  it('uses a caller-passed device as-is and leaves it alive on release', async () => {
    const wrapped = await acquireDevice({ device: gpu.device });
    expect(wrapped.device).toBe(gpu.device);
    expect(wrapped.source).toBe('caller');
    wrapped.release();
    const c = await addOnGpu(gpu.device, new Float32Array([1, 2]), new Float32Array([3, 4]));
    expect([...c]).toEqual([4, 6]);
  });

  it('gives a second, independent device; release() is not a loss', async () => {
    const second = await acquireDevice();
    expect(second.device).not.toBe(gpu.device);
    const c = await addOnGpu(second.device, new Float32Array([1.5]), new Float32Array([2]));
    expect([...c]).toEqual([3.5]);
    second.release();
    second.release(); // idempotent
    expect(() => second.throwIfLost()).not.toThrow();
  });

  it('turns a lost device into a DeviceLostError', async () => {
    const third = await acquireDevice();
    third.device.destroy(); // not release(): an unexpected loss from the caller's view
    const err = await third.lost;
    expect(err).toBeInstanceOf(DeviceLostError);
    expect(err.message).toMatch(/was lost \(destroyed\)/);
    expect(() => third.throwIfLost()).toThrow(DeviceLostError);
    third.release();
  });

  it('throws DeviceUnavailableError saying what to install when no adapter exists', async () => {
    const attempt = acquireDevice({ backend: 'no-such-backend' });
    await expect(attempt).rejects.toBeInstanceOf(DeviceUnavailableError);
    await expect(attempt).rejects.toThrow(/setup-webgpu\.sh/);
  });
});

describe('checkWgsl', () => {
  it('accepts a valid module', async () => {
    const result = await checkWgsl(gpu.device, ADD_WGSL, 'add.wgsl', {
      computeEntryPoints: ['main'],
    });
    expect(result).toEqual({ ok: true, messages: [] });
  });

  it('rejects an invalid module with label:line:col', async () => {
    const bad = ['@compute @workgroup_size(1)', 'fn main() {', '  let x: f32 = 1u;', '}'].join(
      '\n',
    );
    const result = await checkWgsl(gpu.device, bad, 'bad.wgsl');
    expect(result.ok).toBe(false);
    expect(result.messages.length).toBeGreaterThan(0);
    expect(result.messages[0]).toMatch(/^bad\.wgsl:3:\d+: error: /);
    expect(result.messages[0]).toContain('let x: f32 = 1u;');
  });

  it('rejects, at pipeline creation, a workgroup over the device limit', async () => {
    const size = gpu.limits.maxComputeInvocationsPerWorkgroup * 2;
    const code = `@compute @workgroup_size(${size}) fn main() {}`;
    const moduleOnly = await checkWgsl(gpu.device, code, 'big.wgsl');
    expect(moduleOnly.ok).toBe(true);
    const result = await checkWgsl(gpu.device, code, 'big.wgsl', { computeEntryPoints: ['main'] });
    expect(result.ok).toBe(false);
    expect(result.messages.join('\n')).toMatch(/big\.wgsl: error: pipeline for entry point 'main'/);
  });
});
