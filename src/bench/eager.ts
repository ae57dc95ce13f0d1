import { eagerKernel, elem, isInline } from '../../codegen/eager-kernel.ts';
import { GRID_X } from '../../codegen/kernel-module.ts';
import { packForUpload } from '../../codegen/storage.ts';
import { InternalError } from '../diagnostics/diagnostic.ts';
import type { DimSizes, Tensor } from '../tensor/tensor.ts';
import type { IrFunction, Node } from '../ir/types.ts';
import { isFloat } from '../ir/types.ts';
import { BufferPool } from '../runtime/buffers.ts';
import type { AcquiredDevice } from '../runtime/device.ts';
import { MatmulRunner } from '../runtime/matmul.ts';
import { defaultMatmulTiles, matmulWgsl, type MatmulTiles } from '../../codegen/matmul.ts';
import { BufferUsage } from '../runtime/usage.ts';

/** A materialized run, set up once (pipelines compiled, inputs uploaded) and timed per call. */
export interface EagerRun {
  /** Runs the whole program once; resolves when the device is done. */
  run(): Promise<void>;
  /** Reads the results back (after `run`). */
  results(): Promise<Map<string, Tensor>>;
  /** Peak device bytes of the last `run`, inputs included. */
  readonly peakBytes: () => number;
  release(): void;
}

const WG = 64;

/**
 * The baseline projc is measured against: the program run the way an eager framework runs
 * it. Every node is one kernel writing a whole materialized tensor: the [rows, V] logits
 * (optionally in bf16, then their f32 upcast), the softmax-like intermediates and dz each
 * in full, then the two gradient products. A tensor is freed after its last use, as
 * a caching allocator would. It exists to be measured against and to cross-check results.
 */
export interface EagerOptions {
  /**
   * Write the logits of a product of bf16 parameters in bf16 and upcast them with a second
   * kernel (PyTorch under autocast: 2 + 4 bytes per logit at the upcast). Default false:
   * the product writes f32 logits (like `F.linear(x.float(), w.float())`), so that results
   * agree with projc's f32 accumulation instead of differing by bf16 rounding.
   */
  readonly bf16Logits?: boolean;
  /** The matmul tiles (projc's program's, so that both sides run the same kernels); default the device's default. */
  readonly tiles?: MatmulTiles;
}

