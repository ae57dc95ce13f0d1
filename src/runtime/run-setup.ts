// A run made ready on the device: its inputs staged (uploaded, bound, copied or converted),
// every buffer made (or a caller's bound in its place) and every bind group; and what a
// run reports. src/runtime/schedule.ts records the schedule over it.
import type { KernelModule } from '../../codegen/kernel-module.ts';
import { evalSize } from '../../codegen/layout.ts';
import { programMatmulSource, programMatmulHas, type Program } from '../../codegen/program.ts';
import { InternalError } from '../diagnostics/diagnostic.ts';
import type { DimSizes, Tensor } from '../tensor/tensor.ts';
import { isFloat, type DType } from '../ir/types.ts';
import type { AcquiredDevice } from './device.ts';
import { BufferPool } from './buffers.ts';
import { MatmulRunner } from './matmul.ts';
import { chooseChunkRows, elementBytes, memoryModel, type ChunkChoice } from './memory.ts';
import { BufferUsage } from './usage.ts';
import { readbackSliceBytes, readbackSliced } from './readback.ts';
import { arenaImage, uniformImage, type UniformImage } from './images.ts';
import {
  stageInput,
  type DeviceTensor,
  type InputSource,
  type StagedInput,
} from './input-sources.ts';

export interface ExecuteOptions {
  /** Lower the binding limit below the device's (tests of the splitting of large weights). */
  readonly maxStorageBufferBindingSize?: number;
  readonly chunkRows?: number;
  /** Why `chunkRows` (reported instead of `given`: the planner chose it with the plan's shape). */
  readonly chunkReason?: string;
  readonly memoryBudget?: number;
  /** Called after each chunk with (chunks done, chunks in all sweeps). */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Time each step of the schedule alone (`execute` only; see `src/runtime/profile.ts`):
   * slower than a plain run, for finding where the time goes.
   */
  readonly profile?: boolean;
}

/** A caller's buffer a result is written to (f32/i32/u32 words from `offset`). */
export interface OutputTarget {
  readonly buffer: GPUBuffer;
  /** Byte offset (a multiple of 4); default 0. */
  readonly offset?: number;
}

/** Options of a run that keeps its tensors on the device. */
export interface DeviceExecuteOptions extends ExecuteOptions {
  /** Results written into these buffers by result name (`grad.W`); others get buffers of their own. */
  readonly outputs?: ReadonlyMap<string, OutputTarget>;
  /**
   * Record every command into this encoder instead of submitting (`encodeProgram` only):
   * the caller submits it, then calls `release()` of the returned run.
   */
  readonly encoder?: GPUCommandEncoder;
}

export interface RunStats {
  readonly chunk: ChunkChoice;
  /** Sweeps over the chunks. */
  readonly sweeps: number;
  /** Pre-passes over all the rows at once (no products). */
  readonly prePasses: number;
  /** Device bytes at the peak of the run, as tracked by the buffer pool. */
  readonly peakBytes: number;
  /** Host bytes written to the device: inputs, arena image, uniforms. */
  readonly uploadedBytes: number;
  /** Host bytes written for each input (0 for one already on the device). */
  readonly inputBytes: ReadonlyMap<string, number>;
}

/** An input staged before the run (a session's bound input). */
export interface StagedSource {
  readonly kind: 'staged';
  readonly staged: StagedInput;
}

export interface Run {
  readonly dev: AcquiredDevice;
  readonly p: Program;
  readonly sizes: DimSizes;
  readonly chunk: ChunkChoice;
  readonly total: number;
  readonly pool: BufferPool;
  readonly runner: MatmulRunner;
  readonly buffers: Map<string, GPUBuffer>;
  readonly kernels: Map<
    string,
    { pipeline: GPUComputePipeline; group: GPUBindGroup; module: KernelModule }
  >;
  readonly uni: UniformImage;
  readonly uniform: GPUBuffer;
  /** Device copies and conversions of the inputs, to run before the program. */
  readonly staging: GPUCommandEncoder;
  readonly inputBytes: Map<string, number>;
  readonly destroy: () => void;
}

