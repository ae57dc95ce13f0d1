// Storage conversions on the device: a caller's f32 buffer feeding a bf16 parameter, bf16
// bits feeding an f32 one, or any float input feeding an arena slot (one f32 word per
// element, rounded to the parameter's dtype as the host path's `word()` does). One small
// grid-stride kernel per (source, destination) pair; no value ever visits the host.
import type { StorageDtype } from '../../codegen/storage.ts';
import { loadExpr } from '../../codegen/storage.ts';
import { ShaderStage } from './usage.ts';

/** Float storages a conversion reads. */
export type FloatSource = 'f32' | 'bf16' | 'f16';

/**
 * Where a conversion writes: `packed` is the parameter's own bf16/f16 buffer (two per u32,
 * low half first); `word` is one f32 word per element holding the value rounded to `round`.
 */
export type ConvertTarget =
  | { readonly kind: 'packed'; readonly dtype: 'bf16' | 'f16' }
  | { readonly kind: 'word'; readonly round: 'f32' | 'bf16' | 'f16' };

const WG = 64;
/** Workgroups of one dispatch; the kernel loops over what they do not cover. */
const MAX_GROUPS = 4096;

// f32 → bf16 bits, round to nearest even (bit-exact with `f32ToBf16Bits` for non-NaN;
// a NaN stays a quiet NaN). f32 → f16 uses core WGSL's pack2x16float.
const HELPERS = `
fn bf16_bits(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7fffffffu) > 0x7f800000u) { return (b >> 16u) | 0x40u; }
  return (b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u;
}
fn f16_bits(x: f32) -> u32 { return pack2x16float(vec2<f32>(x, 0.0)) & 0xffffu; }
`;

function bitsOf(dtype: 'bf16' | 'f16', x: string): string {
  return dtype === 'bf16' ? `bf16_bits(${x})` : `f16_bits(${x})`;
}

function wordOf(round: 'f32' | 'bf16' | 'f16', x: string): string {
  switch (round) {
    case 'f32':
      return `bitcast<u32>(${x})`;
    case 'bf16':
      return `(bf16_bits(${x}) << 16u)`;
    case 'f16':
      return `bitcast<u32>(unpack2x16float(f16_bits(${x}))[0])`;
  }
}

/** The WGSL of one conversion: `dst[dstWord + i] ← src element (srcElem + i)`, i < count. */
export function convertWgsl(src: FloatSource, to: ConvertTarget): string {
  const load = (i: string) => loadExpr('src', src satisfies StorageDtype, `p.srcElem + ${i}`);
  // A packed target is written a word (two elements) per step; a word target an element.
  const body =
    to.kind === 'packed'
      ? `let n = (p.count + 1u) / 2u;
  for (var w = gid.x; w < n; w += stride) {
    let lo = ${bitsOf(to.dtype, load('2u * w'))};
    var hi = 0u;
    if (2u * w + 1u < p.count) { hi = ${bitsOf(to.dtype, load('2u * w + 1u'))}; }
    dst[p.dstWord + w] = lo | (hi << 16u);
  }`
      : `for (var i = gid.x; i < p.count; i += stride) {
    dst[p.dstWord + i] = ${wordOf(to.round, load('i'))};
  }`;
  return `struct P { count: u32, srcElem: u32, dstWord: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> src: ${src === 'f32' ? 'array<f32>' : 'array<u32>'};
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<uniform> p: P;
${HELPERS}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) ng: vec3<u32>) {
  let stride = ng.x * ${WG}u;
  ${body}
}
`;
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

function pipelineFor(device: GPUDevice, code: string): GPUComputePipeline {
  let m = pipelines.get(device);
  if (!m) pipelines.set(device, (m = new Map()));
  let p = m.get(code);
  if (!p) {
    const layout = device.createBindGroupLayout({
      label: 'convert',
      entries: [
        { binding: 0, visibility: ShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
        { binding: 1, visibility: ShaderStage.COMPUTE, buffer: { type: 'storage' } },
        { binding: 2, visibility: ShaderStage.COMPUTE, buffer: { type: 'uniform' } },
      ],
    });
    p = device.createComputePipeline({
      label: 'convert',
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: {
        module: device.createShaderModule({ label: 'convert', code }),
        entryPoint: 'main',
      },
    });
    m.set(code, p);
  }
  return p;
}

export interface ConvertArgs {
  readonly src: GPUBuffer;
  readonly srcDtype: FloatSource;
  /** First element of the source (in elements of `srcDtype`). */
  readonly srcElem: number;
  readonly dst: GPUBuffer;
  /** First u32 word of the destination. */
  readonly dstWord: number;
  readonly to: ConvertTarget;
  readonly count: number;
  /** A 16-byte UNIFORM | COPY_DST buffer for this conversion alone (written here). */
  readonly uniform: GPUBuffer;
}

/** Records a conversion into `enc` (its own compute pass); synchronous, so it can be encoded anywhere. */
export function encodeConvert(device: GPUDevice, enc: GPUCommandEncoder, a: ConvertArgs): void {
  if (a.count === 0) return;
  const pipeline = pipelineFor(device, convertWgsl(a.srcDtype, a.to));
  device.queue.writeBuffer(a.uniform, 0, Uint32Array.of(a.count, a.srcElem, a.dstWord, 0));
  const group = device.createBindGroup({
    label: 'convert',
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: a.src } },
      { binding: 1, resource: { buffer: a.dst } },
      { binding: 2, resource: { buffer: a.uniform } },
    ],
  });
  const pass = enc.beginComputePass({ label: 'convert' });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  const items = a.to.kind === 'packed' ? Math.ceil(a.count / 2) : a.count;
  pass.dispatchWorkgroups(Math.min(MAX_GROUPS, Math.ceil(items / WG)));
  pass.end();
}