export async function prepareEager(
  dev: AcquiredDevice,
  fn: IrFunction,
  inputs: ReadonlyMap<string, Tensor>,
  sizes: DimSizes,
  opts: EagerOptions = {},
): Promise<EagerRun> {
  const { device } = dev;
  const node = (i: number) => fn.nodes[i] as Node;
  const scalars = new Map<string, number>();
  for (const p of fn.params)
    if (p.dims.length === 0) scalars.set(p.name, inputs.get(p.name)?.data[0] ?? p.default ?? 0);
  const count = (n: Node) => n.dims.reduce((s, d) => s * (sizes.get(d) ?? 0), 1);
  const results = new Set(fn.results.map((r) => r.node));
  const lastUse = new Map<number, number>();
  for (const n of fn.nodes) for (const i of n.inputs) lastUse.set(i, n.id);
  const kernels = new Map<number, { pipeline: GPUComputePipeline; reads: number[] }>();
  for (const n of fn.nodes) {
    if (isInline(n) || n.op === 'param' || n.op === 'dot') continue;
    const k = eagerKernel(fn, n.id, sizes, scalars, WG);
    const pipeline = await device.createComputePipelineAsync({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code: k.code }), entryPoint: 'main' },
    });
    kernels.set(n.id, { pipeline, reads: k.reads });
  }
  // Upcasting bf16 logits to f32 is one more kernel, like `.float()`.
  const round = await device.createComputePipelineAsync({
    layout: 'auto',
    compute: {
      module: device.createShaderModule({
        code: `@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let w = gid.y * ${GRID_X * WG}u + gid.x;
  if (2u * w >= arrayLength(&src)) { return; }
  let lo = bitcast<u32>(src[2u * w]);
  var hi = 0u;
  if (2u * w + 1u < arrayLength(&src)) { hi = bitcast<u32>(src[2u * w + 1u]); }
  let rl = (lo + 0x7fffu + ((lo >> 16u) & 1u)) >> 16u;
  let rh = (hi + 0x7fffu + ((hi >> 16u) & 1u)) >> 16u;
  dst[w] = rl | (rh << 16u);
}`,
      }),
      entryPoint: 'main',
    },
  });
  const upcast = await device.createComputePipelineAsync({
    layout: 'auto',
    compute: {
      module: device.createShaderModule({
        code: `@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * ${GRID_X * WG}u + gid.x;
  if (i >= arrayLength(&dst)) { return; }
  dst[i] = bitcast<f32>(((src[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu) << 16u);
}`,
      }),
      entryPoint: 'main',
    },
  });

  const pool = new BufferPool(device, dev.limits);
  const runner = new MatmulRunner(device, {
    pool,
    tiles: opts.tiles ?? defaultMatmulTiles(device.limits),
    source: matmulWgsl,
  });
  const usage = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC;
  // Parameters: packed for products, f32 for everything else (the framework's .float()).
  const packed = new Map<number, GPUBuffer>();
  const live = new Map<number, GPUBuffer>();
  for (const p of fn.params) {
    if (p.node === undefined || p.dims.length === 0) continue;
    const t = inputs.get(p.name);
    if (!t) throw new InternalError(`no input ${p.name}`);
    const n = node(p.node);
    const users = fn.nodes.filter((u) => u.inputs.includes(p.node ?? -1));
    if (users.some((u) => u.op === 'dot')) {
      const b = pool.create(
        `${p.name}`,
        Math.ceil((t.data.length * (p.dtype === 'bf16' || p.dtype === 'f16' ? 2 : 4)) / 4) * 4,
        usage,
        { rangedBinding: true },
      );
      pool.upload(b, packForUpload(p.dtype, t.data));
      packed.set(p.node, b);
    }
    if (users.some((u) => u.op !== 'dot') || results.has(p.node)) {
      const b = pool.create(`${p.name}:f32`, t.data.length * 4, usage);
      pool.upload(b, packForUpload(isFloat(n.dtype) ? 'f32' : n.dtype, t.data));
      live.set(p.node, b);
    }
  }
  const inputsBytes = pool.liveBytes;
  const fixed = new Set([...packed.values(), ...live.values()]);

  const dispatch = (
    pass: GPUComputePassEncoder,
    pipeline: GPUComputePipeline,
    buffers: GPUBuffer[],
    threads: number,
  ) => {
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
      }),
    );
    const groups = Math.ceil(threads / WG);
    pass.dispatchWorkgroups(Math.min(groups, GRID_X), Math.ceil(groups / GRID_X));
  };
  const values = new Map<number, GPUBuffer>();
  /** Frees the operands whose last use was `n`, as a caching allocator would. */
  const release = (n: Node) => {
    for (const i of n.inputs) {
      const b = values.get(i);
      if (lastUse.get(i) !== n.id || results.has(i) || !b || fixed.has(b)) continue;
      pool.destroy(b);
      values.delete(i);
    }
  };

  return {
    async run() {
      for (const [id, b] of values)
        if (!fixed.has(b)) {
          pool.destroy(b);
          values.delete(id);
        }
      pool.resetPeak();
      for (const [id, b] of live) values.set(id, b);
      for (const n of fn.nodes) {
        if (isInline(n) || n.op === 'param') continue;
        const enc = device.createCommandEncoder();
        const out = pool.create(`%${n.id}`, Math.max(4, count(n) * 4), usage);
        if (n.op === 'dot') {
          const [a, b] = n.inputs.map(node) as [Node, Node];
          const operand = (x: Node) => packed.get(x.id) ?? values.get(x.id);
          const bf16 =
            opts.bf16Logits === true &&
            a.op === 'param' &&
            b.op === 'param' &&
            (a.dtype === 'bf16' || b.dtype === 'bf16');
          if (!bf16) encodeDot(runner, enc, fn, n, operand, out, sizes);
          else {
            // A bf16 product writes bf16 logits; `.float()` then makes their f32 copy.
            const acc = pool.create(`%${n.id}:gemm`, count(n) * 4, usage);
            encodeDot(runner, enc, fn, n, operand, acc, sizes);
            const half = pool.create(`%${n.id}:bf16`, Math.ceil(count(n) / 2) * 4, usage);
            const p1 = enc.beginComputePass();
            dispatch(p1, round, [acc, half], Math.ceil(count(n) / 2));
            p1.end();
            device.queue.submit([enc.finish()]);
            runner.afterSubmit();
            pool.destroy(acc);
            const enc2 = device.createCommandEncoder();
            const p2 = enc2.beginComputePass();
            dispatch(p2, upcast, [half, out], count(n));
            p2.end();
            device.queue.submit([enc2.finish()]);
            pool.destroy(half);
            values.set(n.id, out);
            release(n);
            continue;
          }
        } else {
          const k = kernels.get(n.id);
          if (!k) throw new InternalError(`no eager kernel for %${n.id}`);
          const pass = enc.beginComputePass();
          dispatch(
            pass,
            k.pipeline,
            [...k.reads.map((i) => values.get(i) ?? packed.get(i) ?? missing(i)), out],
            count(n),
          );
          pass.end();
        }
        device.queue.submit([enc.finish()]);
        runner.afterSubmit();
        values.set(n.id, out);
        release(n);
      }
      await device.queue.onSubmittedWorkDone();
    },
    async results() {
      const out = new Map<string, Tensor>();
      for (const r of fn.results) {
        const n = node(r.node);
        const b = values.get(r.node) ?? missing(r.node);
        const raw = await pool.readback(b, Math.max(4, count(n) * 4));
        const k = count(n);
        const view =
          elem(n) === 'f32'
            ? new Float32Array(raw, 0, k)
            : elem(n) === 'i32'
              ? new Int32Array(raw, 0, k)
              : new Uint32Array(raw, 0, k);
        out.set(r.name, {
          dtype: isFloat(n.dtype) ? 'f32' : n.dtype,
          dims: n.dims,
          shape: n.dims.map((d) => sizes.get(d) ?? 0),
          data: Float64Array.from(view),
        });
      }
      return out;
    },
    peakBytes: () => Math.max(pool.peakBytes, inputsBytes),
    release() {
      runner.destroy();
      pool.destroyAll();
    },
  };
  function missing(i: number): never {
    throw new InternalError(`eager: %${i} is not materialized`);
  }
}