/** Stages the inputs and makes every buffer and bind group of a run. */
export function setUp(
  dev: AcquiredDevice,
  p: Program,
  inputs: ReadonlyMap<string, InputSource | StagedSource>,
  sizes: DimSizes,
  opts: DeviceExecuteOptions,
  pipelines: ReadonlyMap<string, GPUComputePipeline>,
  encoder: GPUCommandEncoder | undefined,
): Run {
  const { device } = dev;
  const limits = {
    ...dev.limits,
    maxStorageBufferBindingSize: Math.min(
      dev.limits.maxStorageBufferBindingSize,
      opts.maxStorageBufferBindingSize ?? Infinity,
    ),
  };
  const model = memoryModel(p, sizes);
  const chosen = chooseChunkRows(model, limits, opts);
  const chunk = opts.chunkReason ? { ...chosen, reason: opts.chunkReason } : chosen;
  const total = model.rows;
  const pool = new BufferPool(device, limits);
  const runner = new MatmulRunner(device, {
    pool,
    tiles: p.matmul.tiles,
    source: programMatmulSource(p),
    has: programMatmulHas(p),
  });
  const destroy = () => {
    runner.destroy();
    pool.destroyAll();
  };
  try {
    const staging = encoder ?? device.createCommandEncoder({ label: 'projc inputs' });
    const staged = new Map<string, StagedInput>();
    const inputBytes = new Map<string, number>();
    for (const [name, src] of inputs) {
      const param = p.fn.params.find((q) => q.name === name);
      if (!param) continue;
      const needs = {
        own: p.plan.buffers.some((b) => b.name === `in.${name}`),
        arena: p.plan.buffers.some((b) => b.name === `arena.${name}`),
      };
      const s =
        src.kind === 'staged'
          ? src.staged
          : stageInput({ device, pool, encoder: staging }, name, param.dtype, needs, src);
      staged.set(name, s);
      inputBytes.set(name, src.kind === 'staged' ? 0 : s.uploadedBytes);
    }
    const inputWords = new Map<string, Uint32Array | 'device'>();
    const scalars = new Map<string, number>();
    for (const [name, s] of staged) {
      if (s.scalar !== undefined) scalars.set(name, s.scalar);
      if (s.arena) inputWords.set(name, s.arena.kind === 'host' ? s.arena.words : 'device');
    }
    const arena = arenaImage(p, sizes, chunk.chunkRows, inputWords);
    const uni = uniformImage(p, sizes, arena.offsets, scalars);
    const storage = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC;
    const uniform = pool.create(
      'uniform',
      uni.words.byteLength,
      BufferUsage.UNIFORM | BufferUsage.COPY_DST,
    );
    const arenaBuf = pool.create('arena', arena.words.byteLength, storage);
    pool.upload(arenaBuf, arena.words);
    // Device inputs of the arena: copied into their slots after the image lands.
    for (const [name, s] of staged) {
      if (s.arena?.kind !== 'device') continue;
      const n = s.shape.reduce((a, b) => a * b, 1);
      const at = arena.offsets.get(`arena.${name}`);
      if (at === undefined) throw new InternalError(`no arena slot for ${name}`);
      if (n) staging.copyBufferToBuffer(s.arena.buffer, s.arena.offset, arenaBuf, at * 4, n * 4);
    }
    const buffers = new Map<string, GPUBuffer>([
      ['uniform', uniform],
      ['arena', arenaBuf],
    ]);
    for (const b of p.plan.buffers) {
      if (b.home === 'arena' || b.aliasOf) continue;
      if (b.role === 'input') {
        const own = staged.get(fnParamName(p, b.node))?.own;
        if (!own) throw new InternalError(`no input for ${b.name}`);
        buffers.set(b.name, own);
        continue;
      }
      const count = evalSize(b.elements, sizes, { start: 0, rows: chunk.chunkRows });
      const bytes = count * elementBytes(b);
      const target = b.result !== undefined ? opts.outputs?.get(b.result) : undefined;
      if (target && (target.offset ?? 0) === 0 && target.buffer.size >= bytes) {
        // Written in place; a new buffer would start at zero, so this one does too.
        staging.clearBuffer(target.buffer, 0, Math.ceil(bytes / 4) * 4);
        buffers.set(b.name, target.buffer);
        continue;
      }
      // Buffers of their own may pass the binding limit (a 128K-vocab weight): products bind ranges.
      buffers.set(b.name, pool.create(b.name, bytes, storage, { rangedBinding: b.home === 'own' }));
    }
    const kernels: Run['kernels'] = new Map();
    for (const m of p.modules) {
      const pipeline = pipelines.get(m.name);
      if (!pipeline) throw new InternalError(`module ${m.name} was not prepared`);
      const group = device.createBindGroup({
        label: m.name,
        layout: pipeline.getBindGroupLayout(0),
        entries: m.bindings.map((s) => ({
          binding: s.binding,
          resource: { buffer: bufferOf(buffers, s.buffer) },
        })),
      });
      kernels.set(m.name, { pipeline, group, module: m });
    }
    return {
      dev,
      p,
      sizes,
      chunk,
      total,
      pool,
      runner,
      buffers,
      kernels,
      uni,
      uniform,
      staging,
      inputBytes,
      destroy,
    };
  } catch (e) {
    destroy();
    throw e;
  }
}

export interface ResultBuffer {
  readonly buffer: GPUBuffer;
  readonly bytes: number;
  readonly tensor: DeviceTensor;
  readonly dtype: DType;
  readonly dims: readonly string[];
}

/** Each result's buffer, storage and shape. */
export function resultBuffers(run: Run): Map<string, ResultBuffer> {
  const out = new Map<string, ResultBuffer>();
  for (const r of run.p.fn.results) {
    const b = run.p.plan.buffers.find((x) => x.result === r.name && x.home === 'own');
    const node = run.p.fn.nodes[r.node];
    if (!b || !node) throw new InternalError(`result ${r.name} has no buffer`);
    const shape = node.dims.map((d) => run.sizes.get(d) ?? 0);
    const n = shape.reduce((s, x) => s * x, 1);
    const buffer = bufferOf(run.buffers, b.name);
    const dtype = isFloat(node.dtype) ? 'f32' : node.dtype === 'i32' ? 'i32' : 'bool';
    out.set(r.name, {
      buffer,
      bytes: Math.max(4, n * 4),
      tensor: { buffer, dtype, shape, offset: 0 },
      dtype: node.dtype,
      dims: node.dims,
    });
  }
  return out;
}

/**
 * Once the run's work is done: destroys every buffer of its own but the results' (inputs,
 * chunk buffers, arena, uniforms) and returns the readback slice that fits in what that
 * freed, so reading the results back does not raise the run's peak (memoryModel's
 * `readbackPeakBytes` is the one exception: a run that frees less than the smallest slice).
 */
export function releaseWorkspace(run: Run, results: ReadonlyMap<string, ResultBuffer>): number {
  const keep = new Set([...results.values()].map((r) => r.buffer));
  return readbackSliceBytes(run.pool.destroyAllExcept(keep));
}

/** Reads a result back through staging slices of at most `slice` bytes. */
export async function readResult(run: Run, r: ResultBuffer, slice?: number): Promise<Tensor> {
  const n = r.tensor.shape.reduce((s, x) => s * x, 1);
  const raw = await readbackSliced(run.pool, r.buffer, r.bytes, slice);
  const data = new Float64Array(n);
  const view = isFloat(r.dtype)
    ? new Float32Array(raw, 0, n)
    : r.dtype === 'i32'
      ? new Int32Array(raw, 0, n)
      : new Uint32Array(raw, 0, n);
  for (let i = 0; i < n; i++) data[i] = view[i] ?? 0;
  return {
    dtype: isFloat(r.dtype) ? 'f32' : r.dtype,
    dims: r.dims,
    shape: r.tensor.shape,
    data,
  };
}

export function stats(run: Run): RunStats {
  return {
    chunk: run.chunk,
    sweeps: run.p.plan.sweeps.filter((sw) => !sw.pre).length,
    prePasses: run.p.plan.sweeps.filter((sw) => sw.pre).length,
    peakBytes: run.pool.peakBytes,
    uploadedBytes: run.pool.uploadedBytes,
    inputBytes: run.inputBytes,
  };
}

function fnParamName(p: Program, node: number): string {
  const name = p.fn.nodes[node]?.attrs.name;
  if (name === undefined) throw new InternalError(`%${node} is not a parameter`);
  return name;
}

export function bufferOf(buffers: ReadonlyMap<string, GPUBuffer>, name: string): GPUBuffer {
  const b = buffers.get(name);
  if (!b) throw new InternalError(`no device buffer ${name}`);
  return b;
}