/** A `dot` node as the strided matmul over whole tensors. */
function encodeDot(
  runner: MatmulRunner,
  enc: GPUCommandEncoder,
  fn: IrFunction,
  n: Node,
  operand: (x: Node) => GPUBuffer | undefined,
  out: GPUBuffer,
  sizes: DimSizes,
): void {
  const [x, y] = n.inputs.map((i) => fn.nodes[i] as Node) as [Node, Node];
  const contracted = [...new Set([...x.dims, ...y.dims])].filter((d) => !n.dims.includes(d));
  const m = n.dims.filter((d) => x.dims.includes(d));
  const nn = n.dims.filter((d) => !x.dims.includes(d));
  const size = (ds: readonly string[]) => ds.reduce((s, d) => s * (sizes.get(d) ?? 0), 1);
  const stride = (dims: readonly string[], of: readonly string[]) => {
    // Stride of the flattened group `of` (consecutive in dims) in a row-major tensor of `dims`.
    const last = of[of.length - 1];
    const i = last === undefined ? dims.length : dims.indexOf(last);
    return size(dims.slice(i + 1));
  };
  const dt = (v: Node) =>
    v.op === 'param' && (v.dtype === 'bf16' || v.dtype === 'f16') ? v.dtype : 'f32';
  const a = operand(x);
  const b = operand(y);
  if (!a || !b) throw new InternalError(`eager: operands of %${n.id} not materialized`);
  runner.encode(enc, {
    a,
    b,
    c: out,
    aDtype: dt(x),
    bDtype: dt(y),
    accumulate: false,
    M: size(m),
    N: size(nn),
    K: size(contracted),
    offA: 0,
    sAm: stride(x.dims, m),
    sAk: stride(x.dims, contracted),
    offB: 0,
    sBk: stride(y.dims, contracted),
    sBn: stride(y.dims, nn),
    offC: 0,
    sCm: stride(n.dims, m),
    sCn: stride(n.dims, nn),
  });
}
